"""What happens to an application's connections and topics, told to whoever listens.

The core and the protocols say what happened (a connection opened, a topic gained a
subscriber, an API published an event, a client sent one); listeners registered at
start-up (webhooks, the debug console, statistics) decide what to keep. The notices
describe topics and connections, not wire protocols: a Phoenix join and a pusher-js
subscribe are both SUBSCRIBED.

A notice is told in the process where it happened, to that process's listeners only;
a listener that needs a view across processes (webhooks' "first subscriber anywhere")
works it out itself. Telling costs one truth test when nobody listens, so the message
path may tell freely. Listeners are called synchronously on the event loop and must not
block: one that does I/O schedules it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# What can happen, and the fields each notice carries.
# transport: "websocket" or "longpoll"; origin: the page's, as the browser said (or None)
CONNECTION_OPENED = "connection_opened"  # socket_id, protocol, transport, user_id, origin
CONNECTION_CLOSED = "connection_closed"  # socket_id, protocol, transport, user_id, origin,
# code, reason (code None: the client closed)
CONNECTION_REFUSED = "connection_refused"  # protocol, transport, origin, code, reason
SUBSCRIBED = "subscribed"  # socket_id, topic, count (subscriptions in every process; None: unknown)
UNSUBSCRIBED = "unsubscribed"  # socket_id, topic, count
CACHE_MISS = "cache_miss"  # socket_id, topic: a cache topic had no last event to give
MEMBER_JOINED = "member_joined"  # socket_id, topic, user_id, first (the user's first anywhere)
MEMBER_LEFT = "member_left"  # topic, user_id, last (the user's last anywhere)
# api: "rest", "pusher" or "dashboard"; credential: an object whose str() names the caller
# (secret token label and prefix, JWT, app key, dashboard user), never its secret
API_MESSAGE = "api_message"  # topics, event, data, api, credential
CLIENT_EVENT = "client_event"  # socket_id, topic, event, data, user_id
REFUSED = "refused"  # socket_id, code, reason: a frame the protocol refused
# Told by the webhook sender (realtime.pusher.webhooks) after each POST's outcome.
WEBHOOK_SENT = "webhook_sent"  # url, events (their names), status, attempts
WEBHOOK_FAILED = "webhook_failed"  # url, events, status (None: no answer), attempts, error
# Told once across every process (realtime.occupancy), in the process that decided it.
OCCUPIED = "occupied"  # topic: its first subscriber in any process
VACATED = "vacated"  # topic: no subscriber left anywhere, for EXPUSHER_VACATE_DELAY_SECONDS


@dataclass(slots=True)
class Notice:
    app_id: int
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Notice], None]

_listeners: list[Listener] = []


def listen(listener: Listener) -> Callable[[], None]:
    """Hear every notice from now on; returns the function that stops it."""
    _listeners.append(listener)

    def stop() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return stop


def listening() -> bool:
    """Is anybody listening? For callers whose fields cost something to gather."""
    return bool(_listeners)


def notify(app_id: int, kind: str, **fields: Any) -> None:
    if not _listeners:
        return
    notice = Notice(app_id, kind, fields)
    for listener in tuple(_listeners):
        try:
            listener(notice)
        except Exception:
            # One faulty listener must not cost the connection or the others their notice.
            logger.exception("notification listener %r failed on %s", listener, kind)
