"""Read-only lookups. Everything that answers "which object may this caller see" is here."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import QuerySet

from organizations import secrets
from organizations.local_cache import LocalMemo, seconds_within
from organizations.models import Application, Membership, Organization, SecretToken


def organizations_for_user(user: AbstractBaseUser) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user, archived=False).distinct()


def organization_get(*, ident: str, queryset: QuerySet[Organization] | None = None):
    """Find an organization by slug or numeric id within `queryset`; None if absent."""
    queryset = Organization.objects.filter(archived=False) if queryset is None else queryset
    found = queryset.filter(slug=ident).first()
    if found is None and str(ident).isdecimal():
        found = queryset.filter(pk=int(ident)).first()
    return found


def organization_get_for_user(*, user: AbstractBaseUser, ident: str) -> Organization | None:
    return organization_get(ident=ident, queryset=organizations_for_user(user))


def membership_get(*, user: AbstractBaseUser, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def application_get(
    *, organization: Organization, ident: str, include_archived: bool = False
) -> Application | None:
    """Find an application of `organization` by app key or numeric app id."""
    apps = organization.applications.all()
    if not include_archived:
        apps = apps.filter(archived=False)
    found = apps.filter(app_key=ident).first()
    if found is None and str(ident).isdecimal():
        found = apps.filter(app_id=int(ident)).first()
    return found


def application_get_by_key(app_key: str) -> Application | None:
    """The active application with this public key (sockets connect with it)."""
    return (
        Application.objects.select_related("organization")
        .filter(app_key=app_key, archived=False, organization__archived=False)
        .first()
    )


def application_key_by_pk(pk: int) -> str | None:
    """The public key of the application with this primary key, archived or not."""
    return Application.objects.filter(pk=pk).values_list("app_key", flat=True).first()


def application_get_by_app_id(app_id: int) -> Application | None:
    """The active application with this numeric id (the Pusher HTTP API uses it)."""
    return (
        Application.objects.select_related("organization")
        .filter(app_id=app_id, archived=False, organization__archived=False)
        .first()
    )


def application_is_archived(ident: str) -> bool:
    """Is there an archived application (or one of an archived organization) with this
    app key or numeric app id?"""
    archived = Application.objects.filter(archived=True) | Application.objects.filter(
        organization__archived=True
    )
    if archived.filter(app_key=ident).exists():
        return True
    return ident.isdecimal() and len(ident) <= 18 and archived.filter(app_id=int(ident)).exists()


def application_secret(application: Application) -> str:
    return secrets.app_secret_decrypt(application.secret_encrypted)


def application_snapshot_cache_key(ident: str) -> str:
    """The shared cache's entry of the realtime snapshot of an application, by key or id."""
    return f"app-snapshot:{ident}"


def application_archived_cache_key(ident: str) -> str:
    return f"app-archived:{ident}"


def application_cache_drop(application: Application) -> None:
    """Forget every shared cache entry about this application (its credentials or state
    changed), under both names it is looked up by."""
    idents = (application.app_key, str(application.app_id))
    cache.delete_many(
        [application_snapshot_cache_key(i) for i in idents]
        + [application_archived_cache_key(i) for i in idents]
    )


def secret_token_authenticate(plaintext: str) -> SecretToken | None:
    """The active token whose plaintext this is, compared in constant time; else None.

    A match is cached for EXPUSHER_REVOCATION_CACHE_SECONDS under the token's digest, so
    a backend triggering events in a loop does not query the database on every call;
    revoking or archiving drops the entry at once (secret_token_cache_keys).
    """
    if not isinstance(plaintext, str) or not plaintext.startswith(secrets.SECRET_TOKEN_PREFIX):
        return None
    digest = secrets.secret_token_digest(plaintext)
    cached = cache.get(_digest_cache_key(digest))
    if cached is not None:
        return cached
    lookup = secrets.secret_token_lookup(plaintext)
    candidates = SecretToken.objects.select_related("organization").filter(
        prefix=lookup, revoked__isnull=True, organization__archived=False
    )
    for token in candidates:
        if secrets.secret_token_matches(plaintext, token.digest):
            cache.set(_digest_cache_key(digest), token, settings.EXPUSHER_REVOCATION_CACHE_SECONDS)
            return token
    return None


