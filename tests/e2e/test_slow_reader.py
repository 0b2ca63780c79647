"""A socket that stops reading is cut off (4101, counted in /metrics) and costs the other
subscribers nothing: they receive every event."""

import base64
import json
import os
import socket
import struct
import time

import pytest

from tests.e2e.conftest import WAIT, Tenant, metric, session_jwt, socket_path, trigger
from tests.support import live

pytestmark = pytest.mark.e2e

EVENTS = 1000
BLOB = "x" * 9900  # 10 MB in all: past what the kernel buffers (4 MB) and the bound


@pytest.fixture(scope="module")
def slow_env(tmp_path_factory):
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("slow-reader"), EXPUSHER_MAX_PENDING_BYTES=str(64 * 1024)
    )
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def slow_tenant(slow_env) -> Tenant:
    return Tenant.create(slow_env)


@pytest.fixture(scope="module")
def slow_server(slow_env, slow_tenant):
    with live.LiveServer(slow_env) as running:
        yield running


def frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455)."""
    payload, mask = text.encode(), os.urandom(4)
    header = b"\x81" + (
        bytes([0x80 | len(payload)])
        if len(payload) < 126
        else b"\xfe" + struct.pack("!H", len(payload))
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stalled_subscriber(server, tenant, jwt) -> socket.socket:
    """A raw WebSocket that joins "general" and then never reads again."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    path = socket_path(app_key=tenant.app_key, jwt=jwt, vsn="2.0.0")
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    sock.sendall(frame(json.dumps(["1", "1", "general", "phx_join", {}])))
    time.sleep(0.3)  # joined; from here on nothing is read
    return sock


def test_a_socket_that_stops_reading_is_cut_off_and_others_get_everything(
    phoenix, slow_server, slow_tenant
):
    jwt = session_jwt(slow_server, slow_tenant, listen=["general"])
    stalled = stalled_subscriber(slow_server, slow_tenant, jwt)
    reader = phoenix(slow_server, params={"app_key": slow_tenant.app_key}, authToken=jwt)
    reader.expect_open()
    assert reader.join("general")["status"] == "ok"

    for n in range(EVENTS):
        status, body = trigger(
            slow_server, slow_tenant, "blob", {"n": n, "blob": BLOB}, bearer=slow_tenant.token
        )
        assert status == 200, body

    for n in range(EVENTS):
        assert reader.expect("message", event="blob")["payload"]["n"] == str(n)
    deadline = time.monotonic() + WAIT
    closes = 0.0
    while time.monotonic() < deadline:
        closes = metric(slow_server, "expusher_slow_reader_closes_total")
        if closes == 1:
            break
        time.sleep(0.2)
    assert closes == 1
    # The stalled socket is gone on the server's side: reading now ends at its close.
    stalled.settimeout(WAIT)
    received = b""
    try:
        while chunk := stalled.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    stalled.close()
