"""Make sure the demo account, organization and application exist; print how to use them.

    python manage.py seed_demo [--password PASSWORD] [--json]

scripts/serve runs this on every start. It is idempotent: the user demo@example.org, the
organization "Demo" and the application "Demo Chat" are created once and reused afterwards.
Each run issues a fresh secret token, since a stored one can never be shown again, and
revokes the one the previous run issued: one live seed_demo token at a time.
"""

import json
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations import bootstrap, services
from organizations.management.commands.bootstrap_org import validation_message
from organizations.models import SecretToken

DEMO_EMAIL = "demo@example.org"
DEMO_ORGANIZATION = "Demo"
DEMO_APPLICATION = "Demo Chat"
TOKEN_LABEL = "seed_demo"


class Command(BaseCommand):
    help = "Create the demo user, organization and application if missing; print credentials."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="Set the demo user's password (also when the user exists). Without it a "
            "new demo user gets a random password, printed once.",
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="Where the server answers, for the printed URLs (default: SITE_URL).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        chosen = options["password"]
        generated = secrets.token_urlsafe(12)
        try:
            result = bootstrap.organization_bootstrap(
                name=DEMO_ORGANIZATION,
                email=DEMO_EMAIL,
                # The generated password is used only if the user is new: an existing
                # user's password changes only when the operator passes --password.
                password=chosen if chosen is not None else generated,
                password_reset=chosen is not None,
                app_name=DEMO_APPLICATION,
                app_reuse=True,
                label=TOKEN_LABEL,
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        _revoke_earlier_tokens(result.token)

        if chosen is not None:
            password = chosen
        else:
            password = generated if result.user_created else None
        base_url = (options["base_url"] or settings.SITE_URL).rstrip("/")
        data = {
            "email": DEMO_EMAIL,
            "password": password,  # None: unchanged since it was printed at creation
            "organization": result.organization.slug,
            "app_key": result.application.app_key,
            "app_id": result.application.app_id,
            "app_secret": result.app_secret,  # None: shown when the app was created
            "token": result.token_plaintext,
            "dashboard_url": f"{base_url}/",
            "demo_url": f"{base_url}/demo/",
        }
        if options["json"]:
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(self._summary(data))

    def _summary(self, data: dict) -> str:
        password = data["password"] or (
            "(unchanged: printed when the user was created; reset it with seed_demo --password)"
        )
        app_secret = data["app_secret"] or (
            "(shown when the application was created; it is stored encrypted)"
        )
        return "\n".join(
            [
                "ExPusher demo",
                f"  Dashboard:     {data['dashboard_url']}",
                f"  Chat demo:     {data['demo_url']}",
                f"  Login:         {data['email']}",
                f"  Password:      {password}",
                f"  Organization:  {data['organization']}",
                f"  app_key:       {data['app_key']}",
                f"  app_id:        {data['app_id']}",
                f"  app_secret:    {app_secret}",
                f"  Secret token:  {data['token']}  (new on every run; the last one is revoked)",
            ]
        )


def _revoke_earlier_tokens(token: SecretToken) -> None:
    """Revoke the tokens earlier runs issued (their plaintext was printed and is lost)."""
    earlier = SecretToken.objects.filter(
        organization=token.organization, label=TOKEN_LABEL, revoked__isnull=True
    ).exclude(pk=token.pk)
    for old in earlier:
        services.secret_token_revoke(token=old)
