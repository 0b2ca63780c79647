"""Checks every published event passes, whether it comes from a socket or from REST."""

from django.conf import settings

from realtime.errors import InvalidEvent, InvalidTopic, PayloadTooLarge
from realtime.phoenix.protocol import encode_payload
from realtime.topics import event_is_valid, topic_is_valid


def event_encode(topic: str, event: str, payload: dict | bytes) -> str | bytes:
    """Validate an event and return its payload encoded for the hub.

    JSON payloads become a JSON string; binary payloads (phoenix serializer 2.0.0)
    stay bytes and are checked against the same size limit.
    """
    if not topic_is_valid(topic):
        raise InvalidTopic()
    if not event_is_valid(event):
        raise InvalidEvent(
            "event names are 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; : "
            "and may not start with phx_ or presence_"
        )
    encoded = payload if isinstance(payload, bytes) else encode_payload(payload)
    size = len(encoded) if isinstance(encoded, bytes) else len(encoded.encode())
    limit = settings.EXPUSHER_MAX_PAYLOAD_BYTES
    if size > limit:
        raise PayloadTooLarge(f"event payloads are limited to {limit} bytes")
    return encoded
