"""Who is on a topic, and how many sockets subscribe to it, across every server process.

Two stores share one contract: MemoryPresenceStore for the embedded single process, and
RedisPresenceStore when REDIS_URL is set. Entries are keyed by user id and hold one meta
per connection (Phoenix.Presence's shape). Each process is a *node* that refreshes a
liveness key every EXPUSHER_PRESENCE_TTL_SECONDS / 6; when a node dies without cleaning up
(kill -9), any surviving node removes its entries once its liveness key has expired and
announces each removal exactly once (the removal is an atomic HDEL: only the node whose
HDEL succeeded announces it).
"""

import asyncio
import json
import logging
import uuid
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

NODE_ID = uuid.uuid4().hex[:16]  # this process
Members = dict[str, dict[str, list[dict[str, Any]]]]  # user_id -> {"metas": [...]}
OnReaped = Callable[[int, str, str, dict], Awaitable[None]]


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

    async def track(self, app_id: int, topic: str, conn_id: str, user_id: str, meta: dict):
        self.entries[app_id, topic][conn_id] = (user_id, meta)

    async def untrack(self, app_id: int, topic: str, conn_id: str) -> tuple[str, dict] | None:
        entries = self.entries.get((app_id, topic))
        found = entries.pop(conn_id, None) if entries is not None else None
        if entries is not None and not entries:
            del self.entries[app_id, topic]
        return found

    async def members(self, app_id: int, topic: str) -> Members:
        return _group(list(self.entries.get((app_id, topic), {}).values()))

    async def subscribed(self, app_id: int, topic: str, delta: int) -> None:
        key = (app_id, topic)
        self.subscriptions[key] += delta
        if self.subscriptions[key] <= 0:
            del self.subscriptions[key]

    async def subscription_counts(self, app_id: int) -> dict[str, int]:
        return {topic: n for (app, topic), n in self.subscriptions.items() if app == app_id}

    async def connected(self, app_id: int, delta: int) -> None:
        self.connections[app_id] += delta

    async def connection_count(self, app_id: int) -> int:
        return self.connections[app_id]

    async def start(self, on_reaped: OnReaped) -> None:
        """Nothing to announce or reap in a single process."""


class RedisPresenceStore:
    def __init__(self, url: str, prefix: str, ttl: int, node: str = NODE_ID) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url, decode_responses=True)
        self.node = node
        self.p = f"{prefix}:presence"
        self.ttl = ttl
        self._task: asyncio.Task | None = None
        self._alive = False

    # Keys
    def _topic(self, app_id: int, topic: str) -> str:
        return f"{self.p}:t:{app_id}:{topic}"

    def _node_entries(self, node: str) -> str:
        return f"{self.p}:n:{node}"

    def _node_subs(self, node: str) -> str:
        return f"{self.p}:s:{node}"

    def _node_connections(self, node: str) -> str:
        return f"{self.p}:c:{node}"

    async def track(self, app_id: int, topic: str, conn_id: str, user_id: str, meta: dict):
        value = json.dumps({"u": user_id, "m": meta})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._topic(app_id, topic), conn_id, value)
            pipe.sadd(self._node_entries(self.node), _entry(app_id, topic, conn_id))
            await pipe.execute()

    async def untrack(
        self, app_id: int, topic: str, conn_id: str, node: str | None = None
    ) -> tuple[str, dict] | None:
        """Remove an entry; return it only if this call removed it (atomic get-and-delete)."""
        key = self._topic(app_id, topic)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, conn_id)
            pipe.hdel(key, conn_id)
            pipe.srem(self._node_entries(node or self.node), _entry(app_id, topic, conn_id))
            value, deleted, _ = await pipe.execute()
        if not deleted or value is None:
            return None
        data = json.loads(value)
        return data["u"], data["m"]

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

    async def connected(self, app_id: int, delta: int) -> None:
        await self.redis.hincrby(self._node_connections(self.node), str(app_id), delta)

    async def connection_count(self, app_id: int) -> int:
        """Open connections of the application in every live process."""
        nodes = await self._live_nodes()
        counts = [await self.redis.hget(self._node_connections(n), str(app_id)) for n in nodes]
        return sum(int(c) for c in counts if c is not None)

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
