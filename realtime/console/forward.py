"""Notices become console rows, published through the hub to every open console of
their application, whichever process it is connected to.

Nothing here runs while no console is open anywhere: the listener is registered only
while realtime.console.registry knows an open one. Then a notice of an application
without an open console costs a frozenset lookup; one with a console costs a row (a few
small strings) within the budget of EXPUSHER_CONSOLE_ROWS_PER_SECOND per application
and process. Past the budget rows are dropped and counted, and once that second is over
one "sampled" row says how many: a busy application's console samples rather than slow
the service. The rows of one turn of the event loop go out as one hub message.
"""

import asyncio
import logging
import time
from typing import Any

from django.conf import settings

from realtime import notifications
from realtime.console import registry
from realtime.console.rows import RowBudget, row_of, sampled_row
from realtime.hub import get_hub, when_hub_created
from realtime.messages import Event, json_text
from realtime.topics import CONSOLE_TOPIC

logger = logging.getLogger(__name__)

ROWS_EVENT = "rows"  # the hub event that carries {"rows": [...]}

_budget: RowBudget | None = None
_pending: dict[int, list[dict[str, Any]]] = {}  # app id -> rows of this loop turn
_reports: dict[int, asyncio.TimerHandle] = {}  # app id -> its drop report, when due
_tasks: set[asyncio.Task] = set()
_stop_listening = None


def _consoles_changed(open_apps: frozenset[int]) -> None:
    global _stop_listening, _budget
    if open_apps and _stop_listening is None:
        _budget = RowBudget(settings.EXPUSHER_CONSOLE_ROWS_PER_SECOND)
        _stop_listening = notifications.listen(on_notice)
    elif not open_apps and _stop_listening is not None:
        _stop_listening()
        _stop_listening = None
    if _budget is not None:
        _budget.forget(open_apps)


def install() -> None:
    """Forward notices while consoles are open; follow other processes' consoles from
    the start of each hub (called once, when Django is ready)."""
    registry.when_changed(_consoles_changed)
    when_hub_created(lambda hub: registry.start_polling())


def on_notice(notice: notifications.Notice) -> None:
    app_id = notice.app_id
    if app_id not in registry.open_apps or _budget is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # told outside the event loop (nothing does today): not for the console
    now = time.time()
    allowed, dropped = _budget.take(app_id, now)
    if dropped:
        _queue(loop, app_id, sampled_row(dropped, now))
    if allowed:
        _queue(loop, app_id, row_of(notice, now))
    elif app_id not in _reports:
        # If the burst ends with this second, nobody would report its drops: a timer does.
        delay = int(now) + 1.01 - now
        _reports[app_id] = loop.call_later(delay, _report_drops, loop, app_id)


def _report_drops(loop: asyncio.AbstractEventLoop, app_id: int) -> None:
    _reports.pop(app_id, None)
    if _budget is not None and (dropped := _budget.overdue(app_id, time.time())):
        _queue(loop, app_id, sampled_row(dropped))


def _queue(loop: asyncio.AbstractEventLoop, app_id: int, row: dict[str, Any]) -> None:
    rows = _pending.get(app_id)
    if rows is None:
        _pending[app_id] = [row]
        loop.call_soon(_flush, loop, app_id)
    else:
        rows.append(row)


def _flush(loop: asyncio.AbstractEventLoop, app_id: int) -> None:
    rows = _pending.pop(app_id, None)
    if not rows:
        return
    message = Event(CONSOLE_TOPIC, ROWS_EVENT, json_text({"rows": rows}))
    task = loop.create_task(get_hub().publish(app_id, message))
    _tasks.add(task)  # held until done: the loop keeps weak references
    task.add_done_callback(_published)


def _published(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("console: cannot publish rows: %r", task.exception())
