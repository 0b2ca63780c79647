"""Is a topic occupied, in any process? The one truth that channel_occupied and
channel_vacated webhooks (and the console) are told from, exactly once per transition.

A topic is *occupied* from its first subscriber in any process, whatever protocol it
speaks, and *vacated* once no process has one left for EXPUSHER_VACATE_DELAY_SECONDS (a
page reload unsubscribes and subscribes again within that time, and nothing is told).

With Redis, every change of a process's own subscription count (its `s:<node>` hash, which
realtime.presence keeps) moves a global count per topic in the same Lua script, so the
global count is always the sum of the live and not yet reaped processes' shares. The
script that moves a topic from 0 adds it to the `announced` set: only the caller whose
SADD succeeded tells OCCUPIED. One that brings it to 0 puts it in the `vacating` sorted set,
due after the delay; whichever process sweeps it first, if it is still at 0 then, removes
it from `announced` and tells VACATED (an atomic SREM: once). Reaping a dead process and
reconciliation rewrite its share through the same script, so a SIGKILLed process's topics
are vacated once, after the presence TTL. A topic that reconciliation brings back (Redis
restarted and lost everything) is marked announced silently: receivers were told it is
occupied, and nothing told them otherwise.
"""

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings

from realtime import notifications

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 500  # vacated topics told per sweep; the rest at the next one


@dataclass(frozen=True, slots=True)
class Change:
    count: int  # the topic's subscriptions in every process, after the change
    occupied: bool  # this change made the topic occupied (tell it)
    vacating: bool  # this change emptied it: a sweep after the delay may vacate it


def vacate_delay() -> float:
    return settings.EXPUSHER_VACATE_DELAY_SECONDS


class MemoryOccupancy:
    """One process's topics: the embedded mode."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str], int] = defaultdict(int)
        self.announced: set[tuple[int, str]] = set()
        self.vacating: dict[tuple[int, str], float] = {}  # -> when due (monotonic)

    async def change(self, app_id: int, topic: str, delta: int) -> Change:
        key = (app_id, topic)
        count = max(self.counts.get(key, 0) + delta, 0)
        if count:
            self.counts[key] = count
        else:
            self.counts.pop(key, None)
        if count and delta > 0 and key not in self.announced:
            self.announced.add(key)
            return Change(count, True, False)
        if not count and delta < 0 and key in self.announced:
            self.vacating[key] = time.monotonic() + vacate_delay()
            return Change(0, False, True)
        return Change(count, False, False)

    async def sweep(self) -> list[tuple[int, str]]:
        """The topics vacated now: due, still empty, and announced until this call."""
        now = time.monotonic()
        vacated = []
        for key, due in list(self.vacating.items()):
            if due <= now:
                del self.vacating[key]
                if not self.counts.get(key) and key in self.announced:
                    self.announced.discard(key)
                    vacated.append(key)
        return vacated


# Applies a change of one process's count to the topic's global count; KEYS are the
# global counts (hash), announced (set) and vacating (sorted set). Returns {count,
# occupied, vacating}; `announce` 0 marks a topic occupied without telling it.
_ADJUST = """
local function adjust(field, diff, delay, announce)
  if diff == 0 then
    return {tonumber(redis.call('HGET', KEYS[2], field) or '0'), 0, 0}
  end
  local total = redis.call('HINCRBY', KEYS[2], field, diff)
  if total <= 0 then
    redis.call('HDEL', KEYS[2], field)
    if diff < 0 and redis.call('SISMEMBER', KEYS[3], field) == 1 then
      local now = redis.call('TIME')
      redis.call('ZADD', KEYS[4], now[1] + now[2] / 1000000 + delay, field)
      return {0, 0, 1}
    end
    return {0, 0, 0}
  end
  if total == diff and redis.call('SADD', KEYS[3], field) == 1 then
    return {total, announce, 0}
  end
  return {total, 0, 0}
end
"""
# KEYS[1] is the process's own counts; ARGV: field, delta, delay.
_CHANGE = (
    _ADJUST
    + """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local new = math.max(old + tonumber(ARGV[2]), 0)
