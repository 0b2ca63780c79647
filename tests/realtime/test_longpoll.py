"""The Phoenix long-poll transport at /socket/longpoll, through Django's full HTTP stack.

Each request runs in a ThreadSensitiveContext of its own, as under an ASGI server, so
that a waiting poll does not hold up the requests made while it waits.
"""

import asyncio
import base64
import json
import logging
from urllib.parse import urlencode

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signing
from django.core.cache import cache
from django.test import AsyncClient

from organizations import services
from realtime.events import event_trigger
from realtime.hub import get_hub
from realtime.phoenix import longpoll_sessions
from realtime.phoenix.longpoll_remote import OWNER_TIMEOUT
from realtime.phoenix.longpoll_sessions import TOKEN_SALT, SessionAddress, local_sessions
from realtime.topics import group_name

pytestmark = pytest.mark.django_db(transaction=True)

POLLS = 20  # the bound on polls while waiting for an expected frame


class LongPoller:
    """A v2 (or v1) phoenix client speaking long-poll, as phoenix's LongPoll class does."""

    def __init__(self, app_key, vsn="2.0.0", headers=None, **params):
        self.http = AsyncClient()
        self.params = {"app_key": app_key, "vsn": vsn, **params}
        self.headers = headers or {}
        self.token = None
        self.ref = 0
        self.pending = []  # frames fetched but not yet looked at

    def url(self):
        query = {**self.params, **({"token": self.token} if self.token else {})}
        return "/socket/longpoll?" + urlencode(query)

    async def request(self, method, body=None, content_type="application/x-ndjson", headers=None):
        headers = {**self.headers, **(headers or {})}
        async with ThreadSensitiveContext():
            if method == "POST":
                response = await self.http.post(
                    self.url(), data=body, content_type=content_type, headers=headers
                )
            else:
                response = await self.http.generic(method, self.url(), headers=headers)
        assert response.status_code == 200, response.content
        return response

    async def get(self, **kwargs):
        return (await self.request("GET", **kwargs)).json()

    async def open(self):
        body = await self.get()
        assert body["status"] == 410 and body["token"] and body["messages"] == [], body
        self.token = body["token"]
        return body

    async def post(self, *frames, content_type="application/x-ndjson"):
        return (await self.request("POST", "\n".join(frames), content_type)).json()

    async def push(self, topic, event, payload=None, join_ref=None):
        self.ref += 1
        ref = str(self.ref)
        frame = json.dumps([join_ref, ref, topic, event, payload or {}])
        assert (await self.post(frame)) == {"status": 200}
        return ref

    async def find(self, match):
        """The first frame that matches, polling until it comes; other frames stay pending."""
        for _ in range(POLLS):
            for frame in self.pending:
                if match(frame):
                    self.pending.remove(frame)
                    return frame
            body = await self.get()
            assert body["status"] in (200, 204), body
            assert body["token"] == self.token
            self.pending += [json.loads(message) for message in body["messages"]]
        raise AssertionError(f"no such frame in {POLLS} polls; pending: {self.pending}")

    async def until(self, event, topic=None):
        return await self.find(lambda f: f[3] == event and (topic is None or f[2] == topic))

    async def reply(self, ref):
        return (await self.find(lambda f: f[3] == "phx_reply" and f[1] == ref))[4]

    async def join(self, topic, payload=None):
        self.ref += 1
        ref = str(self.ref)
        assert (await self.post(json.dumps([ref, ref, topic, "phx_join", payload or {}]))) == {
            "status": 200
        }
        return await self.reply(ref)


@pytest.fixture(autouse=True)
async def window(settings):
    """A short poll window, so nothing here waits long; sessions end with the test."""
    settings.EXPUSHER_LONGPOLL_WINDOW_MS = 2000
    yield
    for session in list(local_sessions().values()):
        await session.end("test over")


@pytest.fixture
async def lp(alice_app, jwt_for):
    poller = LongPoller(alice_app.app_key, jwt=jwt_for(listen=["room:*", "presence:*"]))
    await poller.open()
    return poller


