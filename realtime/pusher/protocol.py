"""The Pusher Channels protocol 7 wire format, as pusher-js, Laravel Echo and Pysher speak it.

What a frame *is*, and nothing else: no Django, no I/O. Every frame is a JSON object
`{"event", "channel"?, "data"?}` in a text frame. Server frames carry `data` as a JSON
*string* (pusher-js parses it when it can, and keeps the string otherwise); client frames
carry objects, and for client events any JSON value. See
shared/reference/pusher-protocol.md.
"""

import json
from dataclasses import dataclass
from typing import Any

from realtime.errors import MalformedFrame
from realtime.messages import Event, HubMessage, PresenceChange, json_text

CONNECTION_ESTABLISHED = "pusher:connection_established"
ERROR = "pusher:error"
PING, PONG = "pusher:ping", "pusher:pong"
SUBSCRIBE, UNSUBSCRIBE = "pusher:subscribe", "pusher:unsubscribe"
SIGNIN, SIGNIN_SUCCESS = "pusher:signin", "pusher:signin_success"
SUBSCRIPTION_SUCCEEDED = "pusher_internal:subscription_succeeded"
SUBSCRIPTION_ERROR = "pusher:subscription_error"
MEMBER_ADDED, MEMBER_REMOVED = "pusher_internal:member_added", "pusher_internal:member_removed"
CACHE_MISS = "pusher:cache_miss"
CLIENT_EVENT_PREFIX = "client-"
PROTOCOL_VERSIONS = ("5", "6", "7")  # 5 and 6 still come from Pysher and older clients


@dataclass(frozen=True, slots=True)
class Message:
    """A client frame."""

    event: str
    channel: str | None
    data: Any  # an object for pusher: events; any JSON value for client events


def decode(text: str | bytes) -> Message:
    if isinstance(text, bytes):
        raise MalformedFrame("Pusher frames are text frames")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedFrame("frame is not valid JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("event"), str):
        raise MalformedFrame('expected an object with an "event" string')
    channel = frame.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise MalformedFrame('"channel" must be a string')
    data = frame.get("data")
    if isinstance(data, str) and data and not frame["event"].startswith(CLIENT_EVENT_PREFIX):
        # Some clients send pusher: data double-encoded, as the server does.
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            pass  # left a string: events that need an object refuse it
    return Message(frame["event"], channel, data)


def frame(event: str, data: Any = None, channel: str | None = None) -> str:
    """A server frame; `data` is JSON-encoded into a string, as Pusher servers send it."""
    out: dict[str, Any] = {"event": event}
    if channel is not None:
        out["channel"] = channel
    if data is not None:
        out["data"] = json_text(data)
    return json_text(out)


def connection_established(socket_id: str, activity_timeout: int) -> str:
    return frame(
        CONNECTION_ESTABLISHED, {"socket_id": socket_id, "activity_timeout": activity_timeout}
    )


def error(code: int | None, message: str) -> str:
    # pusher:error carries an object (soketi); pusher-js reads data.code and data.message.
    return json_text({"event": ERROR, "data": {"code": code, "message": message}})


def subscription_error(channel: str, kind: str, message: str, status: int) -> str:
    return json_text(
        {
            "event": SUBSCRIPTION_ERROR,
            "channel": channel,
            "data": {"type": kind, "error": message, "status": status},
        }
    )


def presence_data(members: dict[str, dict]) -> dict[str, Any]:
    """subscription_succeeded's data on a presence channel: one entry per user id."""
    hash_ = {user_id: entry["metas"][0].get("info") for user_id, entry in members.items()}
    return {"presence": {"ids": list(hash_), "hash": hash_, "count": len(hash_)}}


class PusherWire:
    """Renders hub messages for Pusher sockets (one rendering per process per message)."""

    wire_format = "pusher"

    @staticmethod
    def render(message: HubMessage) -> str | None:
        if isinstance(message, Event):
            return _event_frame(message)
        if isinstance(message, PresenceChange) and message.user_changed:
            if message.joined:
                info = message.meta.get("info")
                data = {"user_id": message.user_id, "user_info": info}
                return frame(MEMBER_ADDED, data, message.topic)
            return frame(MEMBER_REMOVED, {"user_id": message.user_id}, message.topic)
        return None  # another connection of a member already present: nothing to say


def cached_event(channel: str, last: dict[str, Any]) -> str | None:
    """A cache channel's last event, sent to a new subscriber."""
    return _event_frame(Event(channel, last["event"], last["payload"], last["data"]))


def _event_frame(message: Event) -> str | None:
    if isinstance(message.payload, bytes):
        return None  # Pusher has no binary frames
    # A Pusher publisher's string verbatim; anything else is its JSON text.
    data = message.data if message.data is not None else message.payload
    user = f',"user_id":{json_text(message.user_id)}' if message.user_id is not None else ""
    return (
        f'{{"event":{json_text(message.event)},"channel":{json_text(message.topic)},'
        f'"data":{json_text(data)}{user}}}'
    )
