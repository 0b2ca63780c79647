"""What the Pusher HTTP API answers when it refuses a request, as a named catalogue.

Each error declares its HTTP status and a stable code once; a raise site adds a message
only where it says more than the default. Clients see ExPusher's one error shape,
{"error": {"code": "...", "message": "..."}}, whose status is the one Pusher documents
(400 bad input, 401 signature, 403 application disabled, 413 too large) and which the
official server libraries turn into their own exceptions.
"""

from typing import ClassVar


class HttpApiError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "Bad request."
    headers: ClassVar[tuple[tuple[bytes, bytes], ...]] = ()

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.detail = message or self.message


# 400: the request itself is wrong.
class InvalidJson(HttpApiError):
    code, message = "invalid_json", "The body must be a JSON object."


class InvalidField(HttpApiError):
    code = "invalid_field"


class InvalidChannel(HttpApiError):
    code = "invalid_channel"

    def __init__(self, channel: str):
        super().__init__(
            f"Invalid channel {channel[:200]!r}: channel names are 1-200 characters of "
            "A-Z a-z 0-9 _ - = @ , . ; :"
        )


class InvalidEvent(HttpApiError):
    code = "invalid_event"


class InvalidSocketId(HttpApiError):
    code, message = "invalid_socket_id", "socket_id must look like 1234.5678."


class TooManyChannels(HttpApiError):
    code = "too_many_channels"


class EncryptedMultiChannel(HttpApiError):
    code = "encrypted_multi_channel"
    message = "An event for a private-encrypted- channel may be triggered on that channel only."


class BatchTooLarge(HttpApiError):
    code = "batch_too_large"


class InvalidInfo(HttpApiError):
    code = "invalid_info"


class NotPresenceChannel(HttpApiError):
    code = "not_presence_channel"


class InvalidUserId(HttpApiError):
    code = "invalid_user_id"


# 401: the signature does not hold.
class AuthFailed(HttpApiError):
    status, code, message = 401, "invalid_signature", "Invalid signature."


class MissingAuth(AuthFailed):
    code = "missing_auth"
    message = "auth_key, auth_timestamp, auth_version and auth_signature are required."


class UnknownAuthKey(AuthFailed):
    code, message = "unknown_auth_key", "auth_key is not this application's key."


class StaleTimestamp(AuthFailed):
    code = "stale_timestamp"


class BodyMd5Mismatch(AuthFailed):
    code = "body_md5_mismatch"


# 403, 404, 405, 413
class ApplicationDisabled(HttpApiError):
    status, code, message = 403, "app_disabled", "This application is disabled."


class ApplicationNotFound(HttpApiError):
    status, code, message = 404, "app_not_found", "No application has this id."


class NotFound(HttpApiError):
    status, code, message = 404, "not_found", "No such endpoint of the Pusher HTTP API."


class MethodNotAllowed(HttpApiError):
    status, code = 405, "method_not_allowed"

    def __init__(self, allowed: list[str]):
        super().__init__(f"Use {' or '.join(allowed)}.")
        self.headers = ((b"allow", ", ".join(allowed).encode()),)


class BodyTooLarge(HttpApiError):
    status, code = 413, "body_too_large"


class PayloadTooLarge(HttpApiError):
    status, code = 413, "payload_too_large"


# 5xx
class Unavailable(HttpApiError):
    status, code = 503, "unavailable"
    message = "The message store is unavailable; retry shortly."
    headers = ((b"retry-after", b"1"),)


class ServerError(HttpApiError):
    status, code, message = 500, "server_error", "Internal server error."
