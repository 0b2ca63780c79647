"""Which applications have a debug console open, in this process or any other.

A console opened in this process is known here at once. With REDIS_URL, every open
console also keeps an entry in one Redis sorted set (member `<app_id>:<console id>`,
score: the time it expires), refreshed every REFRESH_SECONDS while it is open and
removed when it closes; each process reads the set every POLL_SECONDS. So a process
hears of a console opened elsewhere within POLL_SECONDS, and forgets the console of a
process that died within TTL_SECONDS. The read is one pipelined Redis call, off the
message path; the listener only looks the application up in a frozenset.

Whoever forwards notices (realtime.console.forward) is told each time the set changes:
it listens to notifications only while the set is not empty, so while no console is
open anywhere the message path pays nothing for the console.
"""

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Callable

from django.conf import settings

from realtime.presence import get_presence

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
REFRESH_SECONDS = 5.0
TTL_SECONDS = 15.0

_local: Counter[int] = Counter()  # app id -> consoles open in this process
_elsewhere: frozenset[int] = frozenset()  # app ids with a console open, as Redis says
open_apps: frozenset[int] = frozenset()  # the union: read by the listener
_changed: list[Callable[[frozenset[int]], None]] = []
_polling: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()


def when_changed(callback: Callable[[frozenset[int]], None]) -> None:
    """Call `callback(open_apps)` each time the set of applications changes."""
    _changed.append(callback)


def _update() -> None:
    global open_apps
    now_open = frozenset(app_id for app_id, n in _local.items() if n > 0) | _elsewhere
    if now_open != open_apps:
        open_apps = now_open
        for callback in _changed:
            callback(now_open)


def _key() -> str:
    return f"{settings.EXPUSHER_REDIS_PREFIX}:console"


class console_open:  # noqa: N801 (used as `async with console_open(app_id):`)
    """Mark a console of `app_id` open for as long as the block runs. With Redis,
    entering takes POLL_SECONDS: until every process has heard of the console.

    A class rather than a generator: a console's stream may be closed by cancellation
    or by the event loop finalizing it, and each must end the block exactly once.
    """

    def __init__(self, app_id: int):
        self.app_id = app_id
        self.member = f"{app_id}:{uuid.uuid4().hex}"
        self.refresher: asyncio.Task | None = None

    async def __aenter__(self) -> None:
        _local[self.app_id] += 1
        _update()
        if settings.REDIS_URL:
            await _announce(self.member)
            self.refresher = asyncio.get_running_loop().create_task(_keep_entry(self.member))
            # Every other process reads the set within POLL_SECONDS: then the console
            # misses nothing of theirs either.
            await asyncio.sleep(POLL_SECONDS + 0.1)

    async def __aexit__(self, *exc_info) -> None:
        _local[self.app_id] -= 1
        if _local[self.app_id] <= 0:
            del _local[self.app_id]
        _update()
        if self.refresher is not None:
            self.refresher.cancel()
            with contextlib.suppress(Exception):
                await get_presence().redis.zrem(_key(), self.member)


async def _announce(member: str) -> None:
    try:
        await get_presence().redis.zadd(_key(), {member: time.time() + TTL_SECONDS})
    except Exception as e:
        logger.warning("console: cannot announce an open console: %r", e)


async def _keep_entry(member: str) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        await _announce(member)


def start_polling() -> None:
    """Follow the consoles of other processes (with Redis; one task per event loop)."""
    if not settings.REDIS_URL:
        return
    loop = asyncio.get_running_loop()
    if loop not in _polling:
        _polling.add(loop)
        loop.create_task(_poll())


async def _poll() -> None:
    global _elsewhere
    redis = get_presence().redis
    while True:
        try:
            now = time.time()
            async with redis.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(_key(), "-inf", now)
                pipe.zrangebyscore(_key(), now, "+inf")
                _, members = await pipe.execute()
            _elsewhere = frozenset(int(member.split(":", 1)[0]) for member in members)
            _update()
        except Exception as e:
            # Redis away: keep what was known; its consoles' entries will say again.
            logger.debug("console: cannot read the open consoles: %r", e)
        await asyncio.sleep(POLL_SECONDS)
