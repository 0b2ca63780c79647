"""The Pusher protocol at /app/{key}, in process: frames, channel kinds, presence, errors.

The official clients drive the same server in tests/e2e/test_pusher_*.py; here each rule
is checked frame by frame, on the memory layer and on Redis.
"""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from organizations import services
from realtime.pusher import signatures

pytestmark = pytest.mark.django_db(transaction=True)


class PusherClient:
    def __init__(self, ws: WebsocketCommunicator):
        self.ws = ws
        self.socket_id = None

    async def send(self, event, data=None, channel=None):
        frame = {"event": event, "data": data if data is not None else {}}
        if channel is not None:
            frame["channel"] = channel
        await self.ws.send_to(text_data=json.dumps(frame))

    async def recv(self, timeout=2):
        frame = json.loads(await self.ws.receive_from(timeout=timeout))
        if isinstance(frame.get("data"), str):
            try:
                frame["data"] = json.loads(frame["data"])
            except ValueError:
                pass
        return frame

    async def until(self, event, timeout=2):
        while True:
            frame = await self.recv(timeout)
            if frame["event"] == event:
                return frame

    async def nothing(self):
        if not await self.ws.receive_nothing(timeout=0.3):
            raise AssertionError(f"unexpected frame {await self.recv()}")


@pytest.fixture
def secret(alice_app_and_secret):
    return alice_app_and_secret[1]


@pytest.fixture
async def pusher(alice_app):
    from expusher.asgi import application

    opened = []

    async def make(app_key=None, query="protocol=7&client=js&version=8.4.0", headers=None):
        ws = WebsocketCommunicator(
            application, f"/app/{app_key or alice_app.app_key}?{query}", headers=headers or []
        )
        connected, _ = await ws.connect()
        assert connected
        opened.append(ws)
        client = PusherClient(ws)
        return client

    yield make
    for ws in opened:
        try:
            await ws.disconnect()
        except Exception:
            pass


async def established(client: PusherClient) -> PusherClient:
    frame = await client.recv()
    assert frame["event"] == "pusher:connection_established"
    client.socket_id = frame["data"]["socket_id"]
    return client


def auth(app, secret, socket_id, channel, channel_data=None):
    text = f"{socket_id}:{channel}" + (f":{channel_data}" if channel_data is not None else "")
    return f"{app.app_key}:{signatures.sign(secret, text)}"


async def test_it_establishes_with_a_socket_id_and_activity_timeout(layer, pusher):
    client = await pusher()
    raw = json.loads(await client.ws.receive_from())
    assert raw["event"] == "pusher:connection_established"
    assert isinstance(raw["data"], str)  # double-encoded, as pusher-js expects
    data = json.loads(raw["data"])
    assert data["activity_timeout"] == 120
    import re

    assert re.fullmatch(r"\d+\.\d+", data["socket_id"])


@pytest.mark.parametrize(
    "query, code",
    [("", 4008), ("protocol=abc", 4006), ("protocol=8", 4007), ("protocol=3", 4007)],
)
async def test_it_refuses_bad_protocol_versions(pusher, query, code):
    client = await pusher(query=query)
    frame = await client.recv()
    assert frame["event"] == "pusher:error" and frame["data"]["code"] == code
    assert (await client.ws.receive_output())["code"] == code


@pytest.mark.parametrize("version", ["5", "6", "7"])
async def test_it_accepts_protocols_5_6_and_7(pusher, version):
    await established(await pusher(query=f"protocol={version}"))


async def test_an_unknown_app_gets_4001_and_an_archived_one_4003(pusher, alice_app):
    client = await pusher(app_key="nope")
    assert (await client.recv())["data"]["code"] == 4001
    assert (await client.ws.receive_output())["code"] == 4001
    await database_sync_to_async(services.application_archive)(application=alice_app)
    client = await pusher()
    assert (await client.recv())["data"]["code"] == 4003


async def test_a_foreign_origin_gets_4009(pusher, alice_app):
    alice_app.allowed_origins = ["https://shop.example"]
    await database_sync_to_async(alice_app.save)()
    client = await pusher(headers=[(b"origin", b"https://evil.example")])
    assert (await client.recv())["data"]["code"] == 4009
    await established(await pusher(headers=[(b"origin", b"https://shop.example")]))


async def test_over_the_quota_gets_4004(pusher, alice_app, settings):
    settings.EXPUSHER_ANONYMOUS_CONNECTION_SHARE = 1  # the whole quota, anonymous or not
    alice_app.max_connections = 1
    await database_sync_to_async(alice_app.save)()
    await established(await pusher())
    client = await pusher()
    assert (await client.recv())["data"]["code"] == 4004


