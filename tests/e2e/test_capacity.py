"""A live process refuses what it cannot take with the retryable answer, and the official
clients come back by themselves once it can (realtime.capacity, expusher.front_door).

The in-process rules are in tests/realtime/test_capacity.py; what a burst of thousands of
connects does with and without the limits is measured by bench/admission-style runs in
the README ("Measured"), not asserted here.
"""

from __future__ import annotations

import contextlib
import socket

import pytest
import websockets.sync.client as ws_client

from tests.e2e.conftest import WAIT, Tenant, session_jwt, socket_path, wait_until
from tests.e2e.pusher_support import PusherApp, pusher_js  # noqa: F401 - a fixture
from tests.support import live

pytestmark = pytest.mark.e2e

CAP = 2  # EXPUSHER_MAX_CONNECTIONS_PER_PROCESS of this server


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("capacity"), EXPUSHER_MAX_CONNECTIONS_PER_PROCESS=str(CAP)
    )
    live.migrate(server_env)
    with live.LiveServer(server_env) as server:
        yield server


def raw_upgrade(server: live.LiveServer, path: str) -> bytes:
    """The whole answer to a WebSocket upgrade request, read until the server closes or
    its head is in."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or answer.startswith(b"HTTP/1.1 503"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def test_past_the_cap_upgrades_get_503_with_retry_after_and_a_freed_slot_is_taken(capped):
    tenant = Tenant.create(capped.server_env)
    jwt = session_jwt(capped, tenant, listen=["*"], publish=[])
    phoenix_path = socket_path(app_key=tenant.app_key, jwt=jwt, vsn="2.0.0")
    pusher_path = f"/app/{tenant.app_key}?protocol=7"
    with contextlib.ExitStack() as held:
        first = held.enter_context(ws_client.connect(capped.ws_url + phoenix_path))
        held.enter_context(ws_client.connect(capped.ws_url + pusher_path))
        for path in (phoenix_path, pusher_path):
            answer = raw_upgrade(capped, path)
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer
            assert b"\r\nRetry-After: 1\r\n" in answer
            assert answer.endswith(b"server at capacity, retry later\n")
        first.close()

        def upgraded():
            return raw_upgrade(capped, pusher_path).startswith(b"HTTP/1.1 101")

        wait_until(upgraded, what="the freed slot taken by a new connection")


def test_pusher_js_refused_at_capacity_connects_by_itself_once_a_slot_frees(capped, pusher_js):  # noqa: F811
    tenant = Tenant.create(capped.server_env)
    app = PusherApp.bootstrap(capped, name="Capco")
    jwt = session_jwt(capped, tenant, listen=["*"], publish=[])
    path = socket_path(app_key=tenant.app_key, jwt=jwt, vsn="2.0.0")
    with contextlib.ExitStack() as held:
        holders = [held.enter_context(ws_client.connect(capped.ws_url + path)) for _ in range(CAP)]
        client = pusher_js(app)
        client.settle(1.5)  # refused (503) at least once meanwhile
        assert not client.records("connected")
        holders[0].close()
        assert client.connected(timeout=WAIT * 2)  # pusher-js retried on its own
