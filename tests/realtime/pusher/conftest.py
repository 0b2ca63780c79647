"""The Pusher HTTP API in process: requests built and signed by the official PyPI `pusher`
library, sent to the real ASGI application (expusher.asgi) with Channels' HttpCommunicator."""

import json
import time
from dataclasses import dataclass

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator
from pusher.http import GET, POST, Request, make_query_string
from pusher.pusher_client import PusherClient
from pusher.signature import sign
from pusher.util import ensure_binary

from realtime.pusher.http_auth import forget_applications
from realtime.pusher.signatures import body_md5


@pytest.fixture(autouse=True)
def fresh_application_snapshots():
    """The API keeps application snapshots per process; ids are reused between tests."""
    forget_applications()
    yield
    forget_applications()


@dataclass
class Response:
    status: int
    json: dict
    headers: dict[bytes, bytes]

    @property
    def code(self) -> str:
        return self.json["error"]["code"]


class PusherApi:
    """One application's Pusher HTTP API, as its customer's backend calls it."""

    def __init__(self, app, secret: str):
        self.app, self.secret = app, secret
        self.prefix = f"/apps/{app.app_id}"
        # The library's HTTP half: each of its methods has make_request(), the signed
        # request it would send, without sending it.
        self.client = PusherClient(
            app_id=str(app.app_id), key=app.app_key, secret=secret, host="testserver", ssl=False
        )

    async def send(self, request: Request) -> Response:
        """A request the library built and signed."""
        return await self.raw(request.method, request.signed_path, request.body)

    async def raw(self, method: str, path: str, body: bytes = b"", headers=()) -> Response:
        headers = [(b"content-type", b"application/json"), *headers]
        communicator = HttpCommunicator(_application(), method, path, body=body, headers=headers)
        answer = await communicator.get_response(timeout=5)
        return Response(answer["status"], json.loads(answer["body"]), dict(answer["headers"]))

    async def post(self, tail: str, params: dict) -> Response:
        return await self.send(Request(self.client, POST, self.prefix + tail, params))

    async def get(self, tail: str, params: dict | None = None) -> Response:
        return await self.send(Request(self.client, GET, self.prefix + tail, params or {}))

    def signed_path(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        query: dict | None = None,
        timestamp: int | None = None,
        key: str | None = None,
        secret: str | None = None,
        md5: str | None = None,
    ) -> str:
        """A path signed with the library's own query format and HMAC, with any part
        replaced (a stale timestamp, another key or secret, a wrong body_md5)."""
        params = {
            "auth_key": key or self.app.app_key,
            "auth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
            "auth_version": "1.0",
            **(query or {}),
        }
        if body or md5 is not None:
            params["body_md5"] = md5 if md5 is not None else body_md5(body)
        to_sign = "\n".join([method, path, make_query_string(params)])
        params["auth_signature"] = sign(secret or self.secret, to_sign)
        return f"{path}?{make_query_string(params)}"

    async def post_body(self, tail: str, body: bytes | dict, **signing) -> Response:
        """POST any body, signed (or mis-signed) as `signing` says."""
        if isinstance(body, dict):
            body = ensure_binary(json.dumps(body), "body")
        path = self.signed_path(POST, self.prefix + tail, body=body, **signing)
        return await self.raw(POST, path, body)


def _application():
    from expusher.asgi import application

    return application


@pytest.fixture
def pusher_api(alice_app_and_secret) -> PusherApi:
    app, secret = alice_app_and_secret
    return PusherApi(app, secret)


class PusherSocket:
    """A Pusher protocol 7 socket at /app/{key}, subscribed to public channels."""

    def __init__(self, ws: WebsocketCommunicator, socket_id: str):
        self.ws, self.socket_id = ws, socket_id

    async def subscribe(self, channel: str) -> None:
        frame = {"event": "pusher:subscribe", "data": {"channel": channel}}
        await self.ws.send_to(text_data=json.dumps(frame))
        assert (await self.recv())["event"] == "pusher_internal:subscription_succeeded"

    async def recv(self) -> dict:
        return json.loads(await self.ws.receive_from(timeout=2))


@pytest.fixture
async def pusher_socket(alice_app):
    opened = []

    async def make(*channels: str) -> PusherSocket:
        ws = WebsocketCommunicator(_application(), f"/app/{alice_app.app_key}?protocol=7")
        assert (await ws.connect())[0]
        opened.append(ws)
        established = json.loads(await ws.receive_from(timeout=2))
        socket = PusherSocket(ws, json.loads(established["data"])["socket_id"])
        for channel in channels:
            await socket.subscribe(channel)
        return socket

    yield make
    for ws in opened:
        await ws.disconnect()
