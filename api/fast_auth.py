"""Who is calling a REST trigger, decided on the event loop (api.fast_triggers).

The same decisions as the trigger views' JwtAuthentication then SecretTokenAuthentication
(api.authentication), with the same refusals, but every cached answer comes from this
process's short memos (organizations.local_cache): a warm call makes no thread hop and no
cache round trip. A secret token's "last used" write still happens at most once a minute,
in a worker thread, only when it is due.

A JWT's signature and claims are checked again only when this process has not verified
that very token within the last second (verification is most of a JWT trigger's CPU): the
result of a check depends on nothing but the token's bytes, the signing settings and the
clock, and the clock is checked on every use (an expired JWT is verified, and refused, anew).
"""

import time

from rest_framework.exceptions import AuthenticationFailed

from api.authentication import (
    INVALID_SECRET_TOKEN,
    JWT_DENIED,
    JWT_TOKEN_REVOKED,
    JwtCaller,
    SecretTokenCaller,
    bearer_value,
    jwt_claims,
)
from organizations.local_cache import MAX_SECONDS, LocalMemo
from organizations.secrets import SECRET_TOKEN_PREFIX
from organizations.selectors import secret_token_authenticate_async, secret_token_is_active_async
from organizations.services import secret_token_mark_used_async
from realtime import tokens
from realtime.denylist import jwt_denied_async

_verified = LocalMemo(lambda: MAX_SECONDS)  # JWT -> its Claims


async def caller_of(authorization: bytes) -> SecretTokenCaller | JwtCaller | None:
    """The caller named by an Authorization header's bytes; None without Bearer credentials
    (DRF then answers "not provided"); AuthenticationFailed when they are wrong."""
    value = bearer_value(authorization)
    if value is None:
        return None
    if value.startswith(SECRET_TOKEN_PREFIX):
        token = await secret_token_authenticate_async(value)
        if token is None:
            raise AuthenticationFailed(INVALID_SECRET_TOKEN)
        await secret_token_mark_used_async(token=token)
        return SecretTokenCaller(token)
    claims = _verified_claims(value)
    if not await secret_token_is_active_async(claims.token_id):
        raise AuthenticationFailed(JWT_TOKEN_REVOKED)
    if await jwt_denied_async(claims.jti):
        raise AuthenticationFailed(JWT_DENIED)
    return JwtCaller(claims)


def _verified_claims(jwt: str) -> tokens.Claims:
    claims = _verified.get(jwt)
    if not isinstance(claims, tokens.Claims) or time.time() >= claims.expires_at:
        claims = jwt_claims(jwt)  # raises for an invalid or expired JWT
        _verified.put(jwt, claims)
    return claims
