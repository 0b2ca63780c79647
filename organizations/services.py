"""Everything that changes organizations, members, applications and secret tokens.

Views, API views and management commands call these functions and never repeat their
logic. Each is keyword-only and does its writes in one transaction.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from organizations import secrets
from organizations.models import Application, Membership, Organization, SecretToken
from organizations.selectors import secret_token_cache_keys

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
        cache.delete_many(secret_token_cache_keys(token))
    return organization


@transaction.atomic
def user_signup(
    *, email: str, password: str, organization_name: str
) -> tuple[AbstractBaseUser, Organization, str]:
    """Create a user, their organization and a first secret token (returned in plaintext)."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationError({"email": "An account with this e-mail already exists."})
    user = User.objects.create_user(username=email, email=email, password=password)
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


def secret_token_revoke(*, token: SecretToken) -> SecretToken:
    """Revoke a token. JWTs issued from it stop working once the short cache expires."""
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
    cache.delete_many(secret_token_cache_keys(token))
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


@dataclass(frozen=True)
class OrganizationBootstrap:
    """What organization_bootstrap found or made. Plaintext secrets exist only here."""

    user: AbstractBaseUser
    user_created: bool
    organization: Organization
    organization_created: bool
    token: SecretToken
    token_plaintext: str
    application: Application | None = None
    application_created: bool = False
    app_secret: str | None = None  # only for a just-created application


def _bootstrap_user(
    *, email: str, password: str | None, password_reset: bool
) -> tuple[AbstractBaseUser, bool]:
    email = User.objects.normalize_email(email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{email!r} is not a valid e-mail address."}) from None
    user = User.objects.filter(username__iexact=email).first()
    created = user is None
    if created:
        user = User(username=email, email=email)
    if password is not None and (created or password_reset):
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        user.set_password(password)
    elif created:
        # No password: the user sets one through the password-reset flow.
        user.set_unusable_password()
    user.save()
    return user, created


def _bootstrap_application(
    *, organization: Organization, name: str, reuse: bool
) -> tuple[Application, bool, str | None]:
    if reuse:
        found = organization.applications.filter(name=name.strip(), archived=False)
        application = found.order_by("pk").first()
        if application is not None:
            return application, False, None
    application, app_secret = application_create(organization=organization, name=name)
    return application, True, app_secret


@transaction.atomic
def organization_bootstrap(
    *,
    name: str,
    email: str,
    password: str | None = None,
    password_reset: bool = True,
    app_name: str | None = None,
    app_reuse: bool = False,
    label: str = "bootstrap",
) -> OrganizationBootstrap:
    """Make sure `email` administers an organization called `name`; issue a new secret token.

    For operators (the bootstrap_org and seed_demo commands), so it is safe to repeat: the
    user is matched by e-mail, the organization by name among those the user administers,
    and each is created only when missing. `password` is set on a new user (without one
    the account gets an unusable password) and, with `password_reset`, on an existing one.
    With `app_name` an application is created, or with `app_reuse` one of that name reused.
    """
    user, user_created = _bootstrap_user(
        email=email, password=password, password_reset=password_reset
    )
    organization = (
        Organization.objects.filter(
            name=(name or "").strip(),
            archived=False,
            memberships__user=user,
            memberships__role=Membership.Role.ADMIN,
        )
        .order_by("pk")
        .first()
    )
    organization_created = organization is None
    if organization_created:
        organization = organization_create(name=name or "", owner=user)
    token, plaintext = secret_token_create(organization=organization, label=label, created_by=user)
    application, application_created, app_secret = None, False, None
    if app_name is not None:
        application, application_created, app_secret = _bootstrap_application(
            organization=organization, name=app_name, reuse=app_reuse
        )
    return OrganizationBootstrap(
        user=user,
        user_created=user_created,
        organization=organization,
        organization_created=organization_created,
        token=token,
        token_plaintext=plaintext,
        application=application,
        application_created=application_created,
        app_secret=app_secret,
    )
