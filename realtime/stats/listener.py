"""The notices statistics count (realtime.notifications), heard in every process."""

from realtime import notifications
from realtime.stats import counts, flusher


def hear(notice: notifications.Notice) -> None:
    kind = notice.kind
    if kind == notifications.CLIENT_EVENT:
        counts.of(notice.app_id).client_events += 1
    elif kind == notifications.API_MESSAGE:
        counts.api_messages[notice.fields.get("api")] += 1
        flusher.keep_flushing()
    elif kind == notifications.CONNECTION_OPENED:
        # Every socket opens here, and deliveries need a socket: once this process has
        # one, its figures are flushed.
        flusher.keep_flushing()
    elif kind == notifications.WEBHOOK_SENT:
        counts.of(notice.app_id).webhooks_sent += 1
    elif kind == notifications.WEBHOOK_FAILED:
        counts.of(notice.app_id).webhooks_failed += 1
