"""Hostile and broken input against a live server, with raw WebSocket clients.

The `websockets` library speaks to daphne directly, so these tests see exactly what a
client sees: handshake statuses, close codes, and the frames the server answers with.
"""

import asyncio
import json
import time

import jwt as pyjwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.conftest import WAIT, metric, session_jwt, socket_path, trigger
from tests.support import live

pytestmark = pytest.mark.e2e

MAX_MESSAGE = 64 * 1024  # EXPUSHER_MAX_MESSAGE_BYTES, enforced by daphne (expusher/server.py)
CHURN_SOCKETS, CHURN_CONCURRENCY = 200, 50
CHURN_DEADLINE = 30.0  # seconds for the whole churn


@pytest.fixture(scope="module")
def jwt(server, tenant) -> str:
    return session_jwt(server, tenant, listen=["room:*"], publish=["room:*"])


def _open(server, **params):
    params.setdefault("vsn", "2.0.0")
    return connect(
        server.ws_url + socket_path(**params),
        compression=None,
        proxy=None,
        ping_interval=None,
        open_timeout=WAIT,
        close_timeout=2,
    )


async def _recv(ws) -> list:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def _assert_heartbeat_answered(ws, ref: str = "hb") -> None:
    await ws.send(json.dumps([None, ref, "phoenix", "heartbeat", {}]))
    while True:
        frame = await _recv(ws)
        if frame[1] == ref:
            assert frame == [None, ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}]
            return


async def _close_code(ws) -> int:
    """Read until the server closes the socket; return the close code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None, "the server dropped the socket without a close frame"
    return closed.value.rcvd.code


def _padded_heartbeat(size: int) -> str:
    """A heartbeat frame of exactly `size` bytes (Phoenix ignores extra trailing elements)."""
    head, tail = '[null,"big","phoenix","heartbeat",{},"', '"]'
    return head + "x" * (size - len(head) - len(tail)) + tail


async def test_a_64_kib_message_is_read(server, tenant, jwt):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        frame = _padded_heartbeat(MAX_MESSAGE)
        assert len(frame.encode()) == MAX_MESSAGE

        await ws.send(frame)

        assert (await _recv(ws))[1:4] == ["big", "phoenix", "phx_reply"]


@pytest.mark.parametrize("kind", ["text", "binary"])
async def test_one_byte_over_64_kib_closes_with_1009(server, tenant, jwt, kind):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        frame = _padded_heartbeat(MAX_MESSAGE + 1)

        await ws.send(frame if kind == "text" else frame.encode())

        assert await _close_code(ws) == 1009
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await _assert_heartbeat_answered(ws)  # the server itself is fine


MALFORMED = {
    "empty": "",
    "not json": "hello",
    "object on v2": '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}',
    "null": "null",
    "number": "42",
    "short array": '[null,"1","phoenix"]',
    "payload not an object": '[null,"1","phoenix","heartbeat",[]]',
    "topic not a string": '[null,"1",5,"heartbeat",{}]',
    "empty event": '[null,"1","phoenix","",{}]',
    "ref an object": '[null,{"a":1},"phoenix","heartbeat",{}]',
    "deep nesting": "[" * 30_000 + "]" * 30_000,
    "truncated": '[null,"1","room:1","phx_join",{"a":',
}


@pytest.mark.parametrize("frame", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_frame_gets_phx_error_and_the_socket_stays_usable(
    server, tenant, jwt, frame
):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(frame)

        answer = await _recv(ws)

        assert answer[:4] == [None, None, "phoenix", "phx_error"]
        assert answer[4]["reason"] == "malformed frame"
        await _assert_heartbeat_answered(ws)
        await ws.send(json.dumps(["1", "1", "room:1", "phx_join", {}]))
        assert (await _recv(ws))[4]["status"] == "ok"


async def test_an_unknown_event_on_a_joined_topic_gets_an_error_reply(server, tenant, jwt):
    """A frame that parses but pushes to a topic never joined is answered by ref."""
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(json.dumps([None, "7", "room:9", "anything", {}]))

        answer = await _recv(ws)

        assert answer[:4] == [None, "7", "room:9", "phx_reply"]
        assert answer[4]["status"] == "error"
        await _assert_heartbeat_answered(ws)


async def test_invalid_utf8_in_a_text_frame_closes_with_1007(server, tenant, jwt):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(b'[null,"1","phoenix","heartbeat",{"x":"\xff\xfe"}]', text=True)

        assert await _close_code(ws) == 1007
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await _assert_heartbeat_answered(ws)


BINARY = {
    # Phoenix's binary push layout (kind 0) cut short of what its header announces.
    "truncated binary push": bytes([0, 1, 1, 60, 3]) + b"11room:1msg",
    "binary push with bad utf-8": bytes([0, 1, 1, 2, 1]) + b"11\xff\xfex",
    "random bytes": bytes(range(255, -1, -1)) * 4,
    "invalid utf-8": b"\xc3\x28\xa0\xa1\xe2\x28\xa1",
    "empty": b"",
}


@pytest.mark.parametrize("data", BINARY.values(), ids=BINARY.keys())
async def test_a_binary_frame_gets_phx_error_and_the_socket_stays_usable(server, tenant, jwt, data):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(data)

        answer = await _recv(ws)

        assert answer[:4] == [None, None, "phoenix", "phx_error"]
        await _assert_heartbeat_answered(ws)


async def test_a_binary_push_to_an_unjoined_topic_gets_an_error_reply(server, tenant, jwt):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(bytes([0, 1, 1, 6, 3]) + b"11room:1msg" + b"\x00\x01\x02\xff")

        answer = await _recv(ws)

        assert answer[:4] == ["1", "1", "room:1", "phx_reply"]
        assert answer[4]["response"]["reason"] == "unmatched topic"
        await _assert_heartbeat_answered(ws)


async def test_a_json_frame_sent_as_binary_is_understood(server, tenant, jwt):
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(json.dumps(["1", "1", "room:1", "phx_join", {}]).encode())

        assert await _recv(ws) == [
            "1",
            "1",
            "room:1",
            "phx_reply",
            {"status": "ok", "response": {}},
        ]


async def _churn_one(server, tenant, jwt, index: int, gate: asyncio.Semaphore) -> None:
    async with gate:
        ws = await _open(server, app_key=tenant.app_key, jwt=jwt, unique_identifier=f"c{index}")
        await ws.send(json.dumps([str(index), str(index), "room:churn", "phx_join", {}]))
        await _recv(ws)
        if index % 2:
            await ws.close()  # a clean close handshake
        else:
            ws.transport.abort()  # the TCP connection just drops, as when a tab is killed


async def test_200_sockets_connecting_and_leaving_quickly_leave_no_trace(server, tenant, jwt):
    log_before = len(server.log_text())
    gate = asyncio.Semaphore(CHURN_CONCURRENCY)
    started = time.monotonic()

    await asyncio.wait_for(
        asyncio.gather(*(_churn_one(server, tenant, jwt, i, gate) for i in range(CHURN_SOCKETS))),
        CHURN_DEADLINE,
    )

    # Every subscription is released once the server has seen the sockets go.
    deadline = time.monotonic() + WAIT
    while await asyncio.to_thread(metric, server, "expusher_subscriptions_local") != 0:
        assert time.monotonic() < deadline, "subscriptions left behind by closed sockets"
        await asyncio.sleep(0.1)
    status, _, body = await asyncio.to_thread(server.get, "/healthz")
    assert status == 200, body
    async with _open(server, app_key=tenant.app_key, jwt=jwt) as ws:
        await ws.send(json.dumps(["1", "1", "room:churn", "phx_join", {}]))
        assert (await _recv(ws))[4]["status"] == "ok"
        status, body = await asyncio.to_thread(
            trigger, server, tenant, "after_churn", {"topic": "room:churn"}, tenant.token
        )
        assert status == 200, body
        assert await _recv(ws) == [None, None, "room:churn", "after_churn", {}]
    new_log = server.log_text()[log_before:]
    assert "Traceback" not in new_log and " ERROR " not in new_log, new_log
    print(f"churn of {CHURN_SOCKETS} sockets took {time.monotonic() - started:.2f}s")


async def _handshake_status(server, subprotocols=None, **params) -> int:
    try:
        async with connect(
            server.ws_url + socket_path(**params),
            subprotocols=subprotocols,
            compression=None,
            proxy=None,
            open_timeout=WAIT,
        ):
            return 101
    except InvalidStatus as e:
        return e.response.status_code


def _resigned(token: str, **changes) -> str:
    """The same claims with some changed, signed with the server's real JWT key."""
    claims = pyjwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return pyjwt.encode(claims, live.read_test_env()["EXPUSHER_JWT_KEY"], algorithm="HS256")


