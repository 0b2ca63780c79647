"""Checks every published event passes, whether it comes from a socket or from REST."""

from django.conf import settings

from realtime.errors import InvalidEvent, InvalidTopic, PayloadTooLarge
from realtime.protocol import encode_payload
from realtime.topics import event_is_valid, topic_is_valid


def event_encode(topic: str, event: str, payload: dict) -> str:
    """Validate an event and return its payload encoded as JSON, ready for the hub."""
    if not topic_is_valid(topic):
        raise InvalidTopic()
    if not event_is_valid(event):
        raise InvalidEvent(
            "event names are 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; : "
            "and may not start with phx_ or presence_"
        )
    payload_json = encode_payload(payload)
    limit = settings.EXPUSHER_MAX_PAYLOAD_BYTES
    if len(payload_json.encode()) > limit:
        raise PayloadTooLarge(f"event payloads are limited to {limit} bytes")
    return payload_json
