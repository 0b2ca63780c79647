"""Who is on a topic, and how many sockets subscribe to it, across every server process.

Two stores share one contract: MemoryPresenceStore for the embedded single process, and
RedisPresenceStore when REDIS_URL is set. Entries are keyed by user id and hold one meta
per connection (Phoenix.Presence's shape). Each process is a *node* that refreshes a
liveness key every EXPUSHER_PRESENCE_TTL_SECONDS / 6; when a node dies without cleaning up
(kill -9), any surviving node removes its entries once its liveness key has expired and
announces each removal exactly once (the removal is an atomic HDEL: only the node whose
HDEL succeeded announces it).

Besides the metas, each topic counts connections per user, atomically with them, so
`track` can say whether a connection is its user's first on the topic and `untrack`
whether it was the last: Pusher announces members (once per user id), Phoenix
connections, and both read the same truth.

Cache topics (Pusher's `cache-` channels) keep their last event here too.
"""

import asyncio
import json
import logging
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

NODE_ID = uuid.uuid4().hex[:16]  # this process
Members = dict[str, dict[str, list[dict[str, Any]]]]  # user_id -> {"metas": [...]}
Left = tuple[str, dict, bool]  # (user_id, meta, True if it was the user's last connection)
OnReaped = Callable[[int, str, str, dict, bool], Awaitable[None]]


def _group(entries: list[tuple[str, dict]]) -> Members:
    members: Members = {}
    for user_id, meta in entries:
        members.setdefault(user_id, {"metas": []})["metas"].append(meta)
    return members


class MemoryPresenceStore:
    """Everything in this process: right for the embedded mode, where a crash takes the
    whole state with it and there is nobody left to see ghosts."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], dict[str, tuple[str, dict]]] = defaultdict(dict)
        self.subscriptions: dict[tuple[int, str], int] = defaultdict(int)
        self.connections: dict[int, int] = defaultdict(int)
        self.anonymous_connections: dict[int, int] = defaultdict(int)
        self.cached: dict[tuple[int, str], tuple[float, dict]] = {}

    async def track(self, app_id: int, topic: str, conn_id: str, user_id: str, meta: dict):
        """Add a connection's meta; True if it is the user's first connection on the topic."""
        entries = self.entries[app_id, topic]
        first = all(user != user_id for user, _ in entries.values())
        entries[conn_id] = (user_id, meta)
        return first

    async def untrack(self, app_id: int, topic: str, conn_id: str) -> Left | None:
        entries = self.entries.get((app_id, topic))
        found = entries.pop(conn_id, None) if entries is not None else None
        if entries is not None and not entries:
            del self.entries[app_id, topic]
        if found is None:
            return None
        user_id, meta = found
        last = all(user != user_id for user, _ in (entries or {}).values())
        return user_id, meta, last

    async def members(self, app_id: int, topic: str) -> Members:
        return _group(list(self.entries.get((app_id, topic), {}).values()))

    async def subscribed(self, app_id: int, topic: str, delta: int) -> None:
        key = (app_id, topic)
        self.subscriptions[key] += delta
        if self.subscriptions[key] <= 0:
            del self.subscriptions[key]

    async def subscription_counts(self, app_id: int) -> dict[str, int]:
        return {topic: n for (app, topic), n in self.subscriptions.items() if app == app_id}

    async def connected(self, app_id: int, delta: int, anonymous: int = 0) -> None:
        """Count `delta` more connections of the application, `anonymous` more anonymous."""
        self.connections[app_id] += delta
        self.anonymous_connections[app_id] += anonymous

    async def connection_counts(self, app_id: int) -> tuple[int, int]:
        """Open connections of the application, and how many of them are anonymous."""
        return self.connections[app_id], self.anonymous_connections[app_id]

    async def cache_set(self, app_id: int, topic: str, event: dict, ttl: int) -> None:
        self.cached[app_id, topic] = (time.monotonic() + ttl, event)

    async def cache_get(self, app_id: int, topic: str) -> dict | None:
        expires, event = self.cached.get((app_id, topic), (0.0, None))
        return event if expires > time.monotonic() else None

    async def start(self, on_reaped: OnReaped) -> None:
        """Nothing to announce or reap in a single process."""


# Track and untrack change the metas, the per-user connection count and the node's own
# list in one step, so that two processes racing on one user agree on first and last.
_TRACK = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
return redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
"""
_UNTRACK = """
redis.call('SREM', KEYS[3], ARGV[2])
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
local user = cjson.decode(value)['u']
local left = redis.call('HINCRBY', KEYS[2], user, -1)
if left <= 0 then redis.call('HDEL', KEYS[2], user) end
return {value, left}
"""


