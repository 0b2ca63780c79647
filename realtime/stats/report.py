"""What the dashboard shows, read from the statistics store and the presence store.

Messages are counted as Pusher counts them: each publish is one message, and each frame
delivered to a subscriber one more (a trigger to a channel of 100 subscribers is 101).
"""

from realtime.presence import get_presence
from realtime.stats import counts
from realtime.stats.store import (
    CONNECTIONS,
    PEAK_CONNECTIONS,
    Figures,
    day_of,
    days_back,
    get_stats_store,
    minute_now,
)

DAY_MINUTES = 24 * 60
USAGE_DAYS = 30

# The series of the application page's charts, in order.
SERIES = (
    "connections",
    "messages",
    "api_requests",
    "client_events",
    "webhooks_sent",
    "webhooks_failed",
    "refused",
)


def messages(figures: Figures) -> int:
    return figures.get(counts.PUBLISHED, 0) + figures.get(counts.DELIVERED, 0)


def _summary(figures: Figures) -> dict[str, int]:
    """A day's or a minute's figures, as the dashboard names them."""
    named = {name: figures.get(name, 0) for name in counts.FIGURES}
    named["messages"] = messages(figures)
    return named


async def application_statistics(app_id: int) -> dict:
    """Connections now and today's peak, today's totals, and a point per minute of the
    last 24 hours for each of SERIES (minutes with nothing are 0)."""
    store = get_stats_store()
    last = minute_now()
    first = last - DAY_MINUTES + 1
    by_minute, today_figures = await store.minutes_and_day(app_id, first, last, day_of(last))
    open_now, _ = await get_presence().connection_counts(app_id)
    series: dict[str, list[int]] = {name: [] for name in SERIES}
    for minute in range(first, last + 1):
        figures = by_minute.get(minute, {})
        named = _summary(figures)
        named["connections"] = figures.get(CONNECTIONS, 0)
        for name in SERIES:
            series[name].append(named[name])
    return {
        "connections": open_now,
        "peak_connections": max(today_figures.get(PEAK_CONNECTIONS, 0), open_now),
        "today": _summary(today_figures),
        "minutes": {"start": first * 60, "step": 60, "series": series},
    }


async def organization_usage(app_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """Per application: {"today": figures, "month": figures summed over the last 30 days
    (today included)}, figures as in application_statistics' "today"."""
    days = days_back(minute_now(), USAGE_DAYS)
    found = await get_stats_store().days(app_ids, days)
    usage = {}
    for app_id in app_ids:
        per_day = found[app_id]
        month: dict[str, int] = {}
        for figures in per_day.values():
            for name, n in figures.items():
                if name != PEAK_CONNECTIONS:
                    month[name] = month.get(name, 0) + n
        peak = max((f.get(PEAK_CONNECTIONS, 0) for f in per_day.values()), default=0)
        usage[app_id] = {
            "today": {
                **_summary(per_day[days[-1]]),
                "peak_connections": per_day[days[-1]].get(PEAK_CONNECTIONS, 0),
            },
            "month": {**_summary(month), "peak_connections": peak},
        }
    return usage