def forged(app, session_id="nope", owner="hub.elsewhere"):
    """A validly signed token for a session that is not here (of another process)."""
    return SessionAddress(session_id, owner, app.app_key, "2.0.0").token()


async def test_it_opens_a_session_with_a_signed_token_that_holds_no_jwt(alice_app, jwt_for):
    jwt = jwt_for(listen=["room:*"])
    poller = LongPoller(alice_app.app_key, jwt=jwt)

    body = await poller.open()

    address = SessionAddress.of_token(body["token"])
    assert list(local_sessions()) == [address.id]
    assert address.owner == await get_hub().address()  # where other processes reach it
    assert (address.app_key, address.vsn) == (alice_app.app_key, "2.0.0")
    assert jwt not in body["token"] and jwt.split(".")[1] not in body["token"]
    assert (await poller.join("room:1"))["status"] == "ok"


async def test_it_takes_the_jwt_from_the_authtoken_header(alice_app, jwt_for):
    # Anonymous sockets may only listen to public:*; room:1 needs the JWT's claims.
    poller = LongPoller(
        alice_app.app_key, headers={"X-Phoenix-AuthToken": jwt_for(listen=["room:*"])}
    )
    await poller.open()
    assert (await poller.join("room:1"))["status"] == "ok"

    anonymous = LongPoller(alice_app.app_key, headers={"Origin": "https://any.example"})
    await anonymous.open()
    assert (await anonymous.join("room:1"))["response"]["reason"] == "unauthorized"


@pytest.mark.parametrize(
    "case", ["bad jwt", "expired jwt", "unknown app", "foreign app", "bad origin", "bad vsn"]
)
async def test_it_refuses_with_403_and_never_logs_the_jwt(
    case, alice_app, charlie_app, jwt_for, caplog
):
    caplog.set_level(logging.DEBUG)
    await sync_to_async(services.application_update)(
        application=alice_app, allowed_origins=["https://good.example"]
    )
    await sync_to_async(cache.clear)()
    jwt = jwt_for()
    app_key, params, headers = alice_app.app_key, {"jwt": jwt}, {}
    if case == "bad jwt":
        jwt = params["jwt"] = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    elif case == "expired jwt":
        jwt = params["jwt"] = jwt_for(ttl=-5)
    elif case == "unknown app":
        app_key = "nope"
    elif case == "foreign app":
        app_key = charlie_app.app_key
    elif case == "bad origin":
        headers = {"Origin": "https://good.example.evil.test"}
    else:
        params["vsn"] = "3.0.0"

    body = await LongPoller(app_key, headers=headers, **params).get()

    assert body == {"status": 403}
    assert local_sessions() == {}
    assert jwt.split(".")[1] not in caplog.text and jwt.split(".")[2] not in caplog.text


async def test_it_answers_a_posted_join_on_the_next_poll(lp):
    ref = await lp.push("room:1", "phx_join", {}, join_ref="j1")

    body = await lp.get()

    assert body["status"] == 200 and body["token"] == lp.token
    assert [json.loads(m) for m in body["messages"]] == [
        ["j1", ref, "room:1", "phx_reply", {"status": "ok", "response": {}}]
    ]


