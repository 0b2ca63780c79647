"""A plain HTTP/1.1 proxy on loopback in front of live servers, for tests that need to
see, steer or block the requests a client makes (long-poll behind a balancer, WebSockets
blocked by a corporate proxy)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import live

# Hop-by-hop and framing headers: the proxy sets its own.
_SKIP = {"host", "connection", "content-length", "transfer-encoding"}


class HttpProxy:
    """Forwards each request to the server route() picks; route() may answer a request
    itself instead (and return None)."""

    def __init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                server = proxy.route(self)
                if server is not None:
                    proxy.forward(self, server)

            do_GET = do_POST = do_OPTIONS = _forward

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def route(self, request: BaseHTTPRequestHandler) -> live.LiveServer | None:
        raise NotImplementedError

    @staticmethod
    def forward(request: BaseHTTPRequestHandler, server: live.LiveServer) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        status, answer, data = server.request(
            request.command, request.path, body=body, headers=headers, timeout=30
        )
        request.send_response(status)
        for name, value in answer.items():
            if name.lower() not in _SKIP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
