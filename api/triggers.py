"""Who may trigger what: the checks behind the REST trigger endpoints."""

from api.authentication import JwtCaller, SecretTokenCaller
from api.exceptions import ApiError, PayloadTooLarge
from realtime import errors
from realtime.applications import AppSnapshot, app_snapshot
from realtime.events import event_encode
from realtime.tokens import Claims
from realtime.topics import topic_allowed

NOT_FOUND = ("not_found", "No such application.", 404)


def trigger_application(caller, org: str, app: str) -> AppSnapshot:
    """The caller's active application named by `{org}` (slug or id) and `{app}`."""
    application = app_snapshot(app)
    if application is None or org not in (
        application.organization_slug,
        str(application.organization_id),
    ):
        raise ApiError(*NOT_FOUND)
    if not isinstance(caller, JwtCaller | SecretTokenCaller):
        raise ApiError("forbidden", "Use a secret token or a JWT as Bearer token.", 403)
    if caller.organization_id != application.organization_id:
        raise ApiError(*NOT_FOUND)  # another organization's app: do not reveal it exists
    if isinstance(caller, JwtCaller) and not caller.claims.covers_app(application.app_key):
        raise ApiError("forbidden", "This JWT is not valid for this application.", 403)
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
        raise ApiError("invalid_topic", f"Invalid topic {topic!r}.", 400) from None
    except errors.InvalidEvent as e:
        raise ApiError("invalid_event", e.detail, 400) from None
    if claims is not None and not topic_allowed(claims.publish, topic):
        raise ApiError("forbidden", f"This JWT may not publish on {topic!r}.", 403)
    return payload_json
