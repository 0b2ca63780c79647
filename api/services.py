"""API-side use cases that compose organizations and realtime."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from api.exceptions import UnknownApplication
from organizations.models import Application, SecretToken
from organizations.services import secret_token_create
from realtime import tokens


@dataclass(frozen=True)
class Session:
    jwt: str
    expires_at: datetime


def session_create(
    *,
    token: SecretToken,
    listen: list[str],
    publish: list[str],
    apps: list[str] | None = None,
    user_id: str | None = None,
    user_info: dict[str, Any] | None = None,
    ttl: int | None = None,
) -> Session:
    """Exchange a secret token for a JWT carrying the requested (narrowed) claims.

    A secret token may grant anything within its organization, so the caller's `listen`
    and `publish` are taken as asked; `apps` must all be active applications of the
    organization (default: all of them). The lifetime is capped by EXPUSHER_JWT_MAX_TTL.
    """
    org_apps = set(
        token.organization.applications.filter(archived=False).values_list("app_key", flat=True)
    )
    if apps is None:
        apps = sorted(org_apps)
    unknown = [key for key in apps if key not in org_apps]
    if unknown:
        raise UnknownApplication(unknown[0])
    ttl = min(ttl or settings.EXPUSHER_JWT_DEFAULT_TTL, settings.EXPUSHER_JWT_MAX_TTL)
    jwt, expires_at = tokens.issue(
        organization_id=token.organization_id,
        token_id=token.pk,
        apps=apps,
        listen=listen,
        publish=publish,
        ttl=ttl,
        user_id=user_id,
        info=user_info,
    )
    return Session(jwt=jwt, expires_at=datetime.fromtimestamp(expires_at, tz=UTC))


DEMO_TOKEN_LABEL = "demo page"
DEMO_TTL = 3600


def demo_session(*, application: Application, user_id: str) -> tuple[str, datetime]:
    """A JWT for one visitor of the /demo/ chat page: listen and chat on "general".

    JWTs name the secret token they came from (`sid`, checked for revocation), so the
    demo page gets a token of its own, labelled "demo page": revoking it shuts the demo
    off without touching the organization's other tokens. Its plaintext is never needed.
    """
    token = SecretToken.objects.filter(
        organization=application.organization, label=DEMO_TOKEN_LABEL, revoked__isnull=True
    ).first()
    if token is None:
        token, _ = secret_token_create(
            organization=application.organization, label=DEMO_TOKEN_LABEL
        )
    jwt, expires_at = tokens.issue(
        organization_id=application.organization_id,
        token_id=token.pk,
        apps=[application.app_key],
        listen=["general", "presence:demo"],
        publish=["general"],
        ttl=DEMO_TTL,
        user_id=user_id,
        info={},
    )
    return jwt, datetime.fromtimestamp(expires_at, tz=UTC)
