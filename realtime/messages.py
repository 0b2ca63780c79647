"""What travels between processes: protocol-neutral messages, rendered by each protocol.

A hub message is an Event (someone published on a topic) or a PresenceChange (a member
joined or left a presence topic). Both may name one connection to skip (`exclude`): the
Pusher sender of a client event, the socket named by `socket_id` in a Pusher HTTP trigger,
the joiner of a presence topic (it learns the full state in its join reply instead).

Each protocol renders a message into its own frame; the hub renders it once per wire
format per process and writes the same bytes to every local socket of that format.
"""

import json
from dataclasses import dataclass
from typing import Any

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_text(value: Any) -> str:
    """Compact JSON, as every frame of ours is written."""
    return _dumps(value)


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    event: str
    # The payload as JSON object text (Phoenix and REST), or bytes (a Phoenix binary push).
    payload: str | bytes
    # The publisher's Pusher `data` string, when a Pusher client or the Pusher HTTP API
    # published it: Pusher sockets get it back verbatim.
    data: str | None = None
    user_id: str | None = None  # the sender of a client event on a presence topic
    exclude: str | None = None  # a connection id not to deliver to


@dataclass(frozen=True, slots=True)
class PresenceChange:
    topic: str
    user_id: str
    meta: dict[str, Any]  # {"phx_ref", "online_at", "info"}: one connection of the member
    joined: bool  # True: a connection joined; False: one left
    # True when this was the user's first connection on the topic (joined) or their last
    # (left): Pusher announces members, not connections.
    user_changed: bool
    exclude: str | None = None


HubMessage = Event | PresenceChange


_KINDS: dict[str, type[Event] | type[PresenceChange]] = {
    "event": Event,
    "presence": PresenceChange,
}


def message_to_wire(message: HubMessage) -> dict[str, Any]:
    """A dict of plain values, as channel layers carry them (msgpack on Redis)."""
    kind = "event" if isinstance(message, Event) else "presence"
    return {"kind": kind, **{name: getattr(message, name) for name in message.__slots__}}


def message_from_wire(data: dict[str, Any]) -> HubMessage:
    cls = _KINDS[data["kind"]]
    return cls(**{name: data.get(name) for name in cls.__slots__})
