"""Who may trigger what: the checks behind the REST trigger endpoints."""

from api.authentication import JwtCaller, SecretTokenCaller
from api.exceptions import Forbidden, InvalidEvent, InvalidTopic, NotFound, PayloadTooLarge
from realtime import errors
from realtime.applications import AppSnapshot, app_snapshot
from realtime.events import event_encode
from realtime.tokens import Claims
from realtime.topics import topic_allowed

NO_SUCH_APPLICATION = "No such application."


def trigger_application(caller, org: str, app: str) -> AppSnapshot:
    """The caller's active application named by `{org}` (slug or id) and `{app}`."""
    application = app_snapshot(app)
    if application is None or org not in (
        application.organization_slug,
        str(application.organization_id),
    ):
        raise NotFound(NO_SUCH_APPLICATION)
    if not isinstance(caller, JwtCaller | SecretTokenCaller):
        raise Forbidden("Use a secret token or a JWT as Bearer token.")
    if caller.organization_id != application.organization_id:
        raise NotFound(NO_SUCH_APPLICATION)  # another organization's app: do not reveal it exists
    if isinstance(caller, JwtCaller) and not caller.claims.covers_app(application.app_key):
        raise Forbidden("This JWT is not valid for this application.")
    return application


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
