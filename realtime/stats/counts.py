"""What this process counted: plain integers, cheap enough for the message path.

Every figure only grows, as a Prometheus counter does: /metrics reads them as they are,
and the flusher (realtime.stats.flusher) writes to the shared store what grew since its
last flush. The message path adds one integer per publish, never one per subscriber:
the hub counts the frames it wrote to a topic's local sockets and adds them at once.
"""

from collections import Counter

# Per application.
PUBLISHED = "published"  # messages published: triggers, client events, presence changes
DELIVERED = "delivered"  # frames written to subscribers: one publish to N sockets is N
API_REQUESTS = "api_requests"  # REST trigger API and Pusher HTTP API requests, any outcome
CLIENT_EVENTS = "client_events"
WEBHOOKS_SENT = "webhooks_sent"
WEBHOOKS_FAILED = "webhooks_failed"
REFUSED = "refused"  # connections refused
FIGURES = (
    PUBLISHED,
    DELIVERED,
    API_REQUESTS,
    CLIENT_EVENTS,
    WEBHOOKS_SENT,
    WEBHOOKS_FAILED,
    REFUSED,
)


class AppFigures:
    """One application's counts in this process (made on its first count)."""

    __slots__ = FIGURES

    def __init__(self) -> None:
        for name in FIGURES:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURES}


_apps: dict[int, AppFigures] = {}

# Process-wide, by a label from a bounded set.
api_requests: Counter = Counter()  # (api, outcome)
api_messages: Counter = Counter()  # api: events published through it
refusals: Counter = Counter()  # reason (realtime.errors' catalogue)
broker_errors: Counter = Counter()  # component: channel_layer, presence, statistics


def of(app_id: int) -> AppFigures:
    figures = _apps.get(app_id)
    if figures is None:
        figures = _apps[app_id] = AppFigures()
    return figures


def by_app() -> dict[int, AppFigures]:
    return dict(_apps)


def outcome(status: int) -> str:
    """An HTTP status as an outcome label: ok, refused (4xx), unavailable (503), error."""
    if status < 400:
        return "ok"
    if status < 500:
        return "refused"
    return "unavailable" if status == 503 else "error"


def api_request(app_id: int | None, api: str, status: int) -> None:
    """A request to the REST trigger API (api="rest") or the Pusher HTTP API ("pusher"),
    answered `status`; counted for its application when the request named one that exists."""
    api_requests[api, outcome(status)] += 1
    if app_id is not None:
        of(app_id).api_requests += 1


class ApiRequest:
    """One HTTP API request as it goes: its application once known (a request counts for
    it only once its credentials were checked), then its status."""

    __slots__ = ("api", "app_id", "status")

    def __init__(self, api: str) -> None:
        self.api = api
        self.app_id: int | None = None
        self.status: int | None = None

    def count(self) -> None:
        """Count it, if it was answered."""
        if self.status is not None:
            api_request(self.app_id, self.api, self.status)


def connection_refused(app_id: int | None, reason: str) -> None:
    refusals[reason] += 1
    if app_id is not None:
        of(app_id).refused += 1


def broker_error(component: str) -> None:
    """A call to the channel layer, the presence store or the statistics store failed."""
    broker_errors[component] += 1


def reset() -> None:
    """Forget every count (tests start from nothing)."""
    _apps.clear()
    for counter in (api_requests, api_messages, refusals, broker_errors):
        counter.clear()
