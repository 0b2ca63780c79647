"""realtime.occupancy: occupied and vacated, each told once, whichever process decides.

The Redis cases use several RedisPresenceStore objects with node ids of their own on one
real Redis (as several processes would), the memory case the embedded store.
"""

import asyncio

import pytest
from django.conf import settings

from realtime import notifications, presence

APP = 7
TOPIC = "presence-room"


@pytest.fixture
def told():
    notices = []

    def hear(notice):
        if notice.kind in (notifications.OCCUPIED, notifications.VACATED):
            notices.append((notice.kind, notice.app_id, notice.fields["topic"]))

    stop = notifications.listen(hear)
    yield notices
    stop()


@pytest.fixture
def short_delay(settings):
    settings.EXPUSHER_VACATE_DELAY_SECONDS = 0.2


def redis_nodes(*names):
    args = (settings.REDIS_URL, settings.EXPUSHER_REDIS_PREFIX, 3)
    return [presence.RedisPresenceStore(*args, node=name) for name in names]


async def wait_for(condition, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "gave up waiting"
        await asyncio.sleep(0.02)


async def test_memory_first_subscriber_occupies_and_the_last_vacates_after_the_delay(
    told, short_delay
):
    store = presence.MemoryPresenceStore()
    assert (await store.subscribed(APP, TOPIC, +1)).occupied
    assert not (await store.subscribed(APP, TOPIC, +1)).occupied
    await store.subscribed(APP, TOPIC, -1)
    change = await store.subscribed(APP, TOPIC, -1)
    assert change.count == 0 and change.vacating
    assert told == [("occupied", APP, TOPIC)]
    await wait_for(lambda: len(told) == 2)
    assert told[1] == ("vacated", APP, TOPIC)


async def test_memory_a_reload_within_the_delay_tells_nothing(told, short_delay):
    store = presence.MemoryPresenceStore()
    await store.subscribed(APP, TOPIC, +1)
    await store.subscribed(APP, TOPIC, -1)
    await store.subscribed(APP, TOPIC, +1)  # the page came back
    await asyncio.sleep(0.4)
    assert told == [("occupied", APP, TOPIC)]
    await store.subscribed(APP, TOPIC, -1)
    await wait_for(lambda: len(told) == 2)


async def test_redis_two_processes_occupy_and_vacate_once(redis, told, short_delay):
    a, b = redis_nodes("node-a", "node-b")
    changes = await asyncio.gather(*(store.subscribed(APP, TOPIC, +1) for store in (a, b, a, b)))
    assert sum(change.occupied for change in changes) == 1
    assert max(change.count for change in changes) == 4
    assert told == [("occupied", APP, TOPIC)]
    await asyncio.gather(*(store.subscribed(APP, TOPIC, -1) for store in (a, b, a, b)))
    # Both processes sweep (their timers and their beats): one of them tells it.
    await wait_for(lambda: len(told) == 2)
    await asyncio.gather(a.occupancy.sweep(), b.occupancy.sweep())
    await asyncio.sleep(0.3)
    assert told == [("occupied", APP, TOPIC), ("vacated", APP, TOPIC)]


async def test_redis_a_subscriber_in_another_process_keeps_the_topic_occupied(
    redis, told, short_delay
):
    a, b = redis_nodes("node-a", "node-b")
    await a.subscribed(APP, TOPIC, +1)
    await b.subscribed(APP, TOPIC, +1)
    await a.subscribed(APP, TOPIC, -1)
    await asyncio.sleep(0.4)
    await a.occupancy.sweep()
    assert told == [("occupied", APP, TOPIC)]


async def test_redis_a_dead_processes_topics_are_vacated_once_when_it_is_reaped(
    redis, told, short_delay
):
    dead, *survivors = redis_nodes("dead", "alive-1", "alive-2")
    await dead.heartbeat()
    await dead.subscribed(APP, TOPIC, +1)
    await dead.subscribed(APP, "other", +1)
    await survivors[0].subscribed(APP, "other", +1)  # still occupied by a survivor
    for store in survivors:
        await store.heartbeat()
    await dead.redis.delete(f"{dead.p}:alive:dead")  # as if its TTL ran out

    async def on_reaped(*args):
        pass

    await asyncio.gather(*(store.reap(on_reaped) for store in survivors))
    await wait_for(lambda: len(told) == 3)
    await asyncio.sleep(0.3)
    assert sorted(told) == [
        ("occupied", APP, "other"),
        ("occupied", APP, TOPIC),
        ("vacated", APP, TOPIC),
    ]


async def test_redis_reconciliation_puts_lost_counts_back_silently_and_vacates_stale_ones(
    redis, told, short_delay
):
    [node] = redis_nodes("node-r")
    await node.subscribed(APP, "stale", +1)  # its unsubscribe never reached Redis
    await node.redis.delete(f"{node.p}:occ", f"{node.p}:occ:announced", node._node_subs("node-r"))
    # ^ and a restart lost the other topic's counts: the rewrite puts them back
    await node.occupancy.rewrite(node._node_subs("node-r"), {f"{APP}\x00kept": 2})
    assert told == [("occupied", APP, "stale")]
    assert (await node.subscribed(APP, "kept", +1)).count == 3
    await node.subscribed(APP, "stale", +1)
    await node.subscribed(APP, "stale", -1)
    assert await node.occupancy.rewrite(node._node_subs("node-r"), {f"{APP}\x00kept": 3}) == 0
    await wait_for(lambda: len(told) == 3)
    assert told[1:] == [("occupied", APP, "stale"), ("vacated", APP, "stale")]