if new > 0 then redis.call('HSET', KEYS[1], ARGV[1], new)
else redis.call('HDEL', KEYS[1], ARGV[1]) end
return adjust(ARGV[1], new - old, tonumber(ARGV[3]), 1)
"""
)
# Replaces the process's own counts with ARGV[2..] (field, count pairs); ARGV[1]: delay.
# Returns how many topics it emptied.
_REWRITE = (
    _ADJUST
    + """
local diffs = {}
local old = redis.call('HGETALL', KEYS[1])
for i = 1, #old, 2 do diffs[old[i]] = -tonumber(old[i + 1]) end
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  if n > 0 then
    redis.call('HSET', KEYS[1], ARGV[i], n)
    diffs[ARGV[i]] = (diffs[ARGV[i]] or 0) + n
  end
end
local emptied = 0
for field, diff in pairs(diffs) do
  emptied = emptied + adjust(field, diff, tonumber(ARGV[1]), 0)[3]
end
return emptied
"""
)
# KEYS: global counts, announced, vacating; ARGV: limit. The fields vacated now.
_SWEEP = """
local now = redis.call('TIME')
now = now[1] + now[2] / 1000000
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ARGV[1])
local vacated = {}
for _, field in ipairs(due) do
  redis.call('ZREM', KEYS[3], field)
  if tonumber(redis.call('HGET', KEYS[1], field) or '0') <= 0
      and redis.call('SREM', KEYS[2], field) == 1 then
    table.insert(vacated, field)
  end
end
return vacated
"""


class RedisOccupancy:
    """Every process's topics, in Redis; realtime.presence.RedisPresenceStore drives it."""

    def __init__(self, redis, prefix: str) -> None:
        self.redis = redis
        self.keys = [f"{prefix}:occ", f"{prefix}:occ:announced", f"{prefix}:occ:vacating"]
        self._change = redis.register_script(_CHANGE)
        self._rewrite = redis.register_script(_REWRITE)
        self._sweep = redis.register_script(_SWEEP)

    async def change(self, own: str, field: str, delta: int) -> Change:
        """Move the count of `own` (a process's hash) for `field` by `delta`."""
        count, occupied, vacating = await self._change(
            keys=[own, *self.keys], args=[field, delta, vacate_delay()]
        )
        return Change(int(count), bool(occupied), bool(vacating))

    async def rewrite(self, own: str, counts: dict[str, int]) -> int:
        """Make `own` hold exactly `counts`; the number of topics this emptied."""
        args: list = [vacate_delay()]
        for field, n in counts.items():
            args += [field, n]
        return int(await self._rewrite(keys=[own, *self.keys], args=args))

    async def sweep(self) -> list[tuple[int, str]]:
        fields = await self._sweep(keys=self.keys, args=[SWEEP_LIMIT])
        vacated = []
        for field in fields:
            app_id, _, topic = field.partition("\x00")
            vacated.append((int(app_id), topic))
        return vacated


_sweeps: set[asyncio.Task] = set()


async def tell_vacated(occupancy: MemoryOccupancy | RedisOccupancy) -> None:
    """Tell VACATED for every topic due now (in whichever process sweeps first)."""
    for app_id, topic in await occupancy.sweep():
        notifications.notify(app_id, notifications.VACATED, topic=topic)


def vacate_later(occupancy: MemoryOccupancy | RedisOccupancy) -> None:
    """Sweep once the delay has passed (with Redis, every beat sweeps too: this is for
    promptness, the beat for the topics of a process that died meanwhile)."""

    def sweep() -> None:
        task = asyncio.ensure_future(_logged_sweep(occupancy))
        _sweeps.add(task)  # held until done: the loop keeps weak references
        task.add_done_callback(_sweeps.discard)

    asyncio.get_running_loop().call_later(vacate_delay() + 0.05, sweep)


async def _logged_sweep(occupancy: MemoryOccupancy | RedisOccupancy) -> None:
    try:
        await tell_vacated(occupancy)
    except Exception as e:
        logger.warning("cannot sweep vacated topics (the next beat does): %r", e)


def told(app_id: int, topic: str, change: Change, occupancy) -> None:
    """Tell what a change of a topic's subscriptions means."""
    if change.occupied:
        notifications.notify(app_id, notifications.OCCUPIED, topic=topic)
    if change.vacating:
        vacate_later(occupancy)
