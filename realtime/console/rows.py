"""A notice as the debug console shows it: one row of plain JSON values, and the budget
that keeps a busy application's console from costing the service more than a few rows a
second.

A row is {"at": unix time in ms, "kind": the notice kind, "process": which server
process told it, ...the notice's fields}. Payloads are cut to DATA_CHARS characters, any
other string to TEXT_CHARS; binary payloads are shown by their size. A notice kind the
console does not know specially (a webhook engineer's `channel_occupied`, say) becomes a
row all the same: the page renders its fields generically.
"""

import time
from typing import Any

from realtime.hub import PROCESS_ID
from realtime.notifications import Notice

DATA_CHARS = 1000  # of a payload: enough to read, short enough for a log line
TEXT_CHARS = 300
SAMPLED = "sampled"  # the row that says how many rows the budget dropped

_PROCESS = PROCESS_ID[:6]


def _text(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value) - limit} more characters)"


def _value(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes):
        return f"(binary, {len(value)} bytes)"
    if isinstance(value, str):
        return _text(value, DATA_CHARS if name == "data" else TEXT_CHARS)
    if isinstance(value, list | tuple | set | frozenset):
        return [_value("", item) for item in list(value)[:20]]
    # Anything else (a credential, for one) says what it is through str(), never a secret.
    return _text(str(value), TEXT_CHARS)


def row_of(notice: Notice, now: float | None = None) -> dict[str, Any]:
    row = {name: _value(name, value) for name, value in notice.fields.items()}
    row.update(at=int((now or time.time()) * 1000), kind=notice.kind, process=_PROCESS)
    return row


def sampled_row(dropped: int, now: float | None = None) -> dict[str, Any]:
    return {
        "at": int((now or time.time()) * 1000),
        "kind": SAMPLED,
        "process": _PROCESS,
        "dropped": dropped,
    }


class RowBudget:
    """At most `rate` rows per second per application in this process; the rest are
    counted, and `take` reports the count once the second is over."""

    def __init__(self, rate: int):
        self.rate = rate
        self._windows: dict[int, list] = {}  # app id -> [second, rows taken, dropped]

    def take(self, app_id: int, now: float) -> tuple[bool, int]:
        """(may this row go, rows dropped in an earlier second and not reported yet)."""
        second = int(now)
        window = self._windows.get(app_id)
        dropped_before = 0
        if window is None or window[0] != second:
            dropped_before = window[2] if window is not None else 0
            window = self._windows[app_id] = [second, 0, 0]
        if window[1] < self.rate:
            window[1] += 1
            return True, dropped_before
        window[2] += 1
        return False, dropped_before

    def overdue(self, app_id: int, now: float) -> int:
        """Rows dropped in a second that has ended, not reported yet (they are now)."""
        window = self._windows.get(app_id)
        if window is None or window[0] == int(now) or not window[2]:
            return 0
        dropped, window[2] = window[2], 0
        return dropped

    def forget(self, keep: frozenset[int]) -> None:
        for app_id in list(self._windows):
            if app_id not in keep:
                del self._windows[app_id]
