"""Per-minute and per-day figures of each application, shared by every server process.

Two stores share one contract, as presence does: RedisStatsStore when REDIS_URL is set
(each process adds what it counted, so the figures span processes), MemoryStatsStore for
the embedded single process. Minutes are kept for a day and an hour, days for 32 days;
days are UTC days. Besides the counts of realtime.stats.counts, a minute keeps the most
connections seen open in it (CONNECTIONS) and a day its peak (PEAK_CONNECTIONS): both are
maxima of samples, across processes, never sums.
"""

import asyncio
import time
import weakref
from collections import Counter, defaultdict

from django.conf import settings

from realtime.presence import get_presence

CONNECTIONS = "connections"
PEAK_CONNECTIONS = "peak_connections"
MINUTE_TTL_SECONDS = 25 * 3600
DAY_TTL_SECONDS = 32 * 86400

Figures = dict[str, int]


def minute_now() -> int:
    return int(time.time() // 60)


def day_of(minute: int) -> str:
    """The UTC day of a minute, as YYYYMMDD."""
    return time.strftime("%Y%m%d", time.gmtime(minute * 60))


def days_back(minute: int, count: int) -> list[str]:
    """The `count` UTC days up to the one of `minute`, oldest first."""
    return [day_of(minute - 1440 * back) for back in range(count - 1, -1, -1)]


class MemoryStatsStore:
    def __init__(self) -> None:
        self._minutes: dict[tuple[int, int], Counter] = defaultdict(Counter)
        self._days: dict[tuple[int, str], Counter] = defaultdict(Counter)
        self._pruned = 0  # the minute of the last pruning

    async def add(self, minute: int, counted: dict[int, Figures]) -> None:
        day = day_of(minute)
        for app_id, figures in counted.items():
            self._minutes[app_id, minute].update(figures)
            self._days[app_id, day].update(figures)
        self._forget_before(minute)

    async def sample_connections(self, minute: int, open_now: dict[int, int]) -> None:
        day = day_of(minute)
        for app_id, n in open_now.items():
            _raise_to(self._minutes[app_id, minute], CONNECTIONS, n)
            _raise_to(self._days[app_id, day], PEAK_CONNECTIONS, n)

    async def minutes(self, app_id: int, first: int, last: int) -> dict[int, Figures]:
        found = {}
        for minute in range(first, last + 1):
            figures = self._minutes.get((app_id, minute))
            if figures:
                found[minute] = dict(figures)
        return found

    async def days(self, app_ids: list[int], days: list[str]) -> dict[int, dict[str, Figures]]:
        return {
            app_id: {day: dict(self._days.get((app_id, day), {})) for day in days}
            for app_id in app_ids
        }

    async def minutes_and_day(
        self, app_id: int, first: int, last: int, day: str
    ) -> tuple[dict[int, Figures], Figures]:
        """minutes() and the day's figures, read with no flush in between."""
        found = {}
        for minute in range(first, last + 1):
            figures = self._minutes.get((app_id, minute))
            if figures:
                found[minute] = dict(figures)
        return found, dict(self._days.get((app_id, day), {}))

    def _forget_before(self, minute: int) -> None:
        """Drop what Redis would have expired (once a minute: it walks every key)."""
        if minute == self._pruned:
            return
        self._pruned = minute
        oldest_minute = minute - MINUTE_TTL_SECONDS // 60
        for key in [k for k in self._minutes if k[1] < oldest_minute]:
            del self._minutes[key]
        oldest_day = day_of(minute - DAY_TTL_SECONDS // 60)
        for key in [k for k in self._days if k[1] < oldest_day]:
            del self._days[key]


def _raise_to(figures: Counter, name: str, value: int) -> None:
    if value > figures[name]:
        figures[name] = value


# HSET the field to the value if that is more than it holds; keep the key TTL seconds.
_RAISE_TO = """
local now = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > now then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""


class RedisStatsStore:
    """One hash per application and minute, one per application and day, with a TTL."""

    def __init__(self, redis, prefix: str) -> None:
        self.redis = redis
        self.p = f"{prefix}:stats"
        self._raise_to = redis.register_script(_RAISE_TO)

    def _minute(self, app_id: int, minute: int) -> str:
        return f"{self.p}:{app_id}:m:{minute}"

    def _day(self, app_id: int, day: str) -> str:
        return f"{self.p}:{app_id}:d:{day}"

    async def add(self, minute: int, counted: dict[int, Figures]) -> None:
        day = day_of(minute)
        # One transaction: a reader sees a flush in the minutes and the day, or in neither.
        async with self.redis.pipeline(transaction=True) as pipe:
            for app_id, figures in counted.items():
                for key, ttl in (
                    (self._minute(app_id, minute), MINUTE_TTL_SECONDS),
                    (self._day(app_id, day), DAY_TTL_SECONDS),
                ):
                    for name, n in figures.items():
                        pipe.hincrby(key, name, n)
                    pipe.expire(key, ttl)
            await pipe.execute()

    async def sample_connections(self, minute: int, open_now: dict[int, int]) -> None:
        day = day_of(minute)
        async with self.redis.pipeline(transaction=False) as pipe:
            for app_id, n in open_now.items():
                keys = [self._minute(app_id, minute)]
                await self._raise_to(keys, [CONNECTIONS, n, MINUTE_TTL_SECONDS], client=pipe)
                keys = [self._day(app_id, day)]
                await self._raise_to(keys, [PEAK_CONNECTIONS, n, DAY_TTL_SECONDS], client=pipe)
            await pipe.execute()

    async def minutes(self, app_id: int, first: int, last: int) -> dict[int, Figures]:
        span = range(first, last + 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for minute in span:
                pipe.hgetall(self._minute(app_id, minute))
            found = await pipe.execute()
        return {m: _ints(f) for m, f in zip(span, found, strict=True) if f}

    async def minutes_and_day(
        self, app_id: int, first: int, last: int, day: str
    ) -> tuple[dict[int, Figures], Figures]:
        """minutes() and the day's figures, read in one transaction (see add)."""
        span = range(first, last + 1)
        async with self.redis.pipeline(transaction=True) as pipe:
            for minute in span:
                pipe.hgetall(self._minute(app_id, minute))
            pipe.hgetall(self._day(app_id, day))
            *found, today = await pipe.execute()
        minutes = {m: _ints(f) for m, f in zip(span, found, strict=True) if f}
        return minutes, _ints(today)

    async def days(self, app_ids: list[int], days: list[str]) -> dict[int, dict[str, Figures]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for app_id in app_ids:
                for day in days:
                    pipe.hgetall(self._day(app_id, day))
            found = iter(await pipe.execute())
        return {app_id: {day: _ints(next(found)) for day in days} for app_id in app_ids}


def _ints(figures: dict) -> Figures:
    return {name: int(n) for name, n in figures.items()}


_memory = MemoryStatsStore()
_redis_stores: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisStatsStore]" = (
    weakref.WeakKeyDictionary()
)


def reset_memory_store() -> None:
    """Forget the embedded store's figures (tests start each case from nothing)."""
    global _memory
    _memory = MemoryStatsStore()


def get_stats_store() -> MemoryStatsStore | RedisStatsStore:
    """The store of this process: Redis when configured, through the presence store's
    connections (one pool per event loop)."""
    if not settings.REDIS_URL:
        return _memory
    loop = asyncio.get_running_loop()
    store = _redis_stores.get(loop)
    if store is None:
        presence = get_presence()
        store = _redis_stores[loop] = RedisStatsStore(
            presence.redis, settings.EXPUSHER_REDIS_PREFIX
        )
    return store
