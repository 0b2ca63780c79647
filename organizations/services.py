"""Everything that changes organizations, members, applications and secret tokens.

Views, API views and management commands call these functions and never repeat their
logic. Each is keyword-only and does its writes in one transaction.
"""

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from organizations import secrets
from organizations.credentials import application_changed_everywhere
from organizations.local_cache import LocalMemo
from organizations.models import Application, Membership, Organization, SecretToken
from organizations.selectors import secret_token_cache_drop

User = get_user_model()

APPLICATION_SETTINGS = (
    "name",
    "allowed_origins",
    "anonymous_listen",
    "anonymous_publish",
    "client_publishing",
    "max_connections",
    "max_presence_members",
    "client_push_rate",
    "webhook_url",
    "webhook_extra_urls",
    "webhook_events",
    "webhooks_enabled",
)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    # A purely numeric slug would be ambiguous with an organization id in URLs.
    if base.isdigit():
        base = f"org-{base}"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: AbstractBaseUser) -> Organization:
    """Create an organization with `owner` as its first admin."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "An organization needs a name."})
    organization = Organization.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Membership.Role.ADMIN)
    return organization


def organization_update(*, organization: Organization, name: str) -> Organization:
    organization.name = name.strip() or organization.name
    organization.save(update_fields=["name"])
    return organization


def organization_archive(*, organization: Organization) -> Organization:
    """Archive an organization; nothing is deleted.

    Its secret tokens stop authenticating at once. The cached "token is active" answers
    are dropped too, so JWTs issued from those tokens stop working now, not in seconds.
    """
    organization.archived = True
    organization.save(update_fields=["archived"])
    for token in organization.secret_tokens.all():
        secret_token_cache_drop(token)
    return organization


@transaction.atomic
def user_signup(
    *,
    email: str,
    organization_name: str,
    password: str | None = None,
    password_hash: str | None = None,
) -> tuple[AbstractBaseUser, Organization, str]:
    """Create a user, their organization and a first secret token (returned in plaintext).

    The password comes as plaintext or already hashed (organizations.signup's links
    carry only the hash).
    """
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationError({"email": "An account with this e-mail already exists."})
    user = User.objects.create_user(username=email, email=email, password=password)
    if password_hash is not None:
        user.password = password_hash
        user.save(update_fields=["password"])
    organization = organization_create(name=organization_name, owner=user)
    _, plaintext = secret_token_create(organization=organization, label="default", created_by=user)
    return user, organization, plaintext


@transaction.atomic
def membership_add(
    *, organization: Organization, email: str, role: str = Membership.Role.MEMBER
) -> tuple[Membership, bool]:
    """Add the user with this e-mail, creating a passwordless account if there is none.

    Returns (membership, user_created). A created user sets a password through the
    password-reset flow, which is how the invitation reaches them.
    """
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(username__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(username=email, email=email)
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership, new = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    if not new:
        raise ValidationError({"email": "This user is already a member."})
    return membership, created


def _admins_left(organization: Organization, excluding: Membership) -> int:
    return (
        organization.memberships.filter(role=Membership.Role.ADMIN).exclude(pk=excluding.pk).count()
    )


def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role != Membership.Role.ADMIN and membership.is_admin:
        if _admins_left(membership.organization, membership) == 0:
            raise ValidationError({"role": "An organization needs at least one admin."})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    if membership.is_admin and _admins_left(membership.organization, membership) == 0:
        raise ValidationError({"role": "An organization needs at least one admin."})
    membership.delete()


def _new_app_id() -> int:
    while True:
        app_id = secrets.app_id_generate()
        if not Application.objects.filter(app_id=app_id).exists():
            return app_id


def application_create(
    *, organization: Organization, name: str, **app_settings
) -> tuple[Application, str]:
    """Create an application; return it with its app secret in plaintext (shown once)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "An application needs a name."})
    unknown = set(app_settings) - set(APPLICATION_SETTINGS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}")
    app_secret = secrets.app_secret_generate()
    application = Application(
        organization=organization,
        name=name,
        app_key=secrets.app_key_generate(),
        app_id=_new_app_id(),
        secret_encrypted=secrets.app_secret_encrypt(app_secret),
        **app_settings,
    )
    application.full_clean()
    application.save()
    return application, app_secret


def application_update(*, application: Application, **changes) -> Application:
    unknown = set(changes) - set(APPLICATION_SETTINGS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(application, field, value)
    application.full_clean()
    application.save()
    return application


def application_archive(*, application: Application) -> Application:
    """Archived applications refuse new connections and triggers; nothing is deleted."""
    application.archived = True
    application.save(update_fields=["archived"])
    application_changed_everywhere(application)
    return application


def secret_token_create(
    *, organization: Organization, label: str = "", created_by: AbstractBaseUser | None = None
) -> tuple[SecretToken, str]:
    """Create a secret token; return it with its plaintext, which is never stored."""
    plaintext, lookup, digest = secrets.secret_token_generate()
    token = SecretToken.objects.create(
        organization=organization,
        label=label.strip(),
        prefix=lookup,
        digest=digest,
        created_by=created_by,
    )
    return token, plaintext


def secret_token_update(
    *, token: SecretToken, label: str | None = None, description: str | None = None
) -> SecretToken:
    """Rename or describe a token (what it is for); its secret does not change."""
    if label is not None:
        token.label = label.strip()
    if description is not None:
        token.description = description.strip()
    token.full_clean(exclude=["digest", "prefix"])
    token.save(update_fields=["label", "description"])
    return token


def secret_token_revoke(*, token: SecretToken) -> SecretToken:
    """Revoke a token. JWTs issued from it stop working once the short cache expires."""
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
    secret_token_cache_drop(token)
    return token


def secret_token_mark_used(*, token: SecretToken) -> None:
    """Record use at most once a minute, so hot API clients do not write on every call.

    The minute is kept in the cache (an atomic add), not read from the token, because
    the token itself may come from the authentication cache with a stale last_used.
    """
    if cache.add(f"secret-token-used:{token.pk}", True, 60):
        now = timezone.now()
        SecretToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now


MARK_USED_SECONDS = 60
_marked_recently = LocalMemo(lambda: MARK_USED_SECONDS)


async def secret_token_mark_used_async(*, token: SecretToken) -> None:
    """secret_token_mark_used from the event loop: this process asks (in a worker thread:
    the cache's atomic add, then perhaps the write) at most once a minute per token, and
    otherwise does nothing at all."""
    if _marked_recently.get(token.pk) is True:
        return
    _marked_recently.put(token.pk, True)
    await database_sync_to_async(secret_token_mark_used)(token=token)