async def signin(client, app, secret, user_id="u-1"):
    user_data = json.dumps({"id": user_id})
    signature = signatures.sign(secret, f"{client.socket_id}::user::{user_data}")
    await client.send(
        "pusher:signin", {"auth": f"{app.app_key}:{signature}", "user_data": user_data}
    )
    assert (await client.recv())["event"] == "pusher:signin_success"


async def test_sockets_the_backend_has_not_vouched_for_get_only_their_share_of_the_quota(
    layer, pusher, connect, alice_app, secret, settings, jwt_for
):
    settings.EXPUSHER_ANONYMOUS_CONNECTION_SHARE = 0.5
    alice_app.max_connections = 4
    await database_sync_to_async(alice_app.save)()
    first, second = [await established(await pusher()) for _ in range(2)]
    refused = await pusher()
    frame = await refused.recv()
    assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4004
    assert "anonymous connections may use at most 2 of the 4" in frame["data"]["message"]
    assert (await refused.ws.receive_output())["code"] == 4004

    # A sign-in vouches for the socket: it no longer counts as anonymous.
    await signin(first, alice_app, secret)
    third = await established(await pusher())
    # So does a private (or presence) channel its backend signed; a public one does not.
    await second.send("pusher:subscribe", {"channel": "news"})
    assert (await second.recv())["event"] == "pusher_internal:subscription_succeeded"
    assert (await (await pusher()).recv())["data"]["code"] == 4004
    channel = "private-orders"
    await second.send(
        "pusher:subscribe",
        {"channel": channel, "auth": auth(alice_app, secret, second.socket_id, channel)},
    )
    assert (await second.recv())["event"] == "pusher_internal:subscription_succeeded"
    await established(await pusher())
    # The whole quota is in use now (two vouched for, two anonymous).
    assert not (await connect(alice_app.app_key, jwt_for()))[0]
    # Once vouched for, a socket stays so (subscribing again changes nothing); leaving
    # gives its slot back to anyone.
    await signin(first, alice_app, secret, "u-2")
    await third.ws.disconnect()
    assert (await connect(alice_app.app_key, jwt_for()))[0]


async def test_ping_gets_pong(pusher):
    client = await established(await pusher())
    for data in ({}, ""):
        await client.ws.send_to(text_data=json.dumps({"event": "pusher:ping", "data": data}))
        assert (await client.recv())["event"] == "pusher:pong"


async def test_a_silent_client_is_pinged_then_closed_with_4201(pusher, settings):
    settings.EXPUSHER_PUSHER_ACTIVITY_TIMEOUT = 1
    settings.EXPUSHER_PUSHER_PONG_TIMEOUT = 1
    client = await established(await pusher())
    assert (await client.recv(timeout=3))["event"] == "pusher:ping"
    assert (await client.ws.receive_output(timeout=3))["code"] == 4201


async def test_a_pong_keeps_the_client(pusher, settings):
    settings.EXPUSHER_PUSHER_ACTIVITY_TIMEOUT = 1
    settings.EXPUSHER_PUSHER_PONG_TIMEOUT = 1
    client = await established(await pusher())
    assert (await client.recv(timeout=3))["event"] == "pusher:ping"
    await client.send("pusher:pong")
    assert (await client.recv(timeout=3))["event"] == "pusher:ping"  # pinged again, not closed


async def test_public_channel_receives_events_with_data_as_sent(layer, pusher, alice_app):
    from realtime.events import event_from_data, event_publish

    client = await established(await pusher())
    await client.send("pusher:subscribe", {"channel": "orders", "auth": ""})
    frame = await client.recv()
    assert frame == {
        "event": "pusher_internal:subscription_succeeded",
        "channel": "orders",
        "data": {},
    }
    await event_publish(alice_app.id, event_from_data("orders", "created", '{"id": 7}'))
    raw = json.loads(await client.ws.receive_from())
    assert raw == {"event": "created", "channel": "orders", "data": '{"id": 7}'}


async def test_private_channel_needs_the_backends_signature(layer, pusher, alice_app, secret):
    client = await established(await pusher())
    await client.send("pusher:subscribe", {"channel": "private-x", "auth": "k:bad"})
    frame = await client.recv()
    assert frame["event"] == "pusher:subscription_error" and frame["channel"] == "private-x"
    assert frame["data"]["status"] == 401 and frame["data"]["type"] == "AuthError"
    signed = auth(alice_app, secret, client.socket_id, "private-x")
    await client.send("pusher:subscribe", {"channel": "private-x", "auth": signed})
    assert (await client.recv())["event"] == "pusher_internal:subscription_succeeded"
    # Another socket's signature is not this one's.
    other = await established(await pusher())
    await other.send("pusher:subscribe", {"channel": "private-x", "auth": signed})
    assert (await other.recv())["event"] == "pusher:subscription_error"


