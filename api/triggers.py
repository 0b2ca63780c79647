"""What a trigger may send: the event checks behind the REST trigger endpoints.

Which application the caller may trigger on is api.scoping's question
(application_snapshot_for_caller). Both ways of serving a trigger, the DRF views
(api.views.events) and the async path (api.fast_triggers), take the parsed body and the
query parameters to these functions, so they cannot differ in what they accept.
"""

from django.conf import settings

from api.exceptions import (
    BatchTooLarge,
    Forbidden,
    InvalidEvent,
    InvalidPayload,
    InvalidTopic,
    PayloadTooLarge,
)
from realtime import errors
from realtime.applications import AppSnapshot
from realtime.events import event_encode
from realtime.tokens import Claims
from realtime.topics import topic_allowed


def event_prepare(
    application: AppSnapshot, claims: Claims | None, topic: str, event: str, payload: dict
) -> str:
    """Validate one event for `application`; return its payload as JSON for the hub.

    A JWT may only publish where its `publish` claim allows; a secret token anywhere.
    """
    try:
        payload_json = event_encode(topic, event, payload)
    except errors.PayloadTooLarge as e:
        raise PayloadTooLarge(e.detail) from None
    except errors.InvalidTopic:
        raise InvalidTopic(topic) from None
    except errors.InvalidEvent as e:
        raise InvalidEvent(e.detail) from None
    if claims is not None and not topic_allowed(claims.publish, topic):
        raise Forbidden(f"This JWT may not publish on {topic!r}.")
    return payload_json


DEFAULT_TOPIC = "general"


def event_payload(data, query_params) -> dict:
    """One event's payload: the JSON object of the body, or the form fields, or (when the
    form has none) the query parameters. `data` is DRF's parsed body."""
    if isinstance(data, dict) and not hasattr(data, "getlist"):
        return dict(data)  # a JSON object
    if hasattr(data, "getlist"):
        fields = {key: data.get(key) for key in data}
        if not fields:
            fields = {key: query_params.get(key) for key in query_params}
        return fields
    raise InvalidPayload()


def event_topic(payload: dict, query_params) -> str:
    """The topic, taken out of the payload, else from the query; "general" by default."""
    return payload.pop("topic", None) or query_params.get("topic") or DEFAULT_TOPIC


def batch_prepare(
    application: AppSnapshot, claims: Claims | None, events: list[dict]
) -> list[tuple[str, str, str]]:
    """(topic, event, payload JSON) of every event of a validated batch; every event is
    checked before any is sent, so a batch is all or nothing."""
    limit = settings.EXPUSHER_MAX_EVENTS_PER_BATCH
    if len(events) > limit:
        raise BatchTooLarge(limit)
    return [
        (
            e["topic"],
            e["event"],
            event_prepare(application, claims, e["topic"], e["event"], e["payload"]),
        )
        for e in events
    ]