class RedisPresenceStore:
    def __init__(self, url: str, prefix: str, ttl: int, node: str = NODE_ID) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url, decode_responses=True)
        self.node = node
        self.p = f"{prefix}:presence"
        self.ttl = ttl
        self._task: asyncio.Task | None = None
        self._alive = False
        self._track = self.redis.register_script(_TRACK)
        self._untrack = self.redis.register_script(_UNTRACK)

    # Keys
    def _topic(self, app_id: int, topic: str) -> str:
        return f"{self.p}:t:{app_id}:{topic}"

    def _node_entries(self, node: str) -> str:
        return f"{self.p}:n:{node}"

    def _node_subs(self, node: str) -> str:
        return f"{self.p}:s:{node}"

    def _node_connections(self, node: str) -> str:
        return f"{self.p}:c:{node}"

    def _users(self, app_id: int, topic: str) -> str:
        return f"{self.p}:u:{app_id}:{topic}"

    def _cache(self, app_id: int, topic: str) -> str:
        return f"{self.p}:cache:{app_id}:{topic}"

    async def track(self, app_id: int, topic: str, conn_id: str, user_id: str, meta: dict):
        """Add a connection's meta; True if it is the user's first connection on the topic."""
        value = json.dumps({"u": user_id, "m": meta})
        keys = [
            self._topic(app_id, topic),
            self._users(app_id, topic),
            self._node_entries(self.node),
        ]
        count = await self._track(
            keys=keys, args=[conn_id, value, user_id, _entry(app_id, topic, conn_id)]
        )
        return int(count) == 1

    async def untrack(
        self, app_id: int, topic: str, conn_id: str, node: str | None = None
    ) -> Left | None:
        """Remove an entry; return it only if this call removed it (atomic get-and-delete)."""
        keys = [
            self._topic(app_id, topic),
            self._users(app_id, topic),
            self._node_entries(node or self.node),
        ]
        found = await self._untrack(keys=keys, args=[conn_id, _entry(app_id, topic, conn_id)])
        if not found:
            return None
        data = json.loads(found[0])
        return data["u"], data["m"], int(found[1]) <= 0

    async def members(self, app_id: int, topic: str) -> Members:
        values = await self.redis.hvals(self._topic(app_id, topic))
        return _group([(d["u"], d["m"]) for d in map(json.loads, values)])

    async def subscribed(self, app_id: int, topic: str, delta: int) -> None:
        field = _entry(app_id, topic)
        key = self._node_subs(self.node)
        if await self.redis.hincrby(key, field, delta) <= 0:
            await self.redis.hdel(key, field)

    async def subscription_counts(self, app_id: int) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        prefix = f"{app_id}\x00"
        for node in await self._live_nodes():
            for field, n in (await self.redis.hgetall(self._node_subs(node))).items():
                if field.startswith(prefix) and int(n) > 0:
                    counts[field[len(prefix) :]] += int(n)
        return dict(counts)

    async def cache_set(self, app_id: int, topic: str, event: dict, ttl: int) -> None:
        await self.redis.set(self._cache(app_id, topic), json.dumps(event), ex=ttl)

    async def cache_get(self, app_id: int, topic: str) -> dict | None:
        value = await self.redis.get(self._cache(app_id, topic))
        return json.loads(value) if value is not None else None

    async def connected(self, app_id: int, delta: int, anonymous: int = 0) -> None:
        """Count `delta` more connections of the application, `anonymous` more anonymous
        (this node's share, in one hash: a dead node's share goes with it)."""
        key = self._node_connections(self.node)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, str(app_id), delta)
            pipe.hincrby(key, _anonymous(app_id), anonymous)
            await pipe.execute()

    async def connection_counts(self, app_id: int) -> tuple[int, int]:
        """Open connections of the application in every live process, and how many of
        them are anonymous."""
        total = anonymous = 0
        for node in await self._live_nodes():
            fields = (str(app_id), _anonymous(app_id))
            counts = await self.redis.hmget(self._node_connections(node), fields)
            total += int(counts[0] or 0)
            anonymous += int(counts[1] or 0)
        return total, anonymous

    async def _live_nodes(self) -> list[str]:
        nodes = sorted(await self.redis.smembers(f"{self.p}:nodes"))
        if not nodes:
            return []
        alive = await self.redis.mget([f"{self.p}:alive:{n}" for n in nodes])
        return [n for n, a in zip(nodes, alive, strict=True) if a is not None]

    async def start(self, on_reaped: OnReaped) -> None:
        """Announce this node, then keep it alive and reap dead ones in the background.

        The first heartbeat is awaited so that a process counts as alive (its
        connections and subscriptions counted) from its very first connection.
        """
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._beat(on_reaped))
        if not self._alive:
            await self.heartbeat()

    async def heartbeat(self) -> None:
        # The key outlives several missed beats, and key expiry plus one beat stays
        # within the promised TTL: 2/3 T + T/6 < T.
        await self.redis.set(f"{self.p}:alive:{self.node}", "1", ex=max(int(self.ttl * 2 / 3), 1))
        await self.redis.sadd(f"{self.p}:nodes", self.node)
        self._alive = True

    async def _beat(self, on_reaped: OnReaped) -> None:
        while True:
            try:
                await self.heartbeat()
                await self.reap(on_reaped)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("presence heartbeat failed", exc_info=True)
            await asyncio.sleep(max(self.ttl / 6, 0.2))

    async def reap(self, on_reaped: OnReaped) -> None:
        """Remove the entries of nodes whose liveness key expired; announce each once."""
        nodes = await self.redis.smembers(f"{self.p}:nodes")
        for node in nodes:
            if node == self.node or await self.redis.exists(f"{self.p}:alive:{node}"):
                continue
            claim = await self.redis.set(f"{self.p}:reaping:{node}", self.node, nx=True, ex=30)
            if not claim:
                continue  # another node is reaping it
            for entry in await self.redis.smembers(self._node_entries(node)):
                app_id, topic, conn_id = entry.split("\x00")
                left = await self.untrack(int(app_id), topic, conn_id, node=node)
                if left is not None:
                    await on_reaped(int(app_id), topic, *left)
            await self.redis.delete(
                self._node_entries(node), self._node_subs(node), self._node_connections(node)
            )
            await self.redis.srem(f"{self.p}:nodes", node)


def _anonymous(app_id: int) -> str:
    return f"{app_id}:anonymous"


def _entry(app_id: int, topic: str, conn_id: str | None = None) -> str:
    return f"{app_id}\x00{topic}" + (f"\x00{conn_id}" if conn_id is not None else "")


_memory = MemoryPresenceStore()
_redis_stores: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisPresenceStore]" = (
    weakref.WeakKeyDictionary()
)


def reset_memory_store() -> None:
    """Forget the embedded store's state (tests start each case from nothing)."""
    global _memory
    _memory = MemoryPresenceStore()


def get_presence() -> MemoryPresenceStore | RedisPresenceStore:
    """The store for this process: Redis when configured (one client per event loop)."""
    if not settings.REDIS_URL:
        return _memory
    loop = asyncio.get_running_loop()
    store = _redis_stores.get(loop)
    if store is None:
        store = _redis_stores[loop] = RedisPresenceStore(
            settings.REDIS_URL,
            settings.EXPUSHER_REDIS_PREFIX,
            settings.EXPUSHER_PRESENCE_TTL_SECONDS,
        )
    return store
