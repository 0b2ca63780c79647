"""Each process writes what it counted to the shared store, every few seconds.

One task per event loop (one per server process), started by the first notice or API
request that needs it. Each round takes what grew since the last round
(realtime.stats.counts only grows), adds it to the current minute and day, and samples
the open connections of the applications this process holds sockets of (counted across
processes by the presence store) as the minute's and the day's maxima. What a round could
not write (Redis away) is written by a later one.
"""

import asyncio
import logging
import weakref

from django.conf import settings

from realtime.connection import admitted_connections
from realtime.presence import get_presence
from realtime.stats import counts
from realtime.stats.store import Figures, get_stats_store, minute_now

logger = logging.getLogger(__name__)

_flushing: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()
_tasks: set[asyncio.Task] = set()  # held: the loop keeps only weak references
_written: dict[int, Figures] = {}  # per application, what the store has of its counts


def keep_flushing() -> None:
    """Start this event loop's flusher, if it has none yet (no-op outside a loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop not in _flushing:
        _flushing.add(loop)
        task = loop.create_task(_flush_forever())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


async def _flush_forever() -> None:
    while True:
        await asyncio.sleep(settings.EXPUSHER_STATS_FLUSH_SECONDS)
        try:
            await flush()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            counts.broker_error("statistics")
            logger.warning("statistics: flush failed, retried next round: %r", e)


def take() -> dict[int, Figures]:
    """What grew since the last take, per application, now counted as written."""
    grown: dict[int, Figures] = {}
    for app_id, figures in counts.by_app().items():
        now = figures.as_dict()
        before = _written.get(app_id, {})
        delta = {name: n - before.get(name, 0) for name, n in now.items()}
        delta = {name: n for name, n in delta.items() if n}
        if delta:
            grown[app_id] = delta
            _written[app_id] = now
    return grown


def give_back(grown: dict[int, Figures]) -> None:
    """The store did not get `grown`: the next take hands it out again."""
    for app_id, delta in grown.items():
        before = _written[app_id]
        for name, n in delta.items():
            before[name] -= n


async def flush() -> None:
    """One round: counts to the store, then the connection samples."""
    store = get_stats_store()
    minute = minute_now()
    grown = take()
    if grown:
        try:
            await store.add(minute, grown)
        except BaseException:
            give_back(grown)
            raise
    await store.sample_connections(minute, await _open_connections())


async def _open_connections() -> dict[int, int]:
    """The open connections, in every process, of each application with one here."""
    presence = get_presence()
    app_ids = {connection.app.id for connection in list(admitted_connections().values())}
    return {app_id: (await presence.connection_counts(app_id))[0] for app_id in app_ids}


async def flush_before_exit(timeout: float = 2.0) -> None:
    """A last round at a graceful shutdown (after the drain): nothing counted is lost."""
    try:
        await asyncio.wait_for(flush(), timeout)
    except Exception as e:
        logger.warning("statistics: last flush failed: %r", e)


def forget() -> None:
    """Tests: forget what was written (with counts.reset())."""
    _written.clear()
