"""Realtime JWTs: what a socket or REST caller may listen to and publish on.

Tokens are HS256-signed with EXPUSHER_JWT_KEY (never SECRET_KEY) through simplejwt's
TokenBackend, which pins the algorithm (so "alg": "none" or RS256 tokens are refused) and
checks signature, expiry, issuer and audience. It neither requires claims nor insists on a
single audience, so verify() adds both checks: every REQUIRED_CLAIMS entry must be present
and `aud` must be exactly our audience, as a string.
"""

import functools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sid", "org", "apps", "listen", "publish"]
MAX_TOKEN_LENGTH = 8192
# The `sub` claim and every other user id: Pusher's documented limit for presence user ids.
MAX_USER_ID_LENGTH = 128


class TokenInvalid(Exception):
    """The token is malformed, badly signed, for someone else, or otherwise unusable."""


class TokenExpired(TokenInvalid):
    """The token was valid but its `exp` has passed."""


@dataclass(frozen=True)
class Claims:
    """The verified content of a realtime JWT."""

    organization_id: int
    token_id: int  # `sid`: the secret token it was issued from
    apps: tuple[str, ...]
    listen: tuple[str, ...]
    publish: tuple[str, ...]
    expires_at: int
    user_id: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    jti: str = ""

    def covers_app(self, app_key: str) -> bool:
        return app_key in self.apps


@functools.lru_cache(maxsize=4)
def _backend_for(key: str, issuer: str, audience: str) -> TokenBackend:
    return TokenBackend(ALGORITHM, signing_key=key, issuer=issuer, audience=audience)


def _backend() -> TokenBackend:
    """The backend for the current settings (tests may change them)."""
    return _backend_for(
        settings.EXPUSHER_JWT_KEY, settings.EXPUSHER_JWT_ISSUER, settings.EXPUSHER_JWT_AUDIENCE
    )


def issue(
    *,
    organization_id: int,
    token_id: int,
    apps: list[str],
    listen: list[str],
    publish: list[str],
    ttl: int,
    user_id: str | None = None,
    info: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """Sign a JWT; return (jwt, expires_at as a unix timestamp). The backend adds iss and aud."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "org": organization_id,
        "sid": token_id,
        "apps": list(apps),
        "listen": list(listen),
        "publish": list(publish),
        "info": info or {},
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    if user_id is not None:
        payload["sub"] = str(user_id)
    return _backend().encode(payload), payload["exp"]


def verify(token: str) -> Claims:
    """Check signature, algorithm, issuer, audience, expiry and claims; return the claims."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid("missing or oversized token")
    backend = _backend()
    try:
        data = backend.decode(token)
    except TokenBackendExpiredToken:
        raise TokenExpired("token expired") from None
    except TokenBackendError as e:
        # simplejwt's message is a generic "Token is invalid"; PyJWT's (its cause) says why.
        raise TokenInvalid(str(e.__cause__ or e)) from None
    # Checked after expiry (PyJWT's own `require` came first): an expired token that also
    # lacks a claim is reported as expired. Either way it is refused.
    for claim in REQUIRED_CLAIMS:
        if data.get(claim) is None:
            raise TokenInvalid(f'Token is missing the "{claim}" claim')
    # The backend accepts a list of audiences that holds ours; we want ours alone.
    if not isinstance(data["aud"], str):
        raise TokenInvalid("Invalid claim format in token (strict)")
    if data["aud"] != backend.audience:
        raise TokenInvalid("Audience doesn't match (strict)")
    return _claims_from(data)


def _string_list(data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TokenInvalid(f"claim {key!r} must be a list of strings")
    return tuple(value)


def _claims_from(data: dict[str, Any]) -> Claims:
    org, sid, info = data.get("org"), data.get("sid"), data.get("info", {})
    if not isinstance(org, int) or not isinstance(sid, int):
        raise TokenInvalid("claims 'org' and 'sid' must be integers")
    if not isinstance(info, dict):
        raise TokenInvalid("claim 'info' must be an object")
    sub = data.get("sub")
    return Claims(
        organization_id=org,
        token_id=sid,
        apps=_string_list(data, "apps"),
        listen=_string_list(data, "listen"),
        publish=_string_list(data, "publish"),
        expires_at=int(data["exp"]),
        user_id=str(sub) if sub is not None else None,
        info=info,
        jti=str(data.get("jti", "")),
    )
