"""Is the other end still there? Pusher's activity timeout, seen from the server.

After `activity_timeout` seconds without a frame from the client, the server sends
`pusher:ping`; if nothing arrives within `pong_timeout` seconds more, the connection is
closed with 4201 and a stock client reconnects at once. One timer per connection,
re-armed lazily: hearing from the client only records the time.
"""

import asyncio
from collections.abc import Awaitable, Callable

# Pings and time-outs under way, held until done (the loop keeps weak references only).
_running: set[asyncio.Task] = set()


class Liveness:
    __slots__ = (
        "activity_timeout",
        "pong_timeout",
        "_ping",
        "_timed_out",
        "_loop",
        "_last_heard",
        "_pinged_at",
        "_timer",
    )

    def __init__(
        self,
        activity_timeout: int,
        pong_timeout: int,
        ping: Callable[[], Awaitable[None]],
        timed_out: Callable[[], Awaitable[None]],
    ):
        self.activity_timeout = activity_timeout
        self.pong_timeout = pong_timeout
        self._ping, self._timed_out = ping, timed_out
        self._loop = asyncio.get_running_loop()
        self._last_heard = self._loop.time()
        self._pinged_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._arm(self.activity_timeout)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def heard(self) -> None:
        self._last_heard = self._loop.time()

    def _arm(self, delay: float) -> None:
        self._timer = self._loop.call_later(max(delay, 0.05), self._check)

    def _check(self) -> None:
        now = self._loop.time()
        silent = now - self._last_heard
        if self._pinged_at is not None and self._last_heard < self._pinged_at:
            self._timer = None
            self._run(self._timed_out())
            return
        self._pinged_at = None
        if silent >= self.activity_timeout:
            self._pinged_at = now
            self._run(self._ping())
            self._arm(self.pong_timeout)
        else:
            self._arm(self.activity_timeout - silent)

    def _run(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        _running.add(task)
        task.add_done_callback(_running.discard)
