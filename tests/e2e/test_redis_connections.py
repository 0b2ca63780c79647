"""Sockets do not cost Redis connections: a server keeps a handful, however many sockets."""

import asyncio
import json

import pytest
import redis
import websockets

from tests.e2e.conftest import Tenant, session_jwt, socket_path
from tests.support import live

pytestmark = pytest.mark.e2e

SOCKETS = 100


def redis_clients(url: str) -> int:
    return len(redis.Redis.from_url(url).client_list())


@pytest.fixture(scope="module")
def redis_server(redis_env):
    with live.LiveServer(redis_env) as running:
        yield running


async def _open_joined(server, tenant, jwt, topic: str):
    ws = await websockets.connect(
        server.ws_url + socket_path(app_key=tenant.app_key, jwt=jwt, vsn="2.0.0")
    )
    await ws.send(json.dumps(["1", "1", topic, "phx_join", {}]))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))[4]["status"] == "ok"
    return ws


async def test_a_hundred_sockets_do_not_open_a_hundred_redis_connections(redis_env, redis_server):
    tenant = Tenant.create(redis_env, name="Sockets")
    jwt = session_jwt(redis_server, tenant, listen=["*"], publish=[])
    url = redis_env.env["REDIS_URL"]
    warm = await _open_joined(redis_server, tenant, jwt, "presence:warm")
    before = redis_clients(url)
    sockets = [
        await _open_joined(redis_server, tenant, jwt, f"room:{i % 10}") for i in range(SOCKETS)
    ]
    during = redis_clients(url)
    for ws in [warm, *sockets]:
        await ws.close()
    assert during - before < 10, (before, during)
