"""The webhook queue: batching per application, and with Redis one taker per batch."""

import asyncio
import time

import pytest
from django.conf import settings

from realtime.pusher import webhook_queue
from realtime.pusher.webhook_queue import MemoryWebhookQueue, RedisWebhookQueue
from tests.realtime.conftest import use_redis


@pytest.fixture
def short_window(settings):
    settings.EXPUSHER_WEBHOOK_BATCH_SECONDS = 0.1


def redis_queues(n):
    import redis.asyncio as redis

    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return [RedisWebhookQueue(client, settings.EXPUSHER_REDIS_PREFIX) for _ in range(n)]


@pytest.fixture(params=["memory", "redis"])
def queue(request, settings, short_window):
    if request.param == "memory":
        return MemoryWebhookQueue()
    use_redis(settings)
    return redis_queues(1)[0]


def event(i):
    return {"name": "client_event", "channel": "c", "event": f"e{i}", "data": "{}"}


async def test_events_of_one_window_make_one_batch_per_application_in_order(queue, settings):
    settings.EXPUSHER_WEBHOOK_BATCH_SECONDS = 1.0  # long enough to look while it is open
    for i in range(3):
        await queue.push(1, [event(i)])
    await queue.push(2, [event(9)])
    assert await queue.take() == []  # the window is still open
    await asyncio.sleep(1.05)
    batches = sorted(await queue.take(), key=lambda b: b.app)
    assert [(b.app, [e["event"] for e in b.events]) for b in batches] == [
        (1, ["e0", "e1", "e2"]),
        (2, ["e9"]),
    ]
    assert batches[0].attempts == 0 and batches[0].urls is None


async def test_a_retry_comes_back_when_due_with_its_urls(queue):
    await queue.push(1, [event(0)])
    await asyncio.sleep(0.15)
    [batch] = await queue.take()
    again = webhook_queue.Batch(batch.id, 1, batch.events, batch.since, 1, ["http://h/x"])
    await queue.retry(batch, again, time.time() + 0.2)
    assert await queue.take() == []
    await asyncio.sleep(0.25)
    [retried] = await queue.take()
    assert (retried.attempts, retried.urls, retried.events) == (1, ["http://h/x"], batch.events)
    await queue.done(retried)
    await asyncio.sleep(0.1)
    assert await queue.take() == []


async def test_with_redis_two_processes_never_take_the_same_batch(settings, short_window):
    use_redis(settings)
    queues = redis_queues(4)
    for i in range(30):
        await queues[i % 4].push(i % 5, [event(i)])
    await asyncio.sleep(0.15)
    taken = await asyncio.gather(*(q.take() for q in queues))
    apps = [batch.app for batches in taken for batch in batches]
    assert sorted(apps) == [0, 1, 2, 3, 4]
    events = sorted(e["event"] for batches in taken for b in batches for e in b.events)
    assert events == sorted(f"e{i}" for i in range(30))


async def test_with_redis_a_batch_whose_taker_died_is_taken_again_after_its_lease(
    settings, short_window, monkeypatch
):
    use_redis(settings)
    monkeypatch.setattr(webhook_queue, "lease_seconds", lambda: 0.3)
    dying, survivor = redis_queues(2)
    await dying.push(1, [event(0)])
    await asyncio.sleep(0.15)
    [batch] = await dying.take()  # ... and the process dies before it says done
    assert await survivor.take() == []
    await asyncio.sleep(0.35)
    [again] = await survivor.take()
    assert again.events == batch.events
    await survivor.done(again)
    await asyncio.sleep(0.35)
    assert await survivor.take() == []
