"""Who calls the Pusher HTTP API: the application named in the path, and the signature.

A warm request reads no database row and makes no thread hop: each process keeps the
application snapshots it resolved for up to a second, on top of realtime.applications'
shared cache, so archiving an application or rotating its secret reaches this API within
EXPUSHER_APP_CACHE_SECONDS plus a second. Only a cold lookup goes to a worker thread (a
warm one near the end of its second fetches anew in the background: organizations.local_cache).

Requests are signed as the official server libraries sign them (pusher-http-python
`pusher/http.py`, pusher-http-node `lib/requests.js`): query parameters auth_key,
auth_timestamp, auth_version=1.0, body_md5 (hex MD5 of the raw body, when there is one)
and auth_signature = hex HMAC-SHA256(secret, "METHOD\\n/path\\nkey-sorted query").
"""

import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.dispatch import receiver

from organizations.local_cache import LocalMemo, seconds_within
from organizations.signals import application_changed
from realtime.applications import AppSnapshot, app_is_archived, app_snapshot
from realtime.pusher import http_errors as errors
from realtime.pusher.signatures import body_md5, request_signature_valid, request_string

# Pusher refuses timestamps more than ten minutes off, in either direction.
MAX_CLOCK_SKEW_SECONDS = 600
APP_ID_RE = re.compile(r"[0-9]{1,18}")  # what fits the numeric app id column
AUTH_PARAMS = ("auth_key", "auth_timestamp", "auth_version", "auth_signature")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature holds, as the views receive it."""

    app: AppSnapshot
    params: dict[str, str]  # the query string
    body: bytes

    def json(self) -> dict:
        """The body as a JSON object (else 400)."""
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError):
            raise errors.InvalidJson("The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise errors.InvalidJson()
        return data


# (snapshot or None, archived?) per app id or key, from realtime.applications' cache.
_applications = LocalMemo(lambda: seconds_within(settings.EXPUSHER_APP_CACHE_SECONDS))


def forget_applications() -> None:
    """Drop this process's snapshots (tests reuse ids once their database is rolled back)."""
    _applications.clear()


@receiver(application_changed, dispatch_uid="pusher-http-forget-application")
def _forget_application(sender, application, **kwargs) -> None:
    """An application's secret or state changed: this process forgets it at once."""
    _applications.forget(application.app_key)
    _applications.forget(str(application.app_id))


def _lookup(ident: str) -> tuple[AppSnapshot | None, bool]:
    snapshot = app_snapshot(ident)
    return snapshot, snapshot is None and app_is_archived(ident)


async def _application(ident: str) -> tuple[AppSnapshot | None, bool]:
    """(snapshot or None, archived?) for an app id or key; remembered in this process."""
    return await _applications.through(ident, _lookup, ident)


async def application_by_id(app_id: str) -> AppSnapshot:
    """The active application with this numeric app id: else 404, or 403 if archived."""
    if APP_ID_RE.fullmatch(app_id) is None:
        raise errors.ApplicationNotFound()
    snapshot, archived = await _application(app_id)
    if snapshot is None or snapshot.app_id != int(app_id):
        raise errors.ApplicationDisabled() if archived else errors.ApplicationNotFound()
    return snapshot


async def application_by_key(params: Mapping[str, str]) -> AppSnapshot:
    """The application whose key signs a request whose path names no app id."""
    key = params.get("auth_key")
    if not key:
        raise errors.MissingAuth()
    snapshot, archived = await _application(key)
    if snapshot is None or snapshot.app_key != key:
        raise errors.ApplicationDisabled() if archived else errors.UnknownAuthKey()
    return snapshot


def check_signature(
    app: AppSnapshot, method: str, path: str, params: Mapping[str, str], body: bytes
) -> None:
    """Raise a 401 error unless the request is signed with the application's secret."""
    for name in AUTH_PARAMS:
        if not params.get(name):
            raise errors.MissingAuth()
    if params["auth_version"] != "1.0":
        raise errors.AuthFailed("auth_version must be 1.0.")
    if params["auth_key"] != app.app_key:
        raise errors.UnknownAuthKey()
    _check_timestamp(params["auth_timestamp"])
    given_md5 = params.get("body_md5")
    if body or given_md5 is not None:
        if given_md5 is None:
            raise errors.BodyMd5Mismatch("body_md5 is required when the request has a body.")
        if not hmac.compare_digest(given_md5.encode(), body_md5(body).encode()):
            raise errors.BodyMd5Mismatch("body_md5 is not the MD5 of the body.")
    for secret in app.verifying_secrets():
        if request_signature_valid(secret, method, path, params):
            break
    else:
        # What to sign is no secret, and saying it is the quickest help to a library author.
        expected = request_string(method, path, params)
        raise errors.AuthFailed(
            f"Invalid signature: expected the hex HMAC-SHA256 of {expected!r} "
            "with the application's secret."
        )


def _check_timestamp(value: str) -> None:
    now = int(time.time())
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        raise errors.StaleTimestamp("auth_timestamp must be whole seconds since the epoch.")
    if abs(now - int(value)) > MAX_CLOCK_SKEW_SECONDS:
        raise errors.StaleTimestamp(
            f"auth_timestamp {value} is more than {MAX_CLOCK_SKEW_SECONDS} s away from "
            f"the server's time, {now}."
        )
