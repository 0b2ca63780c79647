"""Sign-up that does not tell anyone which e-mail addresses have accounts.

Whatever address is given, the page says the same thing: a message is on its way to that
address. If the address has no account, the message holds a link that creates it (the
account, its organization and first secret token are made only when the link is used);
if it has one, the message says so and points to the log-in and password-reset pages.
Nothing is created before the owner of the address follows the link, so nobody learns
from the answer, and nobody can hold an address they do not read.

The link carries the pending sign-up itself (address, password hash, organization name),
encrypted and authenticated with a key derived from EXPUSHER_ENCRYPTION_KEY, and expires
after SIGNUP_LINK_SECONDS: no table of pending sign-ups to clean up.
"""

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError
from django.template.loader import render_to_string
from django.urls import reverse

from organizations import secrets, services
from organizations.site import public_base_url

User = get_user_model()

SIGNUP_LINK_SECONDS = 2 * 24 * 3600
_PURPOSE = "signup:"


def signup_request(
    *, email: str, password: str, organization_name: str, base_url: str | None = None
) -> None:
    """E-mail `email` either a link that creates the account or a note that it exists.

    Both paths hash the password and send one message, so they also take about as long.
    Links start with `base_url` (organizations.site; SITE_URL without one).
    """
    email = User.objects.normalize_email(email).lower()
    password_hash = make_password(password)
    base_url = base_url or public_base_url()
    context = {"email": email, "site_url": base_url}
    if User.objects.filter(username__iexact=email).exists():
        context["login_url"] = base_url + reverse("login")
        context["reset_url"] = base_url + reverse("password_reset")
        _mail(email, "signup_existing", context)
        return
    pending = {"email": email, "password": password_hash, "organization": organization_name}
    token = secrets.sealed(_PURPOSE, json.dumps(pending))
    context["confirm_url"] = base_url + reverse("signup_confirm", kwargs={"token": token})
    context["organization"] = organization_name
    _mail(email, "signup_confirm", context)


def signup_pending(token: str) -> dict:
    """The sign-up a link carries: {"email", "password" (a hash), "organization"}.

    Raises ValidationError for a link that is not ours, was altered or has expired.
    """
    try:
        return json.loads(secrets.unsealed(_PURPOSE, token, SIGNUP_LINK_SECONDS))
    except ValueError:
        raise ValidationError(
            "This link is invalid or has expired. Please sign up again."
        ) from None


def signup_complete(*, token: str):
    """Create the account a link carries: (user, organization, secret token plaintext).

    Raises ValidationError if the link is invalid, or if the account exists by now (the
    link was used already).
    """
    pending = signup_pending(token)
    try:
        return services.user_signup(
            email=pending["email"],
            password_hash=pending["password"],
            organization_name=pending["organization"],
        )
    except IntegrityError:  # the same link, used twice at the same moment
        raise ValidationError({"email": "An account with this e-mail already exists."}) from None


def _mail(email: str, template: str, context: dict) -> None:
    subject = render_to_string(f"registration/{template}_subject.txt", context).strip()
    body = render_to_string(f"registration/{template}_email.txt", context)
    send_mail(subject, body, None, [email])
