"""Calling an ASGI application in process, and the world the fast-path tests trigger in."""

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from asgiref.sync import sync_to_async

from realtime import tokens


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]  # lower-case names, sorted: compared as a multiset
    body: bytes

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


@dataclass
class Request:
    method: str
    path: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    query: str = ""
    scheme: str = "http"

    def scope(self) -> dict:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": self.scheme,
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in self.headers],
            "client": ["127.0.0.1", 50000],
            "server": ["127.0.0.1", 8000],
        }


async def call(app, request: Request) -> Answer:
    """One request through an ASGI application; the body arrives in one message, and the
    connection stays open (no disconnect) until the answer is complete."""
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await asyncio.Event().wait()  # cancelled once the answer is out

    start, chunks = {}, []

    async def send(message):
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            chunks.append(message.get("body", b""))

    await asyncio.wait_for(app(request.scope(), receive, send), timeout=10)
    headers = sorted((k.decode("latin1").lower(), v.decode("latin1")) for k, v in start["headers"])
    return Answer(start["status"], tuple(headers), b"".join(chunks))


class World:
    """Alice Corp's application and every kind of credential, good and bad."""

    def __init__(self, app, secret, token, charlie_app, charlie_secret):
        self.app, self.secret, self.token = app, secret, token
        self.charlie_app, self.charlie_secret = charlie_app, charlie_secret
        self.org = app.organization.slug

    def jwt(self, *, publish=("*",), apps=None, ttl=300, user_id=None) -> str:
        return tokens.issue(
            organization_id=self.app.organization_id,
            token_id=self.token.pk,
            apps=[self.app.app_key] if apps is None else apps,
            listen=["*"],
            publish=list(publish),
            ttl=ttl,
            user_id=user_id,
        )[0]

    def event_path(self, event="new_message", *, org=None, app=None) -> str:
        org = org or self.org
        app = app or self.app.app_key
        return f"/api/organizations/{org}/applications/{app}/event/{event}"

    def batch_path(self, *, org=None, app=None) -> str:
        org = org or self.org
        app = app or self.app.app_key
        return f"/api/organizations/{org}/applications/{app}/events"

    def post(self, path, *, bearer=None, json_body=None, form=None, body=b"", headers=(), **kw):
        head = [("host", "127.0.0.1:8000")]
        if bearer is not None:
            head.append(("authorization", f"Bearer {bearer}"))
        if json_body is not None:
            body = json.dumps(json_body).encode()
            head.append(("content-type", "application/json"))
        elif form is not None:
            body = urlencode(form).encode()
            head.append(("content-type", "application/x-www-form-urlencoded"))
        head += list(headers)
        if body and not any(name == "content-length" for name, _ in head):
            head.append(("content-length", str(len(body))))
        return Request("POST", path, head, body, **kw)

    def preflight(self, path, origin="https://customer.example", **kw) -> Request:
        head = [
            ("host", "127.0.0.1:8000"),
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization,content-type"),
        ]
        return Request("OPTIONS", path, head, **kw)

    async def set_allowed_origins(self, origins: list[str]) -> None:
        from organizations import services

        await sync_to_async(services.application_update)(
            application=self.app, allowed_origins=origins
        )
