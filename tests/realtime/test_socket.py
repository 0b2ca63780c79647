"""The Phoenix socket end to end through the ASGI app, on the in-memory layer and Redis."""

import json

import pytest
from asgiref.sync import sync_to_async

from organizations import services
from realtime import tokens

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_delivers_a_push_to_every_subscriber_including_the_sender(
    layer, connect, alice_app, jwt_for
):
    jwt = jwt_for(listen=["room:*"], publish=["room:1"])
    _, _, a = await connect(alice_app.app_key, jwt)
    _, _, b = await connect(alice_app.app_key, jwt)
    assert (await a.join("room:1"))["status"] == "ok"
    assert (await b.join("room:1"))["status"] == "ok"
    ref = await a.push("room:1", "new_message", {"name": "John", "message": "Hello"}, "1")
    for client in (a, b):
        frames = (
            [await client.recv(), await client.recv()] if client is a else [await client.recv()]
        )
        broadcasts = [f for f in frames if f[3] == "new_message"]
        assert broadcasts == [
            [None, None, "room:1", "new_message", {"name": "John", "message": "Hello"}]
        ]
    assert any(True for _ in [ref])


async def test_it_refuses_a_join_outside_the_listen_claim(layer, connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for(listen=["room:*"]))
    reply = await a.join("secret:1")
    assert reply["status"] == "error"
    assert reply["response"]["reason"] == "unauthorized"


async def test_it_refuses_a_push_without_publish_claim_and_sends_nothing(
    layer, connect, alice_app, jwt_for
):
    _, _, a = await connect(alice_app.app_key, jwt_for(listen=["room:*"], publish=[]))
    _, _, b = await connect(alice_app.app_key, jwt_for(listen=["room:*"]))
    await a.join("room:1")
    await b.join("room:1")
    ref = await a.push("room:1", "new_message", {"x": 1})
    reply = await a.reply(ref)
    assert reply["status"] == "error" and reply["response"]["reason"] == "unauthorized"
    await b.nothing()


