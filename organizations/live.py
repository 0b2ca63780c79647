"""Live figures the dashboard shows but organizations cannot work out itself.

Connections are counted by realtime, which organizations never imports: realtime registers
its counter here when it starts (realtime.apps). Without one, or when the counter fails (a
Redis outage), the dashboard says the count is unknown rather than failing the page.
"""

import logging
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

# application ids -> {application id: open connections, across processes}
ConnectionCounter = Callable[[list[int]], dict[int, int]]
_counter: ConnectionCounter | None = None


def connection_counter_register(counter: ConnectionCounter) -> None:
    global _counter
    _counter = counter


def connection_counts(application_ids: Iterable[int]) -> dict[int, int]:
    """Open connections per application id; applications without an answer are missing."""
    ids = list(application_ids)
    if _counter is None or not ids:
        return {}
    try:
        return _counter(ids)
    except Exception:
        logger.warning("connection counts unavailable", exc_info=True)
        return {}
