"""Who is calling the REST API: a secret token, a realtime JWT, or a dashboard session.

Both Bearer schemes share the header; a secret token is recognised by its `exps_` prefix,
anything else is tried as a JWT. Each class returns None when its scheme is absent so the
next may try, and raises AuthenticationFailed when it is present but wrong.
"""

from dataclasses import dataclass

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from organizations.models import SecretToken
from organizations.secrets import SECRET_TOKEN_PREFIX
from organizations.selectors import secret_token_authenticate, secret_token_is_active
from organizations.services import secret_token_mark_used
from realtime import tokens
from realtime.denylist import jwt_denied

REALM = 'Bearer realm="expusher"'


@dataclass(frozen=True)
class SecretTokenCaller:
    """request.user for a secret-token call: the whole organization, no human behind it."""

    token: SecretToken
    is_authenticated = True
    is_anonymous = False
    is_staff = False

    @property
    def organization_id(self) -> int:
        return self.token.organization_id

    def __str__(self) -> str:
        """The credential as the debug console names it: label and visible prefix."""
        token = self.token
        return f"secret token {token.label or 'unlabelled'} ({token.prefix}…)"


@dataclass(frozen=True)
class JwtCaller:
    """request.user for a JWT call: limited to the JWT's apps and publish/listen claims."""

    claims: tokens.Claims
    is_authenticated = True
    is_anonymous = False
    is_staff = False

    @property
    def organization_id(self) -> int:
        return self.claims.organization_id

    def __str__(self) -> str:
        """The credential as the debug console names it (without a database query)."""
        claims = self.claims
        user = f", user {claims.user_id}" if claims.user_id else ""
        return f"JWT {claims.jti[:8]}… of secret token #{claims.token_id}{user}"


# The refusals, shared with the async trigger path (api.fast_auth).
MALFORMED_BEARER = "Malformed Authorization header: use 'Bearer <token>'."
MALFORMED_HEADER = "Malformed Authorization header."
INVALID_SECRET_TOKEN = "Invalid or revoked secret token."
JWT_EXPIRED = "The JWT has expired."
JWT_INVALID = "Invalid JWT."
JWT_TOKEN_REVOKED = "The secret token behind this JWT was revoked."
JWT_DENIED = "This JWT's user was disconnected by the application."


def bearer_value(header: bytes) -> str | None:
    """The token of an `Authorization: Bearer <token>` header's bytes; None for another
    scheme or no header."""
    parts = header.split()
    if not parts or parts[0].lower() != b"bearer":
        return None
    if len(parts) != 2:
        raise AuthenticationFailed(MALFORMED_BEARER)
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise AuthenticationFailed(MALFORMED_HEADER) from None


def jwt_claims(value: str) -> tokens.Claims:
    """The claims of a JWT whose signature, issuer, audience and expiry hold."""
    try:
        return tokens.verify(value)
    except tokens.TokenExpired:
        raise AuthenticationFailed(JWT_EXPIRED) from None
    except tokens.TokenInvalid:
        raise AuthenticationFailed(JWT_INVALID) from None


def _bearer(request) -> str | None:
    return bearer_value(get_authorization_header(request))


class SecretTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer exps_…` → (SecretTokenCaller, SecretToken)."""

    def authenticate(self, request):
        value = _bearer(request)
        if value is None or not value.startswith(SECRET_TOKEN_PREFIX):
            return None
        token = secret_token_authenticate(value)
        if token is None:
            raise AuthenticationFailed(INVALID_SECRET_TOKEN)
        secret_token_mark_used(token=token)
        return SecretTokenCaller(token), token

    def authenticate_header(self, request) -> str:
        return REALM


class JwtAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` → (JwtCaller, Claims).

    The JWT is refused once the secret token it came from is revoked (cached check).
    """

    def authenticate(self, request):
        value = _bearer(request)
        if value is None or value.startswith(SECRET_TOKEN_PREFIX):
            return None
        claims = jwt_claims(value)
        if not secret_token_is_active(claims.token_id):
            raise AuthenticationFailed(JWT_TOKEN_REVOKED)
        if jwt_denied(claims.jti):
            raise AuthenticationFailed(JWT_DENIED)
        return JwtCaller(claims), claims

    def authenticate_header(self, request) -> str:
        return REALM
