"""Process-local memos with a short lifetime, in front of Django's cache.

With REDIS_URL, Django's cache is a synchronous network round trip per call: on an event
loop it blocks every socket of the process, and from a worker thread it costs a thread hop
each way. The async paths (the REST triggers in api.fast_triggers) therefore remember each
answer in this process for a moment (at most a second, and never longer than the setting
that bounds the shared entry), so a warm call makes neither. A miss goes to a worker
thread, which asks Django's cache and, if that misses too, the database.

A call in the last quarter of an answer's life also fetches its successor, in the
background: under steady traffic no call waits for a worker thread, nor for the database
query that follows each expiry of the shared entry (several milliseconds on SQLite, which
opens a connection for it). No answer is served past its second.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Hashable

from channels.db import database_sync_to_async

logger = logging.getLogger(__name__)

MAX_SECONDS = 1.0
MAX_ENTRIES = 4096  # bounded: unknown keys (guessed tokens, app keys) cannot grow it for good
REFRESH_AHEAD = 0.25  # the share of a lifetime, at its end, in which a call fetches anew
_MISS = object()
_memos: list["LocalMemo"] = []
_refreshes: set[asyncio.Task] = set()  # held: the loop keeps only weak references


class LocalMemo:
    """key -> value, each for `seconds()` (read at every store, so settings may change)."""

    def __init__(self, seconds: Callable[[], float]):
        self._seconds = seconds
        # key -> (value, expires at, fetched anew in the background from)
        self._entries: dict[Hashable, tuple[object, float, float]] = {}
        self._refreshing: set[Hashable] = set()
        _memos.append(self)

    def get(self, key: Hashable) -> object:
        """The remembered value, or _MISS."""
        entry = self._entries.get(key)
        if entry is None or entry[1] <= _now():
            return _MISS
        return entry[0]

    def put(self, key: Hashable, value: object) -> None:
        seconds = self._seconds()
        if seconds <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        now = _now()
        self._entries[key] = (value, now + seconds, now + seconds * (1 - REFRESH_AHEAD))

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    async def through(
        self,
        key: Hashable,
        load: Callable[..., object],
        *args: object,
        remember: Callable[[object], bool] = lambda value: True,
    ) -> object:
        """The value for `key`: remembered, else `load(*args)` in a worker thread, kept
        when `remember(value)` says so."""
        entry = self._entries.get(key)
        if entry is not None:
            now = _now()
            if now < entry[1]:
                if now >= entry[2] and key not in self._refreshing:
                    self._refresh_in_background(key, entry, load, args, remember)
                return entry[0]
        value = await database_sync_to_async(load)(*args)
        if remember(value):
            self.put(key, value)
        return value

    def _refresh_in_background(self, key, entry, load, args, remember) -> None:
        self._refreshing.add(key)
        task = asyncio.get_running_loop().create_task(
            self._refresh(key, entry, load, args, remember)
        )
        _refreshes.add(task)
        task.add_done_callback(_refreshes.discard)

    async def _refresh(self, key, entry, load, args, remember) -> None:
        try:
            value = await database_sync_to_async(load)(*args)
        except Exception as e:
            # The entry runs out as usual; the call after that loads, and meets the error.
            logger.debug("a background refresh failed: %r", e)
            return
        finally:
            self._refreshing.discard(key)
        if self._entries.get(key) is not entry:
            return  # forgotten (a change in this process) or replaced meanwhile
        if remember(value):
            self.put(key, value)
        else:
            self.forget(key)


def _now() -> float:
    return time.monotonic()


def seconds_within(setting_seconds: float) -> float:
    """A memo's lifetime under a setting that bounds the shared cache's: at most a second."""
    return min(MAX_SECONDS, setting_seconds)


def forget_all() -> None:
    """Empty every memo of this process (tests reuse ids once their database is rolled back)."""
    for memo in _memos:
        memo.clear()
