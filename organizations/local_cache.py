"""Process-local memos with a short lifetime, in front of Django's cache.

With REDIS_URL, Django's cache is a synchronous network round trip per call: on an event
loop it blocks every socket of the process, and from a worker thread it costs a thread hop
each way. The async paths (the REST triggers in api.fast_triggers) therefore remember each
answer in this process for a moment (at most a second, and never longer than the setting
that bounds the shared entry), so a warm call makes neither. A miss goes to a worker
thread, which asks Django's cache and, if that misses too, the database.
"""

import time
from collections.abc import Callable, Hashable

from channels.db import database_sync_to_async

MAX_SECONDS = 1.0
MAX_ENTRIES = 4096  # bounded: unknown keys (guessed tokens, app keys) cannot grow it for good
_MISS = object()
_memos: list["LocalMemo"] = []


class LocalMemo:
    """key -> value, each for `seconds()` (read at every store, so settings may change)."""

    def __init__(self, seconds: Callable[[], float]):
        self._seconds = seconds
        self._entries: dict[Hashable, tuple[object, float]] = {}
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
        self._entries[key] = (value, _now() + seconds)

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
        value = self.get(key)
        if value is _MISS:
            value = await database_sync_to_async(load)(*args)
            if remember(value):
                self.put(key, value)
        return value


def _now() -> float:
    return time.monotonic()


def seconds_within(setting_seconds: float) -> float:
    """A memo's lifetime under a setting that bounds the shared cache's: at most a second."""
    return min(MAX_SECONDS, setting_seconds)


def forget_all() -> None:
    """Empty every memo of this process (tests reuse ids once their database is rolled back)."""
    for memo in _memos:
        memo.clear()
