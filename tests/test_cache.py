"""The Redis cache shares one client per process, whatever the thread or async context."""

import asyncio
import threading

from django.core.cache import caches

from expusher.cache import SharedRedisCache

CACHES = {
    "default": {
        "BACKEND": "expusher.cache.SharedRedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
        "KEY_PREFIX": "test-shared-cache",
    }
}


async def test_every_async_context_gets_the_same_redis_client(settings):
    settings.CACHES = CACHES

    async def client_of_this_context():
        return caches["default"]._cache

    tasks = [asyncio.create_task(client_of_this_context()) for _ in range(5)]
    clients = await asyncio.gather(*tasks)
    assert isinstance(caches["default"], SharedRedisCache)
    assert len({id(c) for c in clients}) == 1


def test_every_thread_gets_the_same_redis_client(settings):
    settings.CACHES = CACHES
    clients = []
    threads = [threading.Thread(target=lambda: clients.append(caches["default"]._cache))]
    threads.append(threading.Thread(target=lambda: clients.append(caches["default"]._cache)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clients[0] is clients[1]