def _digest_cache_key(digest: str) -> str:
    return f"secret-token-by-digest:{digest}"


def secret_token_cache_key(token_id: int) -> str:
    return f"secret-token-active:{token_id}"


def secret_token_cache_keys(token: SecretToken) -> list[str]:
    """Every cache entry that vouches for this token (dropped when it is revoked)."""
    return [secret_token_cache_key(token.pk), _digest_cache_key(token.digest)]


def secret_token_is_active(token_id: int) -> bool:
    """Whether a secret token (a JWT's `sid`) is still valid.

    Cached for EXPUSHER_REVOCATION_CACHE_SECONDS so that sockets and REST calls do not
    query the database each time, while a revocation takes effect within seconds.
    """
    key = secret_token_cache_key(token_id)
    active = cache.get(key)
    if active is None:
        active = SecretToken.objects.filter(
            pk=token_id, revoked__isnull=True, organization__archived=False
        ).exists()
        cache.set(key, active, settings.EXPUSHER_REVOCATION_CACHE_SECONDS)
    return active


# Their process-local memos, for the event loop (organizations.local_cache).
def _revocation_seconds() -> float:
    return seconds_within(settings.EXPUSHER_REVOCATION_CACHE_SECONDS)


_tokens_by_digest = LocalMemo(_revocation_seconds)
_tokens_active = LocalMemo(_revocation_seconds)


async def secret_token_authenticate_async(plaintext: str) -> SecretToken | None:
    """secret_token_authenticate from the event loop: a match this process made within the
    last second is answered at once; anything else is asked in a worker thread. As in the
    shared cache, only matches are remembered."""
    if not isinstance(plaintext, str) or not plaintext.startswith(secrets.SECRET_TOKEN_PREFIX):
        return None
    return await _tokens_by_digest.through(
        secrets.secret_token_digest(plaintext),
        secret_token_authenticate,
        plaintext,
        remember=lambda token: token is not None,
    )


async def secret_token_is_active_async(token_id: int) -> bool:
    """secret_token_is_active from the event loop, remembered here for at most a second."""
    return await _tokens_active.through(token_id, secret_token_is_active, token_id)


def secret_token_cache_drop(token: SecretToken) -> None:
    """Forget, in the shared cache and in this process, that this token was active
    (it was revoked, or its organization archived)."""
    cache.delete_many(secret_token_cache_keys(token))
    _tokens_by_digest.forget(token.digest)
    _tokens_active.forget(token.pk)


def secret_tokens_for_organization(organization: Organization) -> QuerySet[SecretToken]:
    return organization.secret_tokens.select_related("created_by")


def secret_token_get(*, organization: Organization, token_id: int) -> SecretToken | None:
    """A token of this organization only: ids of other organizations' tokens find nothing."""
    return secret_tokens_for_organization(organization).filter(pk=token_id).first()


def applications_for_organization(organization: Organization) -> QuerySet[Application]:
    """All of an organization's applications, archived ones included (they are listed)."""
    return organization.applications.order_by("archived", "name")


def active_applications_of(organizations: list[Organization]) -> list[Application]:
    """The active applications of these organizations, in one query."""
    return list(
        Application.objects.filter(organization__in=organizations, archived=False).order_by("name")
    )


def memberships_for_organization(organization: Organization) -> QuerySet[Membership]:
    return organization.memberships.select_related("user").order_by("user__email")


def membership_get_by_id(*, organization: Organization, membership_id: int) -> Membership | None:
    return memberships_for_organization(organization).filter(pk=membership_id).first()
