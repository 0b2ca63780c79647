"""Webhook events waiting to be sent, and batches waiting for their next attempt.

Events are queued per application; an application's first event opens a window of
EXPUSHER_WEBHOOK_BATCH_SECONDS, after which its queued events (up to MAX_EVENTS) become one
batch. A batch is taken for sending by one process only, and stays queued while it is
being sent: taking it pushes its due time a lease ahead (the POST's timeout and a margin),
so if the process dies mid-POST another one takes it when the lease runs out (at least
once). Sent, it is removed; failed, it is put back for its next attempt.

Two implementations with one contract: RedisWebhookQueue when REDIS_URL is set (what a
process queued survives it, and every process's worker takes from the same queues; each
step is one Lua script, so two processes never take the same batch), MemoryWebhookQueue
in the embedded mode.
"""

import heapq
import itertools
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from django.conf import settings

MAX_EVENTS = 100  # events per POST
TAKE_LIMIT = 20  # batches taken per call


@dataclass
class Batch:
    id: str
    app: int  # the application's primary key
    events: list[dict]
    since: float  # when it was first ready (epoch seconds): the retry budget counts from it
    attempts: int = 0  # attempts made so far
    urls: list[str] | None = None  # None: every URL of the application, as configured now
    raw: str = field(default="", compare=False, repr=False)  # as queued (Redis member)

    @classmethod
    def parse(cls, raw: str) -> "Batch":
        return cls(**json.loads(raw), raw=raw)

    def dumps(self) -> str:
        data = asdict(self)
        del data["raw"]
        return json.dumps(data, separators=(",", ":"))


def lease_seconds() -> float:
    return 2 * settings.EXPUSHER_WEBHOOK_TIMEOUT_SECONDS + 5


class MemoryWebhookQueue:
    def __init__(self) -> None:
        self.events: dict[int, list[dict]] = defaultdict(list)
        self.windows: dict[int, float] = {}  # app -> when its window closes
        self.due: list[tuple[float, int, Batch]] = []  # heap of (when, seq, batch)
        self.seq = itertools.count()

    async def push(self, app: int, events: list[dict]) -> None:
        self.events[app].extend(events)
        self.windows.setdefault(app, time.time() + settings.EXPUSHER_WEBHOOK_BATCH_SECONDS)

    async def take(self) -> list[Batch]:
        now = time.time()
        for app, closes in list(self.windows.items()):
            if closes <= now:
                events = self.events[app][:MAX_EVENTS]
                del self.events[app][:MAX_EVENTS]
                if self.events[app]:
                    self.windows[app] = now
                else:
                    del self.windows[app], self.events[app]
                seq = next(self.seq)
                heapq.heappush(self.due, (now, seq, Batch(str(seq), app, events, now)))
        taken = []
        while self.due and self.due[0][0] <= now and len(taken) < TAKE_LIMIT:
            taken.append(heapq.heappop(self.due)[2])
        return taken  # one process: nobody else to take them, no lease needed

    async def done(self, batch: Batch) -> None:
        pass

    async def retry(self, batch: Batch, again: Batch, at: float) -> None:
        heapq.heappush(self.due, (at, next(self.seq), again))


# KEYS: windows (zset app -> closes), batches (zset batch -> due), sequence, queue key
# prefix. ARGV: now, lease, max events, limit.
_TAKE = """
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local taken = {}
for _, app in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[4])) do
  local queue = KEYS[4] .. app
  local events = redis.call('LRANGE', queue, 0, tonumber(ARGV[3]) - 1)
  redis.call('LTRIM', queue, #events, -1)
  if redis.call('LLEN', queue) > 0 then redis.call('ZADD', KEYS[1], now, app)
  else redis.call('ZREM', KEYS[1], app) end
  if #events > 0 then
    local batch = '{"id":"' .. redis.call('INCR', KEYS[3]) .. '","app":' .. app
      .. ',"events":[' .. table.concat(events, ',') .. '],"since":' .. ARGV[1]
      .. ',"attempts":0,"urls":null}'
    redis.call('ZADD', KEYS[2], now + lease, batch)
    table.insert(taken, batch)
  end
end
for _, batch in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[4])) do
  redis.call('ZADD', KEYS[2], now + lease, batch)
  table.insert(taken, batch)
end
return taken
"""
# KEYS: windows, queue of the app. ARGV: app, events..., window closes at.
_PUSH = """
redis.call('RPUSH', KEYS[2], unpack(ARGV, 3))
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
"""


class RedisWebhookQueue:
    def __init__(self, redis, prefix: str) -> None:
        self.redis = redis
        p = f"{prefix}:webhooks"
        self.windows, self.batches, self.sequence, self.queue = (
            f"{p}:windows",
            f"{p}:batches",
            f"{p}:seq",
            f"{p}:q:",
        )
        self._take = redis.register_script(_TAKE)
        self._push = redis.register_script(_PUSH)

    async def push(self, app: int, events: list[dict]) -> None:
        closes = time.time() + settings.EXPUSHER_WEBHOOK_BATCH_SECONDS
        encoded = [json.dumps(event, separators=(",", ":")) for event in events]
        await self._push(keys=[self.windows, f"{self.queue}{app}"], args=[app, closes, *encoded])

    async def take(self) -> list[Batch]:
        keys = [self.windows, self.batches, self.sequence, self.queue]
        args = [repr(time.time()), lease_seconds(), MAX_EVENTS, TAKE_LIMIT]
        return [Batch.parse(raw) for raw in await self._take(keys=keys, args=args)]

    async def done(self, batch: Batch) -> None:
        await self.redis.zrem(self.batches, batch.raw)

    async def retry(self, batch: Batch, again: Batch, at: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.batches, batch.raw)
            pipe.zadd(self.batches, {again.dumps(): at})
            await pipe.execute()
