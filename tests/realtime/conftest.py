"""Fixtures for socket tests: a real ASGI app, real channel layers, and JWTs for Alice."""

import json
import os
import socket
import uuid
from urllib.parse import urlencode

import pytest
from channels.testing import WebsocketCommunicator

from realtime import tokens

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def use_redis(settings) -> None:
    """Point the channel layer and presence at the real Redis, under a prefix of its own."""
    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.REDIS_URL = REDIS_URL
    settings.EXPUSHER_REDIS_PREFIX = prefix
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix},
        }
    }


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """Run the test on the in-memory layer and on Redis."""
    if request.param == "redis":
        use_redis(settings)
    return request.param


@pytest.fixture
def redis(settings):
    use_redis(settings)


@pytest.fixture
def jwt_for(alice_app, alice_token_and_secret):
    token = alice_token_and_secret[0]

    def make(listen=("*",), publish=("*",), user_id=None, ttl=600, apps=None, **extra):
        jwt, _ = tokens.issue(
            organization_id=alice_app.organization_id,
            token_id=token.pk,
            apps=apps if apps is not None else [alice_app.app_key],
            listen=list(listen),
            publish=list(publish),
            ttl=ttl,
            user_id=user_id,
            **extra,
        )
        return jwt

    return make


class PhoenixClient:
    """A v2 Phoenix client over Channels' WebsocketCommunicator."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.ws = communicator
        self.ref = 0

    async def push(self, topic, event, payload=None, join_ref=None):
        self.ref += 1
        ref = str(self.ref)
        frame = [join_ref, ref, topic, event, payload if payload is not None else {}]
        await self.ws.send_to(text_data=json.dumps(frame))
        return ref

    async def recv(self, timeout=2):
        return json.loads(await self.ws.receive_from(timeout=timeout))

    async def reply(self, ref, timeout=2):
        """The phx_reply for `ref`, skipping other frames."""
        while True:
            frame = await self.recv(timeout)
            if frame[3] == "phx_reply" and frame[1] == ref:
                return frame[4]

    async def join(self, topic, payload=None):
        self.ref += 1
        ref = str(self.ref)
        await self.ws.send_to(text_data=json.dumps([ref, ref, topic, "phx_join", payload or {}]))
        return await self.reply(ref)

    async def nothing(self):
        assert await self.ws.receive_nothing(timeout=0.3)


@pytest.fixture
async def connect():
    from expusher.asgi import application

    opened = []

    async def make(app_key, jwt=None, vsn="2.0.0", headers=None, subprotocols=None, **params):
        query = {"app_key": app_key, "vsn": vsn, **params}
        if jwt:
            query["jwt"] = jwt
        ws = WebsocketCommunicator(
            application,
            f"/socket/websocket?{urlencode(query)}",
            headers=headers or [],
            subprotocols=subprotocols,
        )
        connected, code = await ws.connect()
        opened.append(ws)
        return connected, code, PhoenixClient(ws)

    yield make
    for ws in opened:
        try:
            await ws.disconnect()
        except Exception:
            pass  # already closed by the server