async def test_a_phoenix_topic_is_not_a_pusher_channel(pusher):
    client = await established(await pusher())
    await client.send("pusher:subscribe", {"channel": "private:user-42", "auth": ""})
    frame = await client.recv()
    assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4304


async def presence_join(pusher, app, secret, user_id, info=None, channel="presence-room"):
    client = await established(await pusher())
    channel_data = json.dumps({"user_id": user_id, "user_info": info or {}})
    await client.send(
        "pusher:subscribe",
        {
            "channel": channel,
            "auth": auth(app, secret, client.socket_id, channel, channel_data),
            "channel_data": channel_data,
        },
    )
    return client, await client.until("pusher_internal:subscription_succeeded")


async def test_presence_members_are_announced_once_per_user(layer, pusher, alice_app, secret):
    a, frame = await presence_join(pusher, alice_app, secret, "alice", {"name": "A"})
    assert frame["data"] == {
        "presence": {"ids": ["alice"], "hash": {"alice": {"name": "A"}}, "count": 1}
    }
    b1, frame = await presence_join(pusher, alice_app, secret, "bob", {"name": "B"})
    assert frame["data"]["presence"]["count"] == 2
    added = await a.until("pusher_internal:member_added")
    assert added["data"] == {"user_id": "bob", "user_info": {"name": "B"}}
    await b1.nothing()  # not told about itself
    b2, frame = await presence_join(pusher, alice_app, secret, "bob", {"name": "B"})
    assert frame["data"]["presence"]["count"] == 2
    await a.nothing()  # bob's second tab is not a new member
    await b2.ws.disconnect()
    await a.nothing()
    await b1.ws.disconnect()
    removed = await a.until("pusher_internal:member_removed")
    assert removed["data"] == {"user_id": "bob"}


async def test_presence_channel_data_must_be_signed_and_valid(pusher, alice_app, secret):
    client = await established(await pusher())
    channel_data = json.dumps({"user_id": "mallory"})
    signed = auth(alice_app, secret, client.socket_id, "presence-room", '{"user_id": "alice"}')
    await client.send(
        "pusher:subscribe",
        {"channel": "presence-room", "auth": signed, "channel_data": channel_data},
    )
    assert (await client.recv())["data"]["status"] == 401
    bad = json.dumps({"user_id": True})
    signed = auth(alice_app, secret, client.socket_id, "presence-room", bad)
    await client.send(
        "pusher:subscribe", {"channel": "presence-room", "auth": signed, "channel_data": bad}
    )
    frame = await client.recv()
    assert frame["event"] == "pusher:subscription_error" and frame["data"]["status"] == 400


async def test_client_events_reach_others_not_the_sender(layer, pusher, alice_app, secret):
    a, _ = await presence_join(pusher, alice_app, secret, "alice")
    b, _ = await presence_join(pusher, alice_app, secret, "bob")
    await a.until("pusher_internal:member_added")
    await b.send("client-typing", {"on": True}, channel="presence-room")
    frame = await a.recv()
    assert frame["event"] == "client-typing" and frame["data"] == {"on": True}
    assert frame["user_id"] == "bob"
    await b.nothing()


async def test_client_events_on_public_channels_are_refused(pusher):
    client = await established(await pusher())
    await client.send("pusher:subscribe", {"channel": "news"})
    await client.recv()
    await client.send("client-x", {}, channel="news")
    assert (await client.recv())["data"]["code"] == 4303
    await client.send("client-x", {}, channel="private-not-joined")
    assert (await client.recv())["data"]["code"] == 4305


async def test_client_events_follow_the_apps_switch_and_rate(pusher, alice_app, secret):
    alice_app.client_publishing = False
    await database_sync_to_async(alice_app.save)()
    client = await established(await pusher())
    signed = auth(alice_app, secret, client.socket_id, "private-x")
    await client.send("pusher:subscribe", {"channel": "private-x", "auth": signed})
    await client.recv()
    await client.send("client-x", {}, channel="private-x")
    assert (await client.recv())["data"]["code"] == 4308
    alice_app.client_publishing = True
    await database_sync_to_async(alice_app.save)()
    from django.core.cache import cache

    cache.clear()
    client = await established(await pusher())
    signed = auth(alice_app, secret, client.socket_id, "private-x")
    await client.send("pusher:subscribe", {"channel": "private-x", "auth": signed})
    await client.recv()
    for _ in range(alice_app.client_push_rate + 3):
        await client.send("client-x", {}, channel="private-x")
    codes = []
    for _ in range(3):
        codes.append((await client.until("pusher:error"))["data"]["code"])
    assert codes == [4301, 4301, 4301]


