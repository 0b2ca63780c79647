"""Who is connecting: the application, the JWT's claims, and the origin check.

Runs once per connection, before the upgrade is accepted. Everything a socket needs later
is copied into an Identity, so the per-message path never reads the database.
"""

import asyncio
import base64
import binascii
import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async

from organizations.selectors import secret_token_is_active
from realtime import errors, tokens
from realtime.applications import AppSnapshot, app_is_archived, app_snapshot
from realtime.denylist import jwt_denied
from realtime.topics import topic_allowed

logger = logging.getLogger(__name__)

# The phoenix client sends its authToken as this subprotocol (phoenix >= 1.8).
AUTH_SUBPROTOCOL_PREFIX = "base64url.bearer.phx."


@dataclass(frozen=True)
class Identity:
    app: AppSnapshot
    listen: tuple[str, ...]
    publish: tuple[str, ...]
    user_id: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    token_id: int | None = None  # the secret token behind the JWT, for revocation
    expires_at: int | None = None
    jti: str = ""  # the JWT's id, denied when the application disconnects its user
    # Nobody vouched for it (no JWT; a Pusher socket until its backend signs for it): it
    # may use only EXPUSHER_ANONYMOUS_CONNECTION_SHARE of the application's quota.
    anonymous: bool = False
    origin: str | None = None  # the browser page's, as it said; for the debug console

    def can_listen(self, topic: str) -> bool:
        return topic_allowed(self.listen, topic)

    def can_publish(self, topic: str) -> bool:
        return self.app.client_publishing and topic_allowed(self.publish, topic)


def token_from_subprotocols(subprotocols: list[str]) -> str | None:
    for proto in subprotocols:
        if proto.startswith(AUTH_SUBPROTOCOL_PREFIX):
            encoded = proto[len(AUTH_SUBPROTOCOL_PREFIX) :]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise errors.Unauthorized("malformed auth subprotocol") from None
    return None


def _origin_key(origin: str) -> str:
    parts = urlsplit(origin.strip().lower())
    return f"{parts.scheme}://{parts.netloc.rstrip('.')}"


def origin_allowed(allowed: tuple[str, ...], origin: str | None) -> bool:
    """An empty list allows any origin. Entries are exact origins or `scheme://*.domain`."""
    if not allowed:
        return True
    if not origin:
        return False
    key = _origin_key(origin)
    scheme, _, host = key.partition("://")
    for entry in allowed:
        entry = _origin_key(entry)
        if entry == key:
            return True
        entry_scheme, _, entry_host = entry.partition("://")
        if entry_host.startswith("*.") and entry_scheme == scheme:
            if host.endswith(entry_host[1:]) and len(host) > len(entry_host) - 1:
                return True
    return False


def identify(app_key: str | None, jwt: str | None, origin: str | None, unique_id: str | None):
    """Check the application, origin and JWT; return an Identity or raise a ProtocolError.

    A missing Origin (a non-browser client) is accepted only with a JWT, because the
    origin check is what protects anonymous browser sockets from foreign pages.
    """
    app = app_snapshot(app_key or "")
    if app is None or app.app_key != app_key:
        raise errors.ApplicationNotFound()
    if origin is not None or not jwt:
        if not origin_allowed(app.allowed_origins, origin):
            raise errors.OriginNotAllowed(f"origin {origin!r} is not allowed")
    if not jwt:
        return Identity(
            app,
            app.anonymous_listen,
            app.anonymous_publish,
            user_id=unique_id or None,
            anonymous=True,
            origin=origin,
        )
    try:
        claims = tokens.verify(jwt)
    except tokens.TokenExpired:
        raise errors.TokenExpired() from None
    except tokens.TokenInvalid as e:
        raise errors.Unauthorized(f"invalid token: {e}") from None
    if claims.organization_id != app.organization_id or not claims.covers_app(app.app_key):
        raise errors.Unauthorized("token is not valid for this application")
    if not secret_token_is_active(claims.token_id):
        raise errors.TokenRevoked()
    if jwt_denied(claims.jti):
        raise errors.Unauthorized("this JWT's user was disconnected by the application")
    return Identity(
        app,
        claims.listen,
        claims.publish,
        user_id=claims.user_id or unique_id or None,
        info=claims.info,
        token_id=claims.token_id,
        expires_at=claims.expires_at,
        jti=claims.jti,
        origin=origin,
    )


def _in_a_context_of_its_own(identify_in_a_thread):
    """Await it in a copy of the caller's context, dropped afterwards.

    sync_to_async copies what the worker thread set in its context (Django's cache and
    database handles, which live in context variables) back into the caller's: the
    socket's task, which would keep them (about 0.3 KiB) as long as it is open.
    """

    async def identify_here(*args):
        coroutine = identify_in_a_thread(*args)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().create_task(coroutine, context=context)

    return identify_here


aidentify = _in_a_context_of_its_own(database_sync_to_async(identify))


def identify_app(app_key: str | None, origin: str | None) -> Identity:
    """A connection that holds only the app key (Pusher): check the application and the
    origin as for an anonymous Phoenix socket; the protocol authorizes each channel."""
    app = app_snapshot(app_key or "")
    if app is None or app.app_key != app_key:
        if app_is_archived(app_key or ""):
            raise errors.ApplicationDisabled()
        raise errors.ApplicationNotFound()
    if not origin_allowed(app.allowed_origins, origin):
        raise errors.OriginNotAllowed(f"origin {origin!r} is not allowed")
    # Anonymous until a sign-in or a signed channel.
    return Identity(app, (), (), anonymous=True, origin=origin)


aidentify_app = _in_a_context_of_its_own(database_sync_to_async(identify_app))
