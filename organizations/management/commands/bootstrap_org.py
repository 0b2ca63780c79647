"""Create (or reuse) a user and their organization, and issue a new secret token.

    python manage.py bootstrap_org --name "Acme" --email ops@acme.test --app "Acme Chat" --json

Safe to repeat: the user is matched by e-mail and the organization by name among those the
user administers. Every run issues a NEW secret token (and, with --app, a new application),
because plaintext secrets are shown once and cannot be read back.
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations import bootstrap


def validation_message(error: ValidationError) -> str:
    """One line naming each invalid field, for CommandError."""
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create or reuse a user and an organization they administer; print a new secret token."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Organization name.")
        parser.add_argument("--email", required=True, help="The administrator's e-mail.")
        parser.add_argument(
            "--password",
            help="Set this password (also on an existing user). Without it a new user "
            "gets an unusable password and signs in after a password reset.",
        )
        parser.add_argument("--app", metavar="APP_NAME", help="Also create an application.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        try:
            result = bootstrap.organization_bootstrap(
                name=options["name"],
                email=options["email"],
                password=options["password"],
                app_name=options["app"],
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None

        data = {"organization": result.organization.slug, "token": result.token_plaintext}
        if result.application is not None:
            data["app_key"] = result.application.app_key
            data["app_id"] = result.application.app_id
            data["app_secret"] = result.app_secret
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(self._summary(result, data))

    def _summary(self, result: bootstrap.OrganizationBootstrap, data: dict) -> str:
        user = "created" if result.user_created else "existing"
        org = "created" if result.organization_created else "existing"
        lines = [
            f"User:          {result.user.email} ({user})",
            f"Organization:  {result.organization.name} [{data['organization']}] ({org})",
            f"Secret token:  {data['token']}",
        ]
        if result.application is not None:
            lines += [
                f"Application:   {result.application.name}",
                f"  app_key:     {data['app_key']}",
                f"  app_id:      {data['app_id']}",
                f"  app_secret:  {data['app_secret']}",
            ]
        lines.append("Secrets are shown only now; store them somewhere safe.")
        return "\n".join(lines)
