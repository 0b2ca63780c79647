"""Who is calling a REST trigger, decided on the event loop (api.fast_triggers).

The same decisions as the trigger views' JwtAuthentication then SecretTokenAuthentication
(api.authentication), with the same refusals, but every cached answer comes from this
process's short memos (organizations.local_cache): a warm call makes no thread hop and no
cache round trip. A secret token's "last used" write still happens at most once a minute,
in a worker thread, only when it is due.
"""

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
from organizations.secrets import SECRET_TOKEN_PREFIX
from organizations.selectors import secret_token_authenticate_async, secret_token_is_active_async
from organizations.services import secret_token_mark_used_async
from realtime.denylist import jwt_denied_async


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
    claims = jwt_claims(value)
    if not await secret_token_is_active_async(claims.token_id):
        raise AuthenticationFailed(JWT_TOKEN_REVOKED)
    if await jwt_denied_async(claims.jti):
        raise AuthenticationFailed(JWT_DENIED)
    return JwtCaller(claims)
