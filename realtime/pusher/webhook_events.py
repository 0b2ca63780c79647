"""Pusher's webhook events, from the core's notices (realtime.notifications)."""

from collections.abc import Callable

from realtime import notifications
from realtime.topics import is_presence_topic


def _topic_event(name: str):
    return lambda f: {"name": name, "channel": f["topic"]}


def _member_event(name: str, flag: str):
    # Only a user's first connection in, or last one out, anywhere.
    return lambda f: (
        {"name": name, "channel": f["topic"], "user_id": f["user_id"]} if f.get(flag) else None
    )


def _client_event(f: dict) -> dict:
    data = f["data"]
    event = {
        "name": "client_event",
        "channel": f["topic"],
        "event": f["event"],
        # A Phoenix binary push is bytes: Pusher's data is a string, so it is told as
        # UTF-8 text (bytes that are not become U+FFFD).
        "data": data.decode(errors="replace") if isinstance(data, bytes) else data,
        "socket_id": f["socket_id"],
    }
    if is_presence_topic(f["topic"]) and f.get("user_id") is not None:
        event["user_id"] = f["user_id"]
    return event


def _subscription_count(f: dict) -> dict | None:
    if f.get("count") is None:  # Redis did not answer
        return None
    return {"name": "subscription_count", "channel": f["topic"], "subscription_count": f["count"]}


# notice kind -> (the Pusher webhook event it may stand for, fields -> that event or None).
# The name comes first so that an application that does not want it costs no event.
EVENTS: dict[str, tuple[str, Callable[[dict], dict | None]]] = {
    notifications.OCCUPIED: ("channel_occupied", _topic_event("channel_occupied")),
    notifications.VACATED: ("channel_vacated", _topic_event("channel_vacated")),
    notifications.MEMBER_JOINED: ("member_added", _member_event("member_added", "first")),
    notifications.MEMBER_LEFT: ("member_removed", _member_event("member_removed", "last")),
    notifications.CLIENT_EVENT: ("client_event", _client_event),
    notifications.CACHE_MISS: ("cache_miss", _topic_event("cache_miss")),
    notifications.SUBSCRIBED: ("subscription_count", _subscription_count),
    notifications.UNSUBSCRIBED: ("subscription_count", _subscription_count),
}


def coalesced(events: list[dict]) -> list[dict]:
    """Only the last subscription count of each channel: the others are already stale."""
    last = {e["channel"]: i for i, e in enumerate(events) if e["name"] == "subscription_count"}
    return [
        e
        for i, e in enumerate(events)
        if e["name"] != "subscription_count" or last[e["channel"]] == i
    ]


# What "Send test webhook" sends: a balanced pair on a channel no client can subscribe
# to by accident.
TEST_CHANNEL = "expusher-webhook-test"
TEST_EVENTS = [
    {"name": "channel_occupied", "channel": TEST_CHANNEL},
    {"name": "channel_vacated", "channel": TEST_CHANNEL},
]
