"""Realtime JWTs: what a socket or REST caller may listen to and publish on.

Tokens are HS256-signed with EXPUSHER_JWT_KEY (never SECRET_KEY). Verification pins the
algorithm and requires exp, iat, iss, aud and sid, because PyJWT by default checks
neither audience nor issuer and does not require an expiry.
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from django.conf import settings

ALGORITHM = "HS256"
MAX_USER_ID_LENGTH = 128  # Pusher's documented limit, for JWT subs and presence members
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sid", "org", "apps", "listen", "publish"]


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
    """Sign a JWT; return (jwt, expires_at as a unix timestamp)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": settings.EXPUSHER_JWT_ISSUER,
        "aud": settings.EXPUSHER_JWT_AUDIENCE,
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
    return jwt.encode(payload, settings.EXPUSHER_JWT_KEY, algorithm=ALGORITHM), payload["exp"]


def verify(token: str) -> Claims:
    """Check signature, algorithm, issuer, audience and expiry; return the claims."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise TokenInvalid("missing or oversized token")
    try:
        data = jwt.decode(
            token,
            settings.EXPUSHER_JWT_KEY,
            algorithms=[ALGORITHM],
            audience=settings.EXPUSHER_JWT_AUDIENCE,
            issuer=settings.EXPUSHER_JWT_ISSUER,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired("token expired") from None
    except jwt.PyJWTError as e:
        raise TokenInvalid(str(e)) from None
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
