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

Nothing a process writes here depends on its cleanup succeeding: every
EXPUSHER_RECONCILE_SECONDS (and at once when Redis comes back after an outage or a restart)
each node rewrites its whole share (its connection counts, its topic subscription counts
and its presence entries) from the connections it really holds (`Share`). So an entry left
behind by a disconnect whose cleanup failed or was cancelled, or lost by a Redis restart,
is repaired within that period, and a member removed that way is announced once, like any
leave.

After a restart of Redis (which keeps nothing) the `ready` key is missing until every node
seen before has re-subscribed its groups (a probe through its own channel came back) and
rewritten its share; until then the HTTP triggers answer 503 (`check_ready`), since an
event published meanwhile would miss the subscribers of a node still reconnecting.

Cache topics (Pusher's `cache-` channels) keep their last event here too.
"""

import asyncio
import json
import logging
import time
import uuid
import weakref
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError

from realtime import occupancy
from realtime.stats import counts

logger = logging.getLogger(__name__)

NODE_ID = uuid.uuid4().hex[:16]  # this process
Members = dict[str, dict[str, list[dict[str, Any]]]]  # user_id -> {"metas": [...]}
Left = tuple[str, dict, bool]  # (user_id, meta, True if it was the user's last connection)
OnReaped = Callable[[int, str, str, dict, bool], Awaitable[None]]


@dataclass
class Share:
    """What one process holds, from its live connections: the truth its Redis share is
    rewritten to."""

    connections: Counter = field(default_factory=Counter)  # app_id -> open connections
    anonymous: Counter = field(default_factory=Counter)  # app_id -> those of them anonymous
    subscriptions: Counter = field(default_factory=Counter)  # (app_id, topic) -> sockets
    members: dict[tuple[int, str, str], tuple[str, dict]] = field(default_factory=dict)
    # ^ (app_id, topic, connection id) -> (user_id, meta)
    # The member a connection holds now, not when this was taken: (app_id, topic, id) ->
    # (user_id, meta), or None.
    member_now: Callable[[int, str, str], tuple[str, dict] | None] = lambda *key: None


GetShare = Callable[[], Share]


class NotReady(RedisConnectionError):
    """Redis came back empty and not every process has re-subscribed yet: retry shortly
    (a Redis error, so every HTTP API answers it as it answers Redis being down: 503)."""


def _group(entries: list[tuple[str, dict]]) -> Members:
    members: Members = {}
    for user_id, meta in entries:
        members.setdefault(user_id, {"metas": []})["metas"].append(meta)
    return members


class _NoLock:
    async def __aenter__(self) -> None:
        pass

    async def __aexit__(self, *exc_info) -> None:
        pass


class MemoryPresenceStore:
    """Everything in this process: right for the embedded mode, where a crash takes the
    whole state with it and there is nobody left to see ghosts."""

    share_lock = _NoLock()  # nothing to reconcile
    settled = True  # nothing to heal

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], dict[str, tuple[str, dict]]] = defaultdict(dict)
        self.occupancy = occupancy.MemoryOccupancy()
        self.subscriptions = self.occupancy.counts
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

    async def subscribed(self, app_id: int, topic: str, delta: int) -> occupancy.Change:
        """Count `delta` more subscriptions of the topic; tell it occupied or vacating."""
        change = await self.occupancy.change(app_id, topic, delta)
        occupancy.told(app_id, topic, change, self.occupancy)
        return change

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

    async def start(self, on_reaped: OnReaped | None = None, share: GetShare | None = None):
        """Nothing to announce or reap in a single process."""

    async def check_ready(self) -> None:
        """Always ready: nothing to reconnect to."""

    def leave_later(self, app_id: int, topic: str, conn_id: str, user_id: str, meta: dict):
        """Nothing fails here."""


# Track and untrack change the metas, the per-user connection count and the node's own
# list in one step, so that two processes racing on one user agree on first and last.
# Tracking an entry that is already there (the reconciliation re-added it first) changes
# no count.
_TRACK = """
redis.call('SADD', KEYS[3], ARGV[4])
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
end
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
    def __init__(
        self,
        url: str,
        prefix: str,
        ttl: int,
        node: str = NODE_ID,
        *,
        timeout: float = 2.0,
        reconcile_seconds: float = 5.0,
        pool_size: int = 50,
    ) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        # A bounded pool that waits for a free connection (the default one raises
        # MaxConnectionsError under a burst of connects and disconnects), timeouts so that
        # an unreachable Redis fails a call within `timeout` instead of hanging it, and
        # few quick retries so that a refused connection fails fast too.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=pool_size,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        )
        self.redis = redis.Redis(connection_pool=pool)
        self.node = node
        self.p = f"{prefix}:presence"
        self.ttl = ttl
        self.reconcile_seconds = reconcile_seconds
        self._task: asyncio.Task | None = None
        self._alive = False
        self._on_reaped: OnReaped | None = None
        self._share: GetShare | None = None
        self._healthy = False  # the last beat reached Redis and rewrote the share
        self._reachable = True  # the last heartbeat reached Redis
        # Held while a process's own counts change here and in Redis (connect, subscribe
        # and their reverse) and while reconciliation reads them and rewrites Redis: so
        # an increment is never lost under, nor counted twice over, a rewrite.
        self.share_lock = asyncio.Lock()
        # Members whose connection left while Redis was unreachable: (app_id, topic,
        # connection id, user_id, meta), announced when it is back.
        self._leaves_due: list[tuple[int, str, str, str, dict]] = []
        self._known: dict[str, float] = {}  # live nodes seen -> when last seen alive
        self._track = self.redis.register_script(_TRACK)
        self._untrack = self.redis.register_script(_UNTRACK)
        self.occupancy = occupancy.RedisOccupancy(self.redis, self.p)

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

    def _check_reachable(self) -> None:
        # Called under share_lock: while Redis is away, fail at once rather than make
        # every connect and disconnect wait for a timeout in turn (reconciliation repairs
        # the counts when it is back).
        if not self._reachable:
            raise RedisConnectionError("Redis is unreachable")

    async def subscribed(self, app_id: int, topic: str, delta: int) -> occupancy.Change:
        """Count `delta` more subscriptions of the topic in this node's share (and in the
        topic's global count); tell it occupied or vacating."""
        self._check_reachable()
        change = await self.occupancy.change(
            self._node_subs(self.node), _entry(app_id, topic), delta
        )
        occupancy.told(app_id, topic, change, self.occupancy)
        return change

    async def subscription_counts(self, app_id: int) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        prefix = f"{app_id}\x00"
        for node in await self._live_nodes():
            for key, n in (await self.redis.hgetall(self._node_subs(node))).items():
                if key.startswith(prefix) and int(n) > 0:
                    counts[key[len(prefix) :]] += int(n)
        return dict(counts)

    async def cache_set(self, app_id: int, topic: str, event: dict, ttl: int) -> None:
        await self.redis.set(self._cache(app_id, topic), json.dumps(event), ex=ttl)

    async def cache_get(self, app_id: int, topic: str) -> dict | None:
        value = await self.redis.get(self._cache(app_id, topic))
        return json.loads(value) if value is not None else None

    async def connected(self, app_id: int, delta: int, anonymous: int = 0) -> None:
        """Count `delta` more connections of the application, `anonymous` more anonymous
        (this node's share, in one hash: a dead node's share goes with it)."""
        self._check_reachable()
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

    async def start(self, on_reaped: OnReaped | None = None, share: GetShare | None = None):
        """Announce this node, then keep it alive, its share true and dead nodes reaped,
        in the background.

        `on_reaped` announces a removed member's leave; `share` tells what this process
        holds. The first heartbeat is awaited so that a process counts as alive (its
        connections and subscriptions counted) from its very first connection.
        """
        self._on_reaped = self._on_reaped or on_reaped
        self._share = self._share or share
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._beat())
        if not self._alive:
            await self.heartbeat()

    async def heartbeat(self) -> None:
        # The key outlives several missed beats, and key expiry plus one beat stays
        # within the promised TTL: 2/3 T + T/6 < T.
        await self.redis.set(f"{self.p}:alive:{self.node}", "1", ex=max(int(self.ttl * 2 / 3), 1))
        await self.redis.sadd(f"{self.p}:nodes", self.node)
        self._alive = self._reachable = True

    def _period(self) -> float:
        return max(min(self.ttl / 6, self.reconcile_seconds), 0.2)

    async def _beat(self) -> None:
        from realtime.hub import get_hub  # the hub imports nothing from here

        hub = get_hub()
        while True:
            synced = False
            try:
                synced = await self._beat_once(hub)
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._healthy:
                    logger.warning("presence heartbeat failed", exc_info=True)
                counts.broker_error("presence")
                self._reachable = False
            self._healthy = synced
            # While Redis is away or this process is not re-subscribed yet, look again
            # soon: healing starts as soon as Redis is back.
            await asyncio.sleep(self._period() if synced else 0.25)

    async def _beat_once(self, hub) -> bool:
        """Stay alive, rewrite this node's share, reap dead nodes; True if this process's
        channel also receives (then it counts as re-subscribed)."""
        await self.heartbeat()
        if self._share is not None:
            await self.reconcile(self._share)
        if self._on_reaped is not None:
            await self.reap(self._on_reaped)
        await occupancy.tell_vacated(self.occupancy)  # also those of processes gone since
        synced = await hub.probe(timeout=2.0)
        if synced:
            ttl = max(int(self.ttl * 2 / 3), 1)
            await self.redis.set(f"{self.p}:synced:{self.node}", "1", ex=ttl)
        elif not self._healthy:
            # Back from an outage that did not empty Redis, and not re-subscribed yet:
            # hold the triggers back until this process receives again.
            await self.redis.delete(f"{self.p}:ready")
        await self._mark_ready()
        # Leaves held back during an outage go out once every process receives again
        # (a process not yet re-subscribed would miss them) and after the reconciliation
        # (a user's other connections are back in Redis by then).
        if await self.redis.exists(f"{self.p}:ready"):
            await self._announce_leaves_due()
        return synced

    async def _mark_ready(self) -> None:
        """Set `ready` once every node seen alive before (less those gone for longer than
        the TTL, which are dead) has re-subscribed and rewritten its share."""
        now = time.monotonic()
        nodes = sorted(await self.redis.smembers(f"{self.p}:nodes"))
        synced = await self.redis.mget([f"{self.p}:synced:{n}" for n in nodes]) if nodes else []
        for node, mark in zip(nodes, synced, strict=True):
            if mark is not None:
                self._known[node] = now
        self._known = {n: t for n, t in self._known.items() if now - t < self.ttl}
        if await self.redis.exists(f"{self.p}:ready"):
            return
        waiting = [n for n, t in self._known.items() if t < now]
        if not waiting:
            await self.redis.set(f"{self.p}:ready", "1")
        else:
            logger.info("waiting for %d processes to re-subscribe", len(waiting))

    async def check_ready(self) -> None:
        """Raise NotReady while Redis, back from a restart, does not reach every process's
        subscribers yet (or redis' own errors while it is unreachable)."""
        if self._task is None:
            await self.start()
        if await self.redis.exists(f"{self.p}:ready"):
            return
        await self._mark_ready()  # a fresh Redis, before any beat: nobody to wait for
        if not await self.redis.exists(f"{self.p}:ready"):
            raise NotReady("Redis is back; processes are still re-subscribing")

    @property
    def settled(self) -> bool:
        """Has the last beat reached Redis, rewritten this share and found it re-subscribed?
        (If not, an entry missing from Redis may have been lost by a restart.)"""
        return self._healthy

    def leave_later(self, app_id: int, topic: str, conn_id: str, user_id: str, meta: dict):
        """Announce this member's leave when Redis is back (its untrack failed)."""
        self._leaves_due.append((app_id, topic, conn_id, user_id, meta))

    async def _announce_leaves_due(self) -> None:
        while self._leaves_due and self._on_reaped is not None:
            app_id, topic, conn_id, user_id, meta = self._leaves_due[0]
            left = await self.untrack(app_id, topic, conn_id)
            if left is None:  # Redis lost it (a restart): was it the user's last?
                others = await self.redis.hget(self._users(app_id, topic), user_id)
                left = (user_id, meta, not others or int(others) <= 0)
            await self._on_reaped(app_id, topic, *left)
            self._leaves_due.pop(0)

    async def reconcile(self, share_of: GetShare) -> None:
        """Rewrite this node's counts and presence entries from what it really holds.

        Members it holds no more (a cleanup that failed or was cancelled) are removed and
        their leave announced once; members Redis lost (a restart) are put back silently,
        since their clients never saw them leave.

        Redis is read before the process's share is taken, and each member is looked at
        again just before it is changed: a member counted as held in Redis but not yet in
        the share would be one whose join is still under way, and removing it would
        announce its leave before its join.
        """
        held = await self.redis.smembers(self._node_entries(self.node))
        async with self.share_lock:
            share = share_of()
            counts = {str(app): n for app, n in share.connections.items() if n > 0}
            counts.update({_anonymous(app): n for app, n in share.anonymous.items() if n > 0})
            subs = {_entry(app, t): n for (app, t), n in share.subscriptions.items() if n}
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._node_connections(self.node))
                if counts:
                    pipe.hset(self._node_connections(self.node), mapping=counts)
                await pipe.execute()
            if await self.occupancy.rewrite(self._node_subs(self.node), subs):
                occupancy.vacate_later(self.occupancy)
        wanted = {_entry(*key) for key in share.members}
        due = {_entry(app, topic, conn) for app, topic, conn, *_ in self._leaves_due}
        for entry in held - wanted - due:
            app_id, topic, conn_id = entry.split("\x00")
            if share.member_now(int(app_id), topic, conn_id) is not None:
                continue  # joined again meanwhile
            left = await self.untrack(int(app_id), topic, conn_id)
            if left is not None and self._on_reaped is not None:
                await self._on_reaped(int(app_id), topic, *left)
        for entry in wanted - held:
            app_id, topic, conn_id = entry.split("\x00")
            member = share.member_now(int(app_id), topic, conn_id)
            if member is not None:  # else it left meanwhile
                await self.track(int(app_id), topic, conn_id, *member)

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
            # Its topics leave the global counts once (the rewrite empties its share).
            if await self.occupancy.rewrite(self._node_subs(node), {}):
                occupancy.vacate_later(self.occupancy)
            await self.redis.delete(self._node_entries(node), self._node_connections(node))
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
            timeout=settings.EXPUSHER_REDIS_TIMEOUT_SECONDS,
            reconcile_seconds=settings.EXPUSHER_RECONCILE_SECONDS,
        )
    return store
