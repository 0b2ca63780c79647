"""What a trigger may send: the event checks behind the REST trigger endpoints.

Which application the caller may trigger on is api.scoping's question
(application_snapshot_for_caller).
"""

from api.exceptions import Forbidden, InvalidEvent, InvalidTopic, PayloadTooLarge
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
