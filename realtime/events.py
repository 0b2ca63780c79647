"""Every published event passes here, whoever publishes it: a Phoenix push, a Pusher
client event, ExPusher's REST API or the Pusher HTTP API.

The checks (topic, event name, size) are the same for all, and a payload crosses
protocols without loss: Phoenix and REST payloads are JSON objects; a Pusher `data` string
that holds a JSON object reaches Phoenix sockets as that object, any other string as
`{"data": "<the string>"}`, and Pusher sockets get the publisher's string verbatim.
"""

import json

from asgiref.sync import async_to_sync
from django.conf import settings

from organizations.settings_answers import settings_answer
from realtime import notifications
from realtime.errors import InvalidEvent, InvalidTopic, PayloadTooLarge
from realtime.hub import get_hub
from realtime.messages import Event, json_text
from realtime.presence import get_presence
from realtime.topics import event_is_valid, is_cache_topic, topic_is_valid

# Pusher keeps a cache channel's last event for 30 minutes.
CACHE_SECONDS = 30 * 60


def _check(topic: str, event: str, size: int) -> None:
    if not topic_is_valid(topic):
        raise InvalidTopic()
    if not event_is_valid(event):
        raise InvalidEvent(
            "event names are 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; : \\ "
            "and may not start with phx_, presence_, pusher: or pusher_internal:"
        )
    if size > _payload_limit():
        raise PayloadTooLarge(f"event payloads are limited to {_payload_limit()} bytes")


@settings_answer
def _payload_limit() -> int:
    # Read once (every published event asks), forgotten when the setting changes (tests).
    return settings.EXPUSHER_MAX_PAYLOAD_BYTES


def event_encode(topic: str, event: str, payload: dict | bytes) -> str | bytes:
    """Validate an event and return its payload encoded for the hub.

    JSON payloads become a JSON string; binary payloads (phoenix serializer 2.0.0)
    stay bytes and are checked against the same size limit.
    """
    encoded = payload if isinstance(payload, bytes) else json_text(payload)
    _check(topic, event, len(encoded) if isinstance(encoded, bytes) else len(encoded.encode()))
    return encoded


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are Python's extensions: a browser's JSON.parse refuses them.
_strict_json = json.JSONDecoder(parse_constant=_refuse_constant).decode


def _holds_json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(_strict_json(text), dict)
    except (ValueError, RecursionError):
        return False


def event_from_data(
    topic: str,
    event: str,
    data: object,
    *,
    user_id: str | None = None,
    exclude: str | None = None,
) -> Event:
    """Validate a Pusher-style event (`data`, a string or any JSON value) for the hub."""
    if not isinstance(data, str):
        data = json_text(data)
    _check(topic, event, len(data.encode()))
    payload = data if _holds_json_object(data) else json_text({"data": data})
    return Event(topic, event, payload, data, user_id, exclude)


async def event_publish(app_id: int, message: Event) -> None:
    """Send a validated event to every subscriber of its topic, on both protocols."""
    if is_cache_topic(message.topic) and not isinstance(message.payload, bytes):
        last = {"event": message.event, "payload": message.payload, "data": message.data}
        await get_presence().cache_set(app_id, message.topic, last, CACHE_SECONDS)
    await get_hub().publish(app_id, message)


async def event_trigger(app_id: int, topic: str, event: str, payload: str | bytes) -> None:
    """Publish a payload that event_encode checked (ExPusher's REST API and Phoenix)."""
    await event_publish(app_id, Event(topic, event, payload))


async def event_trigger_checked(
    app_id: int,
    topic: str,
    event: str,
    payload: str | bytes,
    *,
    api: str = "rest",
    credential: object = None,
):
    """event_trigger for ExPusher's REST API (and the dashboard's event creator), whose
    200 says "delivered to every subscriber": refused (a Redis error, answered 503) while
    Redis is away or healing. `credential` names the caller (see api_message)."""
    await get_presence().check_ready()
    await event_publish(app_id, Event(topic, event, payload))  # event_trigger, one frame less
    api_message(app_id, [topic], event, payload, api=api, credential=credential)


def api_message(
    app_id: int,
    topics: list[str],
    event: str,
    data: str | bytes,
    api: str,
    credential: object = None,
):
    """Tell the listeners that an HTTP API published an event (see realtime.notifications).

    `credential` is whatever called: its str() names it by label or prefix, never by its
    secret; it is only turned into a string by a listener that shows it.
    """
    notifications.notify(
        app_id,
        notifications.API_MESSAGE,
        topics=topics,
        event=event,
        data=data,
        api=api,
        credential=credential,
    )


# For synchronous callers (DRF views run in a worker thread).
event_trigger_sync = async_to_sync(event_trigger_checked)