async def test_handshake_refusals_are_403(server, tenant, jwt):
    now = int(time.time())
    expired = _resigned(jwt, iat=now - 120, exp=now - 60)
    still_valid = _resigned(jwt, iat=now - 120, exp=now + 60)
    app_key = tenant.app_key

    assert await _handshake_status(server, app_key=app_key, jwt=still_valid) == 101
    assert await _handshake_status(server, app_key=app_key, jwt=expired) == 403
    protocols = ["phoenix", "base64url.bearer.phx." + _b64url(expired)]
    assert await _handshake_status(server, protocols, app_key=app_key) == 403
    assert await _handshake_status(server, app_key="0" * 20, jwt=jwt) == 403
    assert await _handshake_status(server, app_key="", jwt=jwt) == 403
    assert await _handshake_status(server, jwt=jwt) == 403
    for vsn in ("3.0.0", "2.1.0", "2", "banana", "1.0.0.0"):
        assert await _handshake_status(server, app_key=app_key, jwt=jwt, vsn=vsn) == 403, vsn
    for vsn in ("1.0.0", "2.0.0"):
        assert await _handshake_status(server, app_key=app_key, jwt=jwt, vsn=vsn) == 101, vsn


def _b64url(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path", ["/nope", "/socket/websocket/extra", "/app/", "/app/key/more", "/socket/longpoll"]
)
def test_an_upgrade_to_an_unknown_path_is_404(server, path):
    from tests.e2e.conftest import upgrade_status

    assert upgrade_status(server, path) == 404
    assert server.get("/healthz")[0] == 200  # and the server is fine
