"""Presence state and diffs in the shape the phoenix client's Presence class consumes."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from organizations import services
from realtime import presence

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until(client, event, topic=None, limit=10):
    for _ in range(limit):
        frame = await client.recv()
        if frame[3] == event and (topic is None or frame[2] == topic):
            return frame
    raise AssertionError(f"no {event}")


async def test_a_joiner_gets_the_full_state_then_others_get_a_diff(
    layer, connect, alice_app, jwt_for
):
    _, _, a = await connect(alice_app.app_key, jwt_for(user_id="alice", info={"name": "A"}))
    assert (await a.join("presence:room"))["status"] == "ok"
    state = (await frames_until(a, "presence_state"))[4]
    assert list(state) == ["alice"]
    [meta] = state["alice"]["metas"]
    assert meta["info"] == {"name": "A"} and meta["phx_ref"]
    await frames_until(a, "presence_diff")  # a's own join

    _, _, b = await connect(alice_app.app_key, jwt_for(user_id="bob"))
    await b.join("presence:room")
    state = (await frames_until(b, "presence_state"))[4]
    assert set(state) == {"alice", "bob"}
    diff = (await frames_until(a, "presence_diff"))[4]
    assert list(diff["joins"]) == ["bob"] and diff["leaves"] == {}

    await b.ws.disconnect()
    diff = (await frames_until(a, "presence_diff"))[4]
    assert diff["joins"] == {} and list(diff["leaves"]) == ["bob"]


async def test_one_user_with_three_tabs_is_one_key_with_three_metas(
    layer, connect, alice_app, jwt_for
):
    tabs = []
    for _ in range(3):
        _, _, tab = await connect(alice_app.app_key, jwt_for(user_id="alice"))
        await tab.join("presence:room")
        tabs.append(tab)
    state = (await frames_until(tabs[2], "presence_state"))[4]
    metas = state["alice"]["metas"]
    assert list(state) == ["alice"] and len(metas) == 3
    assert len({m["phx_ref"] for m in metas}) == 3

    await tabs[0].ws.disconnect()
    members = await presence.get_presence().members(alice_app.id, "presence:room")
    assert list(members) == ["alice"] and len(members["alice"]["metas"]) == 2
    diff = (await frames_until(tabs[1], "presence_diff", limit=10))[4]
    while diff["leaves"] == {}:
        diff = (await frames_until(tabs[1], "presence_diff"))[4]
    assert list(diff["leaves"]) == ["alice"] and len(diff["leaves"]["alice"]["metas"]) == 1


async def test_unique_identifier_keys_anonymous_presence(connect, alice_app):
    await sync_to_async(services.application_update)(
        application=alice_app, anonymous_listen=["presence:*"]
    )
    from django.core.cache import cache

    await sync_to_async(cache.clear)()
    _, _, a = await connect(alice_app.app_key, unique_identifier="robot")
    await a.join("presence:lobby")
    assert list((await frames_until(a, "presence_state"))[4]) == ["robot"]


async def test_members_are_capped_per_topic(connect, alice_app, jwt_for):
    await sync_to_async(services.application_update)(application=alice_app, max_presence_members=2)
    from django.core.cache import cache

    await sync_to_async(cache.clear)()
    for user in ("u1", "u2"):
        _, _, c = await connect(alice_app.app_key, jwt_for(user_id=user))
        assert (await c.join("presence:full"))["status"] == "ok"
    _, _, again = await connect(alice_app.app_key, jwt_for(user_id="u1"))
    assert (await again.join("presence:full"))["status"] == "ok"  # same user, another tab
    _, _, third = await connect(alice_app.app_key, jwt_for(user_id="u3"))
    reply = await third.join("presence:full")
    assert reply["status"] == "error"
    assert reply["response"]["reason"] == "presence member limit reached"


async def test_pusher_style_presence_topics_track_too(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for(user_id="alice"))
    await a.join("presence-room")
    assert list((await frames_until(a, "presence_state"))[4]) == ["alice"]


async def test_a_dead_nodes_members_are_reaped_and_announced_once(redis, alice_app):
    args = (settings.REDIS_URL, settings.EXPUSHER_REDIS_PREFIX, 3)
    dead = presence.RedisPresenceStore(*args, node="dead-node")
    survivors = [presence.RedisPresenceStore(*args, node=f"alive-{i}") for i in range(2)]
    await dead.heartbeat()
    await dead.track(alice_app.id, "presence:room", "c1", "ghost", {"phx_ref": "r1"})
    await dead.subscribed(alice_app.id, "presence:room", +1)
    for store in survivors:
        await store.heartbeat()
    assert await survivors[0].subscription_counts(alice_app.id) == {"presence:room": 1}
    await dead.redis.delete(f"{dead.p}:alive:dead-node")  # as if its TTL ran out

    announced = []

    async def on_reaped(*args):
        announced.append(args)

    await asyncio.gather(*(s.reap(on_reaped) for s in survivors))
    assert announced == [(alice_app.id, "presence:room", "ghost", {"phx_ref": "r1"}, True)]
    assert await survivors[1].members(alice_app.id, "presence:room") == {}
    assert await survivors[1].subscription_counts(alice_app.id) == {}
