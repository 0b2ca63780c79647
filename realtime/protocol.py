"""The Phoenix Channels wire format, as the official `phoenix` JavaScript client speaks it.

What a frame *is*, and nothing else: no Django, no I/O. Serializer 2.0.0 sends
`[join_ref, ref, topic, event, payload]` arrays, 1.0.0 sends objects without join_ref.
See shared/reference/phoenix-protocol.md.
"""

import json
from dataclasses import dataclass
from typing import Any

from realtime.errors import MalformedFrame

# Reserved events (phoenix CHANNEL_EVENTS) and the heartbeat topic.
JOIN, LEAVE, REPLY, CLOSE, ERROR = "phx_join", "phx_leave", "phx_reply", "phx_close", "phx_error"
HEARTBEAT, HEARTBEAT_TOPIC = "heartbeat", "phoenix"
PRESENCE_STATE, PRESENCE_DIFF = "presence_state", "presence_diff"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class Message:
    """One frame in either direction."""

    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict[str, Any]


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


class V2Serializer:
    vsn = "2.0.0"

    @staticmethod
    def decode(text: str) -> Message:
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
    def broadcast_frame(topic: str, event: str, payload_json: str) -> str:
        """A fan-out frame built around an already encoded payload (encoded once)."""
        return f"[null,null,{_dumps(topic)},{_dumps(event)},{payload_json}]"


class V1Serializer:
    vsn = "1.0.0"

    @staticmethod
    def decode(text: str) -> Message:
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
    def broadcast_frame(topic: str, event: str, payload_json: str) -> str:
        return (
            f'{{"topic":{_dumps(topic)},"event":{_dumps(event)},'
            f'"payload":{payload_json},"ref":null}}'
        )


Serializer = type[V1Serializer] | type[V2Serializer]
SERIALIZERS: dict[str, Serializer] = {"1": V1Serializer, "2": V2Serializer}


def serializer_for(vsn: str | None) -> Serializer | None:
    """Pick the serializer as Phoenix does ("~> 1.0.0" / "~> 2.0.0"); None if unknown."""
    vsn = vsn or "1.0.0"
    parts = vsn.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or parts[1] != "0":
        return None
    return SERIALIZERS.get(parts[0])


def encode_payload(payload: dict[str, Any]) -> str:
    return _dumps(payload)


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