async def test_it_answers_pushes_before_join_with_an_error(layer, connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    ref = await a.push("room:1", "new_message", {})
    assert (await a.reply(ref))["response"]["reason"] == "unmatched topic"


async def test_it_replies_to_heartbeats(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    ref = await a.push("phoenix", "heartbeat", {})
    assert await a.reply(ref) == {"status": "ok", "response": {}}


async def test_it_speaks_the_v1_serializer(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for(), vsn="1.0.0")
    await a.ws.send_to(
        text_data=json.dumps({"topic": "room:1", "event": "phx_join", "payload": {}, "ref": "1"})
    )
    assert json.loads(await a.ws.receive_from()) == {
        "topic": "room:1",
        "event": "phx_reply",
        "payload": {"status": "ok", "response": {}},
        "ref": "1",
    }
    await a.ws.send_to(
        text_data=json.dumps({"topic": "room:1", "event": "hello", "payload": {"a": 1}, "ref": "2"})
    )
    frames = [json.loads(await a.ws.receive_from()) for _ in range(2)]
    assert {"topic": "room:1", "event": "hello", "payload": {"a": 1}, "ref": None} in frames


async def test_it_refuses_unknown_vsn(connect, alice_app, jwt_for):
    connected, _, _ = await connect(alice_app.app_key, jwt_for(), vsn="3.0.0")
    assert not connected


async def test_a_duplicate_join_closes_the_old_channel_first(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    await a.ws.send_to(text_data=json.dumps(["5", "5", "room:1", "phx_join", {}]))
    assert await a.recv() == ["1", "1", "room:1", "phx_close", {}]
    assert await a.recv() == ["5", "5", "room:1", "phx_reply", {"status": "ok", "response": {}}]


async def test_leave_replies_then_closes_and_stops_delivery(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    _, _, b = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    await b.join("room:1")
    ref = await a.push("room:1", "phx_leave", {}, "1")
    assert await a.recv() == ["1", ref, "room:1", "phx_reply", {"status": "ok", "response": {}}]
    assert await a.recv() == ["1", "1", "room:1", "phx_close", {}]
    await b.push("room:1", "ping", {})
    await a.nothing()


async def test_it_limits_topics_per_socket(connect, alice_app, jwt_for, settings):
    settings.EXPUSHER_MAX_TOPICS_PER_SOCKET = 3
    _, _, a = await connect(alice_app.app_key, jwt_for())
    for i in range(3):
        assert (await a.join(f"t{i}"))["status"] == "ok"
    reply = await a.join("t3")
    assert reply["response"]["reason"] == "too many channels joined"


async def test_it_rate_limits_client_pushes(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    statuses = []
    for _ in range(alice_app.client_push_rate + 5):
        ref = await a.push("room:1", "e", {}, "1")
        statuses.append((await a.reply(ref))["response"].get("reason"))
    assert statuses.count("rate limited") >= 5


@pytest.mark.parametrize("event", ["phx_custom", "presence_diff", "bad event", "x" * 201])
async def test_it_refuses_reserved_or_invalid_event_names(connect, alice_app, jwt_for, event):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    ref = await a.push("room:1", event, {}, "1")
    assert (await a.reply(ref))["response"]["reason"] == "invalid event"


@pytest.mark.parametrize("topic", ["", "bad topic", "x" * 201, "émoji"])
async def test_it_refuses_invalid_topics(connect, alice_app, jwt_for, topic):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    assert (await a.join(topic))["response"]["reason"] == "invalid topic"


async def test_it_refuses_oversized_payloads(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    ref = await a.push("room:1", "big", {"blob": "x" * 11 * 1024}, "1")
    assert (await a.reply(ref))["response"]["reason"] == "payload too large"


@pytest.mark.parametrize(
    "frame",
    ["not json", "[]", "{}", '["1","1","t","e","not an object"]', "[1,2,3,4,{}]", "[" * 5000],
)
async def test_it_answers_malformed_frames_and_stays_open(connect, alice_app, jwt_for, frame):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.ws.send_to(text_data=frame)
    answer = await a.recv()
    assert answer[3] in ("phx_error", "phx_reply")
    assert answer[4].get("reason") == "malformed frame" or answer[4]["response"]["reason"]
    ref = await a.push("phoenix", "heartbeat", {})
    assert (await a.reply(ref))["status"] == "ok"


async def test_it_closes_with_1009_on_messages_over_64_kib(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.ws.send_to(text_data="x" * (64 * 1024 + 1))
    assert await a.ws.receive_output() == {"type": "websocket.close", "code": 1009}


async def test_anonymous_sockets_get_the_application_policy(connect, alice_app):
    _, _, a = await connect(alice_app.app_key)
    assert (await a.join("public:lobby"))["status"] == "ok"
    assert (await a.join("private:x"))["response"]["reason"] == "unauthorized"
    ref = await a.push("public:lobby", "hi", {}, "1")
    assert (await a.reply(ref))["response"]["reason"] == "unauthorized"


async def test_client_publishing_can_be_turned_off(connect, alice_app, jwt_for):
    await sync_to_async(services.application_update)(application=alice_app, client_publishing=False)
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    ref = await a.push("room:1", "hi", {}, "1")
    assert (await a.reply(ref))["response"]["reason"] == "client publishing disabled"


async def test_two_applications_never_see_each_others_topics(
    layer, connect, alice_app, charlie_app, charlie, jwt_for
):
    charlie_token, _ = await sync_to_async(services.secret_token_create)(
        organization=charlie_app.organization
    )
    charlie_jwt, _ = tokens.issue(
        organization_id=charlie_app.organization_id,
        token_id=charlie_token.pk,
        apps=[charlie_app.app_key],
        listen=["*"],
        publish=["*"],
        ttl=60,
    )
    _, _, a = await connect(alice_app.app_key, jwt_for())
    _, _, c = await connect(charlie_app.app_key, charlie_jwt)
    await a.join("general")
    await c.join("general")
    ref = await c.push("general", "hello", {}, "1")
    await c.reply(ref)
    await a.nothing()


async def test_a_flood_of_frames_is_closed_with_4102_and_costs_others_nothing(
    connect, alice_app, jwt_for, settings
):
    from realtime.events import event_trigger

    settings.EXPUSHER_MAX_FRAMES_PER_SECOND = 10
    settings.EXPUSHER_MAX_FRAMES_BURST = 20
    _, _, canary = await connect(alice_app.app_key, jwt_for())
    await canary.join("room:1")
    _, _, flood = await connect(alice_app.app_key, jwt_for())
    for _ in range(25):  # heartbeats, the cheapest frame there is
        await flood.push("phoenix", "heartbeat")
    closed = None
    for _ in range(30):
        output = await flood.ws.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            closed = output["code"]
            break
    assert closed == 4102
    for n in range(3):
        await event_trigger(alice_app.id, "room:1", "tick", f'{{"n":{n}}}')
    assert [(await canary.recv())[4]["n"] for _ in range(3)] == [0, 1, 2]