async def test_serializer_v1_sends_objects(alice_app, jwt_for):
    poller = LongPoller(alice_app.app_key, vsn="1.0.0", jwt=jwt_for())
    await poller.open()
    frame = json.dumps({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": "7"})
    assert (await poller.post(frame, content_type="application/json")) == {"status": 200}

    body = await poller.get()

    assert [json.loads(m) for m in body["messages"]] == [
        {
            "topic": "phoenix",
            "event": "phx_reply",
            "payload": {"status": "ok", "response": {}},
            "ref": "7",
        }
    ]


async def test_a_longpoll_push_reaches_a_websocket_subscriber(
    layer, lp, connect, alice_app, jwt_for
):
    _, _, ws = await connect(alice_app.app_key, jwt_for(listen=["room:*"]))
    assert (await ws.join("room:1"))["status"] == "ok"
    assert (await lp.join("room:1"))["status"] == "ok"

    ref = await lp.push("room:1", "new_message", {"text": "from long-poll"}, join_ref="1")

    assert (await lp.reply(ref))["status"] == "ok"
    assert await ws.recv() == [None, None, "room:1", "new_message", {"text": "from long-poll"}]
    # The sender is a subscriber too, as in Phoenix.
    assert (await lp.until("new_message"))[4] == {"text": "from long-poll"}


async def test_a_websocket_push_reaches_the_longpoll_session(
    layer, lp, connect, alice_app, jwt_for
):
    _, _, ws = await connect(alice_app.app_key, jwt_for(listen=["room:*"], publish=["room:*"]))
    assert (await lp.join("room:2"))["status"] == "ok"
    assert (await ws.join("room:2"))["status"] == "ok"

    await ws.push("room:2", "new_message", {"text": "from ws"}, join_ref="1")

    frame = await lp.until("new_message", "room:2")
    assert frame == [None, None, "room:2", "new_message", {"text": "from ws"}]


async def test_a_waiting_poll_is_answered_as_soon_as_a_frame_arrives(settings, lp, jwt_for):
    settings.EXPUSHER_LONGPOLL_WINDOW_MS = 60_000  # the frame, not the window, ends the wait
    assert (await lp.join("room:3"))["status"] == "ok"
    waiting = asyncio.create_task(lp.get())
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await event_trigger(lp_app_id(), "room:3", "tick", '{"n":1}')

    body = await asyncio.wait_for(waiting, 10)
    assert body["status"] == 200
    assert [json.loads(m) for m in body["messages"]] == [[None, None, "room:3", "tick", {"n": 1}]]


def lp_app_id():
    [session] = local_sessions().values()
    return session.app.id


async def test_it_answers_204_when_the_window_passes_without_frames(settings, lp):
    # Short, yet long enough that a loaded machine still polls again within 1.5 windows.
    settings.EXPUSHER_LONGPOLL_WINDOW_MS = 200

    for _ in range(5):  # 5 windows in all, far past the 1.5 windows of idleness allowed
        body = await lp.get()
        assert body == {"status": 204, "token": lp.token, "messages": []}

    assert len(local_sessions()) == 1  # polling keeps it alive


async def test_a_second_poll_takes_over_and_the_first_answers_204(settings, lp):
    settings.EXPUSHER_LONGPOLL_WINDOW_MS = 60_000
    assert (await lp.join("room:4"))["status"] == "ok"
    first = asyncio.create_task(lp.get())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(lp.get())

    assert (await asyncio.wait_for(first, 10))["status"] == 204
    await event_trigger(lp_app_id(), "room:4", "tick", "{}")
    body = await asyncio.wait_for(second, 10)
    assert body["status"] == 200 and len(body["messages"]) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_it_answers_410_for_unknown_and_forged_tokens(method, alice_app):
    owner = await get_hub().address()
    old_style = signing.dumps("x" * 24, salt=TOKEN_SALT)  # a bare id, as tokens once were
    for token in ("garbage", old_style, forged(alice_app), forged(alice_app, owner=owner)):
        poller = LongPoller(alice_app.app_key)
        poller.token = token
        started = asyncio.get_running_loop().time()
        body = (await poller.request(method, body="")).json()
        assert body == {"status": 410}
        # On the in-memory layer no other process exists: no owner is waited for.
        assert asyncio.get_running_loop().time() - started < OWNER_TIMEOUT
    assert local_sessions() == {}


async def test_it_handles_a_batch_of_frames_in_order(lp):
    frames = [json.dumps([str(i), str(i), f"room:{i}", "phx_join", {}]) for i in range(1, 4)]
    frames.append(json.dumps([None, "9", "phoenix", "heartbeat", {}]))

    assert (await lp.post(*frames)) == {"status": 200}

    body = await lp.get()
    replies = [json.loads(m) for m in body["messages"]]
    assert [(r[1], r[2], r[4]["status"]) for r in replies] == [
        ("1", "room:1", "ok"),
        ("2", "room:2", "ok"),
        ("3", "room:3", "ok"),
        ("9", "phoenix", "ok"),
    ]


async def test_a_malformed_line_gets_an_error_frame_and_the_rest_is_handled(lp):
    heartbeat = json.dumps([None, "2", "phoenix", "heartbeat", {}])

    assert (await lp.post("{not json", heartbeat)) == {"status": 200}

    error, reply = [json.loads(m) for m in (await lp.get())["messages"]]
    assert error[2:4] == ["phoenix", "phx_error"] and error[4]["reason"] == "malformed frame"
    assert reply[1] == "2" and reply[4]["status"] == "ok"


def heartbeat_of(size, ref="1"):
    """A heartbeat frame of exactly `size` bytes."""
    frame = json.dumps([None, ref, "phoenix", "heartbeat", {"p": ""}])
    return frame.replace('""', '"' + "x" * (size - len(frame)) + '"')


async def test_oversized_bodies_get_413_and_the_session_lives_on(settings, lp):
    settings.EXPUSHER_MAX_MESSAGE_BYTES = 100
    fits, too_long = heartbeat_of(100), heartbeat_of(101, ref="2")
    assert len(fits) == 100 and len(too_long) == 101

    assert (await lp.post(fits, too_long)) == {"status": 413}
    assert (await lp.post(*[fits] * 101)) == {"status": 413}
    assert (await lp.post(too_long, content_type="application/json")) == {"status": 413}

    # Nothing of the refused bodies was handled; 100 lines of the largest size pass.
    settings.EXPUSHER_LONGPOLL_WINDOW_MS = 50
    body = await lp.get()
    assert body["status"] == 204
    assert (await lp.post(*[fits] * 100)) == {"status": 200}
    body = await lp.get()
    assert len(body["messages"]) == 100


async def test_a_base64_line_is_a_binary_push_and_binary_broadcasts_skip_long_poll(
    lp, connect, alice_app, jwt_for
):
    _, _, ws = await connect(alice_app.app_key, jwt_for())
    assert (await ws.join("room:5"))["status"] == "ok"
    assert (await lp.join("room:5"))["status"] == "ok"
    fields = [f.encode() for f in ("1", "8", "room:5", "blob")]
    push = bytes([0, *map(len, fields)]) + b"".join(fields) + b"\x00\x01\xff"

    assert (await lp.post(base64.b64encode(push).decode())) == {"status": 200}

    assert (await lp.reply("8"))["status"] == "ok"
    assert await ws.ws.receive_from() == bytes([2, 6, 4]) + b"room:5blob\x00\x01\xff"
    # The phoenix LongPoll client would JSON-decode a binary broadcast: it never gets one,
    # and the text frames after it still arrive.
    await ws.push("room:5", "text", {"n": 1}, join_ref="1")
    assert (await lp.until("text"))[4] == {"n": 1}
    assert [f for f in lp.pending if f[3] == "blob"] == []


async def test_a_session_nobody_polls_is_stopped_and_leaves_its_topics(
    settings, layer, connect, alice_app, jwt_for
):
    settings.EXPUSHER_LONGPOLL_WINDOW_MS = 100
    _, _, ws = await connect(alice_app.app_key, jwt_for(user_id="watcher"))
    assert (await ws.join("presence:lobby"))["status"] == "ok"
    poller = LongPoller(alice_app.app_key, jwt=jwt_for(user_id="poller"))
    await poller.open()
    assert (await poller.join("presence:lobby"))["status"] == "ok"
    group = group_name(alice_app.id, "presence:lobby")
    assert len(get_hub().topics[group]) == 2

    # Nobody polls any more: after 1.5 windows the session stops, announcing the leave.
    for _ in range(10):
        diff = await ws.recv(timeout=5)
        if diff[3] == "presence_diff" and diff[4]["leaves"]:
            break
    assert list(diff[4]["leaves"]) == ["poller"]
    assert len(get_hub().topics[group]) == 1
    assert local_sessions() == {}
    assert (await poller.get()) == {"status": 410}


async def test_a_session_whose_buffer_overflows_is_stopped(monkeypatch, lp, caplog):
    monkeypatch.setattr(longpoll_sessions, "MAX_BUFFERED_FRAMES", 5)
    heartbeats = [json.dumps([None, str(i), "phoenix", "heartbeat", {}]) for i in range(10)]

    assert (await lp.post(*heartbeats)) == {"status": 200}

    assert "5 unread frames; stopping it" in caplog.text
    assert local_sessions() == {}
    assert (await lp.get()) == {"status": 410}


async def test_a_session_closed_by_the_server_answers_410(lp, alice_app, jwt_for):
    poller = LongPoller(alice_app.app_key, jwt=jwt_for(user_id="u-1"))
    await poller.open()
    assert (await poller.join("room:1"))["status"] == "ok"

    await get_hub().send_control(alice_app.id, "disconnect_user", {"user_id": "u-1"})

    assert (await polled_until_gone(poller)) == {"status": 410}
    assert len(local_sessions()) == 1  # lp, whose user was not disconnected


async def polled_until_gone(poller):
    for _ in range(POLLS):
        body = await poller.get()
        if body["status"] == 410:
            return body
    raise AssertionError(f"the session outlived {POLLS} polls")


async def test_a_session_ends_when_its_jwt_expires(alice_app, jwt_for):
    jwt = jwt_for(ttl=2)  # whole-second timestamps: 1 s could expire before the open
    poller = LongPoller(alice_app.app_key, jwt=jwt)
    await poller.open()

    assert (await polled_until_gone(poller)) == {"status": 410}
    # The client reconnects, and is refused for good.
    assert (await LongPoller(alice_app.app_key, jwt=jwt).get()) == {"status": 403}


async def test_a_session_ends_when_its_secret_token_is_revoked(
    settings, alice_app, alice_token_and_secret, jwt_for
):
    # The revocation watchdog runs outside the request that opened the session, and
    # reads the database long after that request has finished.
    settings.EXPUSHER_REVOCATION_CACHE_SECONDS = 1
    poller = LongPoller(alice_app.app_key, jwt=jwt_for())
    await poller.open()

    await sync_to_async(services.secret_token_revoke)(token=alice_token_and_secret[0])

    assert (await polled_until_gone(poller)) == {"status": 410}


async def test_sessions_count_against_the_connection_quota(layer, lp, connect, alice_app, jwt_for):
    await sync_to_async(services.application_update)(application=alice_app, max_connections=2)
    await sync_to_async(cache.clear)()
    second = LongPoller(alice_app.app_key, jwt=jwt_for())
    await second.open()

    assert (await LongPoller(alice_app.app_key, jwt=jwt_for()).get()) == {"status": 403}
    assert not (await connect(alice_app.app_key, jwt_for()))[0]
    [first, _] = local_sessions().values()
    await first.end("client gone")
    await LongPoller(alice_app.app_key, jwt=jwt_for()).open()


async def test_a_presence_store_outage_answers_500_so_the_client_retries(
    settings, alice_app, jwt_for
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    assert (await LongPoller(alice_app.app_key, jwt=jwt_for()).get()) == {"status": 500}
    assert local_sessions() == {}


async def test_cors_follows_the_applications_allowed_origins(alice_app, jwt_for):
    await sync_to_async(services.application_update)(
        application=alice_app, allowed_origins=["https://good.example"]
    )
    await sync_to_async(cache.clear)()
    good, bad = {"Origin": "https://good.example"}, {"Origin": "https://evil.example"}
    poller = LongPoller(alice_app.app_key, headers=good)

    preflight = await poller.request(
        "OPTIONS", headers={"Access-Control-Request-Headers": "x-phoenix-authtoken"}
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://good.example"
    assert "x-phoenix-authtoken" in preflight["Access-Control-Allow-Headers"]
    assert "content-type" in preflight["Access-Control-Allow-Headers"]
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in await poller.request("OPTIONS", headers=bad)

    opened = await poller.request("GET")  # anonymous, from an allowed page
    assert opened["Access-Control-Allow-Origin"] == "https://good.example"
    assert "Origin" in opened["Vary"]
    poller.token = opened.json()["token"]
    assert (await poller.request("GET", headers=bad)).json() == {"status": 403}
    posted = await poller.request("POST", json.dumps([None, "1", "phoenix", "heartbeat", {}]))
    assert posted.json() == {"status": 200}
    assert posted["Access-Control-Allow-Origin"] == "https://good.example"