async def test_cache_channels_send_the_last_event_or_a_miss(layer, pusher, alice_app):
    from realtime.events import event_from_data, event_publish

    client = await established(await pusher())
    await client.send("pusher:subscribe", {"channel": "cache-prices"})
    assert (await client.recv())["event"] == "pusher_internal:subscription_succeeded"
    assert (await client.recv())["event"] == "pusher:cache_miss"
    await event_publish(alice_app.id, event_from_data("cache-prices", "tick", '{"p": 1}'))
    late = await established(await pusher())
    await late.send("pusher:subscribe", {"channel": "cache-prices"})
    await late.recv()
    frame = await late.recv()
    assert frame["event"] == "tick" and frame["data"] == {"p": 1}


async def test_signin_then_the_users_channel(layer, pusher, alice_app, secret):
    from realtime.hub import send_control

    client = await established(await pusher())
    user_data = json.dumps({"id": "u-1", "name": "U"})
    text = f"{client.socket_id}::user::{user_data}"
    await client.send(
        "pusher:signin",
        {"auth": f"{alice_app.app_key}:{signatures.sign(secret, text)}", "user_data": user_data},
    )
    frame = await client.recv()
    assert frame["event"] == "pusher:signin_success"
    assert frame["data"] == {"user_data": user_data}
    await client.send("pusher:subscribe", {"channel": "#server-to-user-u-1"})
    assert (await client.recv())["event"] == "pusher_internal:subscription_succeeded"
    await client.send("pusher:subscribe", {"channel": "#server-to-user-u-2"})
    assert (await client.recv())["data"]["status"] == 401
    await send_control(alice_app.id, "disconnect_user", {"user_id": "u-1"})
    assert (await client.ws.receive_output())["code"] == 4009


async def test_a_bad_signin_closes_with_4009(pusher):
    client = await established(await pusher())
    await client.send("pusher:signin", {"auth": "x:y", "user_data": '{"id": "1"}'})
    assert (await client.recv())["data"]["code"] == 4009
    assert (await client.ws.receive_output())["code"] == 4009


@pytest.mark.parametrize(
    "text, code",
    [
        ("not json", 4300),
        ("[1, 2]", 4300),
        ('{"event": "nope"}', 4310),
        ('{"event": "pusher:subscribe", "data": "x"}', 4300),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays(pusher, text, code):
    client = await established(await pusher())
    await client.ws.send_to(text_data=text)
    assert (await client.recv())["data"]["code"] == code
    await client.send("pusher:ping")
    assert (await client.recv())["event"] == "pusher:pong"


async def test_a_pusher_event_reaches_phoenix_and_back(
    layer, pusher, connect, jwt_for, alice_app, secret
):
    client = await established(await pusher())
    signed = auth(alice_app, secret, client.socket_id, "private-orders")
    await client.send("pusher:subscribe", {"channel": "private-orders", "auth": signed})
    await client.recv()
    _, _, phx = await connect(alice_app.app_key, jwt_for())
    assert (await phx.join("private-orders"))["status"] == "ok"
    await client.send("client-new", {"id": 1}, channel="private-orders")
    frame = await phx.recv()
    assert frame[2:] == ["private-orders", "client-new", {"id": 1}]
    await client.send("client-raw", "plain text", channel="private-orders")
    assert (await phx.recv())[4] == {"data": "plain text"}
    ref = await phx.push("private-orders", "shipped", {"id": 1})
    await phx.reply(ref)
    raw = json.loads(await client.ws.receive_from())
    assert raw == {"event": "shipped", "channel": "private-orders", "data": '{"id":1}'}


async def test_phoenix_and_pusher_members_share_one_presence(
    layer, pusher, connect, jwt_for, alice_app, secret
):
    a, _ = await presence_join(pusher, alice_app, secret, "alice", {"name": "A"})
    _, _, phx = await connect(alice_app.app_key, jwt_for(user_id="bob", info={"name": "B"}))
    assert (await phx.join("presence-room"))["status"] == "ok"
    state = None
    while state is None:
        frame = await phx.recv()
        if frame[3] == "presence_state":
            state = frame[4]
    assert set(state) == {"alice", "bob"}
    added = await a.until("pusher_internal:member_added")
    assert added["data"] == {"user_id": "bob", "user_info": {"name": "B"}}
    await a.ws.disconnect()
    while True:
        frame = await phx.recv()
        if frame[3] == "presence_diff" and frame[4]["leaves"]:
            assert list(frame[4]["leaves"]) == ["alice"]
            break
    await asyncio.sleep(0)
