"""One error shape for the whole API: {"error": {"code": "...", "message": "..."}}.

Validation errors keep their per-field detail under "fields". Anything unexpected is
logged in full on the server and answered with a generic 500, never a traceback.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with an explicit code, status and message, raised by services and views."""

    def __init__(self, code: str, message: str, status_code: int = 400):
        super().__init__(detail=message, code=code)
        self.status_code = status_code


class PayloadTooLarge(ApiError):
    def __init__(self, message: str):
        super().__init__("payload_too_large", message, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


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
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

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
