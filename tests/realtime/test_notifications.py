"""realtime.notifications: what the core tells its listeners, the same for both protocols."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator

from realtime import errors, notifications

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    notices = []
    stop = notifications.listen(notices.append)
    yield notices
    stop()


def kinds(notices, app_id):
    return [n.kind for n in notices if n.app_id == app_id]


async def settle():
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_a_phoenix_socket_is_opened_joined_pushed_refused_and_closed(
    layer, connect, alice_app, jwt_for, heard
):
    ok, _, client = await connect(
        alice_app.app_key,
        jwt_for(user_id="u1"),
        headers=[(b"origin", b"https://shop.example")],
    )
    assert ok
    await client.join("presence:room")
    ref = await client.push("presence:room", "typing", {"on": True}, join_ref="1")
    assert (await client.reply(ref))["status"] == "ok"
    ref = await client.push("elsewhere", "typing", {})
    assert (await client.reply(ref))["status"] == "error"
    await client.ws.disconnect()
    await settle()

    assert kinds(heard, alice_app.id) == [
        "connection_opened",
        "occupied",
        "subscribed",
        "member_joined",
        "client_event",
        "refused",
        "unsubscribed",
        "member_left",
        "connection_closed",
    ]
    opened, _, _, joined, pushed, refused, *_, left, closed = heard
    socket_id = opened.fields["socket_id"]
    assert opened.fields == {
        "socket_id": socket_id,
        "protocol": "phoenix",
        "transport": "websocket",
        "user_id": "u1",
        "origin": "https://shop.example",
    }
    assert joined.fields == {
        "socket_id": socket_id,
        "topic": "presence:room",
        "user_id": "u1",
        "first": True,
    }
    assert pushed.fields["event"] == "typing" and json.loads(pushed.fields["data"]) == {"on": True}
    assert refused.fields["code"] == errors.NotJoined.code
    assert left.fields == {"topic": "presence:room", "user_id": "u1", "last": True}
    assert closed.fields["reason"] == "closed by the client"
    assert closed.fields["transport"] == "websocket" and closed.fields["code"] is None


async def test_a_pusher_subscribe_a_cache_miss_and_a_refused_subscribe(layer, alice_app, heard):
    from expusher.asgi import application

    ws = WebsocketCommunicator(application, f"/app/{alice_app.app_key}?protocol=7")
    assert (await ws.connect())[0]
    await ws.receive_from()  # connection_established
    subscribe = {"event": "pusher:subscribe", "data": {"channel": "cache-n"}}
    await ws.send_to(text_data=json.dumps(subscribe))
    await ws.receive_from()  # subscription_succeeded
    await ws.receive_from()  # pusher:cache_miss
    frame = {"event": "pusher:subscribe", "data": {"channel": "private-x", "auth": "k:bad"}}
    await ws.send_to(text_data=json.dumps(frame))
    await ws.receive_from()  # pusher:error
    await ws.disconnect()
    await settle()

    notices = [n for n in heard if n.app_id == alice_app.id]
    assert [n.kind for n in notices] == [
        "connection_opened",
        "occupied",
        "subscribed",
        "cache_miss",
        "refused",
        "unsubscribed",
        "connection_closed",
    ]
    assert notices[0].fields["protocol"] == "pusher"
    assert notices[2].fields["topic"] == notices[3].fields["topic"] == "cache-n"
    assert notices[2].fields["count"] == 1 and notices[5].fields["count"] == 0
    assert notices[4].fields["code"] == 4009


async def test_refusals_before_a_connection_exists_are_told_without_the_token(
    connect, alice_app, jwt_for, heard
):
    from expusher.asgi import application

    bad_jwt = jwt_for() + "x"
    ok, _, _ = await connect(alice_app.app_key, bad_jwt)
    assert not ok
    ok, _, _ = await connect("no-such-key", bad_jwt)  # nobody's: nobody is told
    assert not ok
    ws = WebsocketCommunicator(
        application,
        f"/app/{alice_app.app_key}?protocol=99",
        headers=[(b"origin", b"https://shop.example")],
    )
    assert (await ws.connect())[0]
    await ws.receive_from()  # pusher:error
    await ws.wait()

    phoenix, pusher = [n for n in heard if n.kind == "connection_refused"]
    assert phoenix.app_id == pusher.app_id == alice_app.id
    assert phoenix.fields["protocol"] == "phoenix" and phoenix.fields["transport"] == "websocket"
    assert phoenix.fields["code"] == errors.Unauthorized.code
    assert bad_jwt not in repr(phoenix.fields)
    assert pusher.fields["protocol"] == "pusher"
    assert pusher.fields["origin"] == "https://shop.example"
    assert pusher.fields["code"] == errors.UnsupportedVersion.code


async def test_a_long_poll_connection_says_so(alice_app, jwt_for, heard):
    from tests.realtime.test_longpoll import LongPoller

    poller = LongPoller(alice_app.app_key, jwt=jwt_for())
    await poller.open()
    refused = LongPoller(alice_app.app_key, jwt="not-a-jwt")
    assert (await refused.get())["status"] == 403

    opened = next(n for n in heard if n.kind == "connection_opened")
    assert opened.fields["transport"] == "longpoll"
    refusal = next(n for n in heard if n.kind == "connection_refused")
    assert (refusal.fields["protocol"], refusal.fields["transport"]) == ("phoenix", "longpoll")


async def test_a_listener_that_fails_costs_nobody_their_notice(alice_app, heard):
    def broken(notice):
        raise RuntimeError("boom")

    stop = notifications.listen(broken)
    try:
        notifications.notify(alice_app.id, notifications.SUBSCRIBED, topic="t")
    finally:
        stop()
    assert kinds(heard, alice_app.id) == ["subscribed"]


def test_nothing_is_built_when_nobody_listens(monkeypatch):
    # Statistics listen from start-up (realtime.apps); without them, nobody does.
    monkeypatch.setattr(notifications, "_listeners", [])
    assert not notifications.listening()
    notifications.notify(1, notifications.SUBSCRIBED, topic="t")  # no listener, no error
