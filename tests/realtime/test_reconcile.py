"""Reconciliation: a process rewrites its share of counts and presence in Redis from what
it really holds (realtime.presence.RedisPresenceStore.reconcile), on the real Redis."""

import uuid
from collections import Counter

import pytest

from realtime.presence import RedisPresenceStore, Share
from tests.realtime.conftest import REDIS_URL, redis_available

APP = 7
TOPIC = "presence:room"
META = {"phx_ref": "r1", "online_at": 1, "info": {}}


@pytest.fixture
async def store():
    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    store = RedisPresenceStore(REDIS_URL, prefix, ttl=60, node="n1")
    left: list[tuple] = []

    async def on_reaped(*leave):
        left.append(leave)

    store.left = left
    store._on_reaped = on_reaped
    await store.heartbeat()
    yield store
    keys = [key async for key in store.redis.scan_iter(f"{prefix}:*")]
    if keys:
        await store.redis.delete(*keys)
    await store.redis.aclose()


def holding(*members: tuple[str, str, dict], anonymous: int = 0) -> Share:
    """The share of a process with one connection per (connection id, user, meta), of
    which `anonymous` are anonymous."""
    held = {(APP, TOPIC, conn): (user, meta) for conn, user, meta in members}
    return Share(
        connections=Counter({APP: len(members)}),
        anonymous=Counter({APP: anonymous}),
        subscriptions=Counter({(APP, TOPIC): len(members)}),
        members=held,
        member_now=lambda *key: held.get(key),
    )


async def test_what_a_failed_cleanup_left_is_removed_and_its_leave_announced_once(store):
    await store.track(APP, TOPIC, "c1", "ann", META)
    await store.track(APP, TOPIC, "c2", "bob", META)
    await store.connected(APP, +2, +2)
    await store.subscribed(APP, TOPIC, +2)
    # c2's socket is gone, but its cleanup never reached Redis.

    await store.reconcile(lambda: holding(("c1", "ann", META), anonymous=1))
    await store.reconcile(lambda: holding(("c1", "ann", META), anonymous=1))

    assert store.left == [(APP, TOPIC, "bob", META, True)]
    assert list(await store.members(APP, TOPIC)) == ["ann"]
    assert await store.connection_counts(APP) == (1, 1)  # the anonymous share too
    assert await store.subscription_counts(APP) == {TOPIC: 1}


async def test_what_redis_lost_is_written_again_without_announcing_it(store):
    # Redis restarted empty under a process holding two members of one user.
    share = holding(("c1", "ann", META), ("c2", "ann", {**META, "phx_ref": "r2"}))

    await store.reconcile(lambda: share)

    assert store.left == []
    assert len((await store.members(APP, TOPIC))["ann"]["metas"]) == 2
    assert await store.connection_counts(APP) == (2, 0)
    assert await store.subscription_counts(APP) == {TOPIC: 2}
    # Counted once: the user's first and last connection are still told apart.
    assert await store.untrack(APP, TOPIC, "c1") == ("ann", META, False)


async def test_a_join_under_way_is_neither_removed_nor_counted_twice(store):
    # The connection holds the member locally, and its own track() reaches Redis after
    # reconciliation has put it back.
    share = holding(("c1", "ann", META))
    await store.reconcile(lambda: share)

    first = await store.track(APP, TOPIC, "c1", "ann", META)

    assert first is True  # still the user's first connection: its join is announced
    assert store.left == []
    assert (await store.untrack(APP, TOPIC, "c1"))[2] is True
