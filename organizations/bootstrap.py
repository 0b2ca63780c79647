"""Provisioning for operators: make sure a user administers an organization, in one call.

Used by the bootstrap_org and seed_demo commands; everything it changes goes through
organizations.services.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from organizations.models import Application, Membership, Organization, SecretToken
from organizations.services import application_create, organization_create, secret_token_create

User = get_user_model()


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
