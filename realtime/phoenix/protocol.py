"""The Phoenix Channels wire format, as the official `phoenix` JavaScript client speaks it.

What a frame *is*, and nothing else: no Django, no I/O. Serializer 2.0.0 sends
`[join_ref, ref, topic, event, payload]` arrays, 1.0.0 sends objects without join_ref.
Serializer 2.0.0 also carries binary payloads (a client pushing an ArrayBuffer) in binary
frames: pushes are kind 0, broadcasts kind 2. See shared/reference/phoenix-protocol.md.
"""

import json
from dataclasses import dataclass
from typing import Any

from realtime.errors import MalformedFrame
from realtime.messages import Event, HubMessage, PresenceChange

# Reserved events (phoenix CHANNEL_EVENTS) and the heartbeat topic.
JOIN, LEAVE, REPLY, CLOSE, ERROR = "phx_join", "phx_leave", "phx_reply", "phx_close", "phx_error"
HEARTBEAT, HEARTBEAT_TOPIC = "heartbeat", "phoenix"
PRESENCE_STATE, PRESENCE_DIFF = "presence_state", "presence_diff"
CONTROL_EVENTS = (JOIN, LEAVE, HEARTBEAT)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class Message:
    """One frame in either direction."""

    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict[str, Any] | bytes  # bytes only for binary pushes (serializer 2.0.0)


def _ref(value: object) -> str | None:
    """Refs are strings from a counter; accept numbers too, refuse anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedFrame("refs must be strings or null")


def _checked(join_ref, ref, topic, event, payload) -> Message:
    if not isinstance(topic, str) or not isinstance(event, str) or not event:
        raise MalformedFrame("topic and event must be strings")
    if not isinstance(payload, dict):
        raise MalformedFrame("payload must be a JSON object")
    return Message(_ref(join_ref), _ref(ref), topic, event, payload)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedFrame("frame is not valid JSON") from None


BINARY_PUSH, BINARY_BROADCAST = 0, 2


def _decode_binary_push(data: bytes) -> Message:
    """`<<0, len(join_ref), len(ref), len(topic), len(event), join_ref, ref, topic, event,
    payload>>`."""
    if len(data) < 5:
        raise MalformedFrame("binary frame too short")
    lengths, offset, fields = data[1:5], 5, []
    for length in lengths:
        if offset + length > len(data):
            raise MalformedFrame("binary frame shorter than its header says")
        try:
            fields.append(data[offset : offset + length].decode("utf-8"))
        except UnicodeDecodeError:
            raise MalformedFrame("binary frame fields must be UTF-8") from None
        offset += length
    join_ref, ref, topic, event = fields
    return Message(join_ref or None, ref or None, topic, event, data[offset:])


def _binary_field(value: str) -> bytes:
    encoded = value.encode()
    if len(encoded) > 255:
        raise ValueError("binary frame fields are at most 255 bytes")
    return encoded


def _render(serializer: "Serializer", message: HubMessage) -> str | bytes | None:
    """A hub message as this serializer's broadcast frame."""
    if isinstance(message, Event):
        return serializer.broadcast_frame(message.topic, message.event, message.payload)
    return serializer.broadcast_frame(message.topic, PRESENCE_DIFF, presence_diff(message))


def presence_diff(change: PresenceChange) -> str:
    """One connection's join or leave, as the phoenix client's Presence class reads it."""
    entry = {change.user_id: {"metas": [change.meta]}}
    joins, leaves = (entry, {}) if change.joined else ({}, entry)
    return _dumps({"joins": joins, "leaves": leaves})


class V2Serializer:
    vsn = "2.0.0"
    wire_format = "phoenix/2.0.0"

    @classmethod
    def render(cls, message: HubMessage) -> str | bytes | None:
        return _render(cls, message)

    @staticmethod
    def decode(text: str | bytes) -> Message:
        if isinstance(text, bytes):
            if text[:1] == bytes([BINARY_PUSH]):
                return _decode_binary_push(text)
            # Not a binary push: accept JSON that merely arrived in a binary frame.
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedFrame("binary frame is neither a push nor UTF-8 JSON") from None
        data = _loads(text)
        # The server accepts extra trailing elements, as Phoenix does.
        if not isinstance(data, list) or len(data) < 5:
            raise MalformedFrame("expected [join_ref, ref, topic, event, payload]")
        return _checked(*data[:5])

    @staticmethod
    def encode(message: Message) -> str:
        m = message
        return _dumps([m.join_ref, m.ref, m.topic, m.event, m.payload])

    @staticmethod
    def broadcast_frame(topic: str, event: str, payload: str | bytes) -> str | bytes:
        """A fan-out frame built around an already encoded payload (encoded once)."""
        if isinstance(payload, bytes):
            topic_b, event_b = _binary_field(topic), _binary_field(event)
            header = bytes([BINARY_BROADCAST, len(topic_b), len(event_b)])
            return header + topic_b + event_b + payload
        return f"[null,null,{_dumps(topic)},{_dumps(event)},{payload}]"


class V1Serializer:
    vsn = "1.0.0"
    wire_format = "phoenix/1.0.0"

    @classmethod
    def render(cls, message: HubMessage) -> str | None:
        return _render(cls, message)

    @staticmethod
    def decode(text: str | bytes) -> Message:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedFrame("serializer 1.0.0 has no binary frames") from None
        data = _loads(text)
        if not isinstance(data, dict) or not {"topic", "event", "payload"} <= data.keys():
            raise MalformedFrame("expected an object with topic, event, payload and ref")
        return _checked(
            data.get("join_ref"), data.get("ref"), data["topic"], data["event"], data["payload"]
        )

    @staticmethod
    def encode(message: Message) -> str:
        # Phoenix's V1 serializer never sends join_ref.
        m = message
        return _dumps({"topic": m.topic, "event": m.event, "payload": m.payload, "ref": m.ref})

    @staticmethod
    def broadcast_frame(topic: str, event: str, payload: str | bytes) -> str | None:
        if isinstance(payload, bytes):
            return None  # 1.0.0 cannot carry binary payloads: such sockets do not get them
        return f'{{"topic":{_dumps(topic)},"event":{_dumps(event)},"payload":{payload},"ref":null}}'


Serializer = type[V1Serializer] | type[V2Serializer]
SERIALIZERS: dict[str, Serializer] = {"1": V1Serializer, "2": V2Serializer}


def serializer_for(vsn: str | None) -> Serializer | None:
    """Pick the serializer as Phoenix does ("~> 1.0.0" / "~> 2.0.0"); None if unknown."""
    vsn = vsn or "1.0.0"
    parts = vsn.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or parts[1] != "0":
        return None
    return SERIALIZERS.get(parts[0])


def reply(request: Message, status: str, response: dict[str, Any]) -> Message:
    return Message(
        request.join_ref,
        request.ref,
        request.topic,
        REPLY,
        {"status": status, "response": response},
    )


def close_message(topic: str, join_ref: str | None) -> Message:
    return Message(join_ref, join_ref, topic, CLOSE, {})
