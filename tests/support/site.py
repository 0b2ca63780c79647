"""A customer's web site on a loopback port of its own, for the pages Chromium loads in
browser tests (Chromium lets a page reach loopback only from loopback)."""

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator

# What the site answers: (status, content type, body).
Answer = tuple[int, str, bytes]
HTML = "text/html; charset=utf-8"


def pages(by_path: dict[str, str]) -> Callable[[str], Answer]:
    """A GET handler serving these HTML pages by path, 404 for any other."""

    def get(path: str) -> Answer:
        if path in by_path:
            return 200, HTML, by_path[path].encode()
        return 404, "text/plain", b"not found"

    return get


@contextlib.contextmanager
def loopback_site(
    get: Callable[[str], Answer], post: Callable[[str, bytes], Answer] | None = None
) -> Iterator[str]:
    """Serve GETs (and POSTs, given `post`) on 127.0.0.1; yield the site's base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server dispatches to)
            self._answer(*get(self.path))

        def do_POST(self):  # noqa: N802
            if post is None:
                self._answer(405, "text/plain", b"no POST here")
                return
            length = int(self.headers.get("Content-Length", 0))
            self._answer(*post(self.path, self.rfile.read(length)))

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
