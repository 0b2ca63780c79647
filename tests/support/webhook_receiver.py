"""A real HTTP server on loopback that receives webhooks, and the official libraries'
validators to check them with.

    with WebhookReceiver() as receiver:          # answers 200 unless told otherwise
        receiver.statuses = [500, 200]           # then these, in turn (the last repeats)
        ... receiver.requests                    # [Received(headers, body), ...]

`pusher_py_valid` checks a request with the PyPI `pusher` library's validate_webhook,
`pusher_npm_valid` a list of them with the npm `pusher` library's webhook().isValid().
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pusher

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def events(self) -> list[dict]:
        return json.loads(self.body)["events"]


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = [200]
        self.extra_headers: dict[str, str] = {}
        self.hold: threading.Event | None = None  # when set, answers wait for it
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append(Received(self.path, headers, body))
                    status = receiver.statuses[0]
                    if len(receiver.statuses) > 1:
                        receiver.statuses.pop(0)
                    hold = receiver.hold
                if hold is not None:
                    hold.wait(30)
                try:
                    self.send_response(status)
                    for name, value in receiver.extra_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone (a test killed it, or it timed out)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        with self.lock:
            return [event for request in self.requests for event in request.events]


def pusher_py_valid(app_id: int, key: str, secret: str, request: Received) -> dict | None:
    """The PyPI library's answer: the parsed body if the webhook is valid, else None."""
    client = pusher.Pusher(app_id=str(app_id), key=key, secret=secret)
    return client.validate_webhook(
        key=request.headers.get("x-pusher-key"),
        signature=request.headers.get("x-pusher-signature"),
        body=request.body.decode(),
    )


NODE_VALIDATE = """
const Pusher = require("pusher");
const [appId, key, secret] = process.argv.slice(1, 4);
const requests = JSON.parse(require("fs").readFileSync(0, "utf8"));
const client = new Pusher({appId, key, secret});
console.log(JSON.stringify(requests.map((r) => {
  const webhook = client.webhook({headers: r.headers, rawBody: r.body});
  return webhook.isValid() ? webhook.getEvents() : null;
})));
"""


def node_available() -> bool:
    return shutil.which("node") is not None and (ROOT / "node_modules" / "pusher").exists()


def pusher_npm_valid(app_id: int, key: str, secret: str, requests: list[Received]) -> list:
    """The npm library's answer for each request: its events if valid, else None."""
    payload = [{"headers": r.headers, "body": r.body.decode()} for r in requests]
    result = subprocess.run(
        [shutil.which("node"), "-e", NODE_VALIDATE, str(app_id), key, secret],
        cwd=ROOT,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)
