"""Frames reach a slow reader whole and in order.

The server writes a frame straight to the socket when nothing is queued and falls back
to Twisted's queue for what the socket does not take (expusher/server.py). A reader with
a tiny receive window that only starts reading once 1.8 MB are on their way forces the
partial writes and EAGAINs of that fallback.
"""

import base64
import json
import os
import socket
import struct
import time

import pytest

from tests.e2e.conftest import session_jwt, socket_path, trigger

pytestmark = pytest.mark.e2e

EVENTS = 200
PADDING = "x" * 9000


def _handshake(server, path: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def _send_text(sock: socket.socket, text: str) -> None:
    data, mask = text.encode(), os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert len(data) < 126
    sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + masked)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def _recv_text(sock: socket.socket) -> str:
    head = _recv_exact(sock, 2)
    assert head[0] == 0x81, head  # a final text frame
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", _recv_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _recv_exact(sock, 8))[0]
    return _recv_exact(sock, length).decode()


def test_a_slow_reader_gets_every_frame_whole_and_in_order(server, tenant):
    jwt = session_jwt(server, tenant, listen=["slow"], publish=[])
    sock = _handshake(server, socket_path(app_key=tenant.app_key, jwt=jwt, vsn="2.0.0"))
    sock.settimeout(10)
    _send_text(sock, json.dumps(["1", "1", "slow", "phx_join", {}]))
    assert json.loads(_recv_text(sock))[4]["status"] == "ok"

    for seq in range(EVENTS):  # the reader reads nothing meanwhile
        status, _ = trigger(
            server, tenant, "tick", {"topic": "slow", "seq": seq, "pad": PADDING}, tenant.token
        )
        assert status == 200
    time.sleep(0.5)

    seqs = [int(json.loads(_recv_text(sock))[4]["seq"]) for _ in range(EVENTS)]
    assert seqs == list(range(EVENTS))
    sock.close()
