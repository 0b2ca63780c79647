"""The API's errors, as a named catalogue, and the one shape they are answered in.

Every error a view or service raises is a class below that declares its HTTP status,
its code and its default message once; raise sites name the class (`raise NotFound(...)`)
and pass a message only where it says more than the default. Clients see
{"error": {"code": "...", "message": "..."}}; validation errors keep their per-field
detail under "fields". Anything unexpected is logged in full on the server and answered
with a generic 500, never a traceback.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from realtime.tokens import MAX_USER_ID_LENGTH

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """Base of the catalogue: DRF's status_code / default_code / default_detail."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "error"
    default_detail = "Bad request."


# 400: the request itself is wrong.
class InvalidTopic(ApiError):
    default_code = "invalid_topic"

    def __init__(self, topic: str):
        super().__init__(f"Invalid topic {topic!r}.")


class InvalidPrefix(ApiError):
    default_code = "invalid_prefix"

    def __init__(self, prefix: str):
        super().__init__(f"Invalid topic prefix {prefix!r}.")


class InvalidEvent(ApiError):
    default_code = "invalid_event"
    default_detail = "Invalid event name."


class InvalidPayload(ApiError):
    default_code = "invalid_payload"
    default_detail = "The JSON body must be an object."


class NotPresenceTopic(ApiError):
    default_code = "not_presence_topic"

    def __init__(self, topic: str):
        super().__init__(f"{topic!r} is not a presence topic (presence:… or presence-…).")


class BatchTooLarge(ApiError):
    default_code = "batch_too_large"

    def __init__(self, limit: int):
        super().__init__(f"A batch holds at most {limit} events.")


class InvalidUserId(ApiError):
    default_code = "invalid_user_id"
    default_detail = f"A user id has 1 to {MAX_USER_ID_LENGTH} characters."


# 401: POST /api/sessions takes its secret token in the body, not as a DRF credential.
class InvalidSecretToken(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_token"
    default_detail = "Invalid, revoked or missing secret token."


# 403: the caller is known but may not do this.
class Forbidden(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"
    default_detail = "You may not do this."


# 404: outside the caller's scope or nonexistent, which must look alike (api.scoping).
class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


# 409: the object's state forbids the change.
class ApplicationArchived(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "archived"
    default_detail = "This application is archived and cannot change."


# 413
class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The event payload is too large."


# 422: well-formed, but the session cannot be issued as asked.
class InvalidSessionRequest(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "invalid"
    default_detail = "Invalid session request."


class UnknownApplication(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unknown_application"

    def __init__(self, app_key: str):
        super().__init__(f"Unknown application: {app_key}")


# 503: Redis (the channel layer, the cache, presence) is unreachable, or healing after a
# restart; DRF adds Retry-After from `wait`.
class StoreUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "The message store is unavailable; retry shortly."
    wait = 1


def error_response(code: str, message: str, status_code: int, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=status_code)


def _message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return f"{key}: {_message(value)}"
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RedisError):
        logger.warning("API: store fault: %r", exc)
        exc = StoreUnavailable()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return error_response("server_error", "Internal server error.", 500)

    if isinstance(exc, exceptions.ValidationError):
        code, extra = "invalid", {"fields": exc.detail}
        status_code = getattr(exc, "status_code", 400)
        message = _message(exc.detail)
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        message, extra, status_code = _message(exc.detail), {}, response.status_code

    error = error_response(code, message, status_code, **extra)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            error[header] = response[header]
    return error
