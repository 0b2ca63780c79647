"""An application's credential lifecycle: rotate its secret, restore it from the archive.

Both change what the realtime path caches about the application, so both end with
application_changed_everywhere (organizations.services.application_archive too).
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from organizations import secrets
from organizations.models import Application
from organizations.selectors import application_cache_drop
from organizations.signals import application_changed

MAX_SECRET_GRACE_SECONDS = 7 * 24 * 3600


def application_changed_everywhere(application: Application) -> None:
    """Drop what the caches say about the application: the shared cache's entries here,
    and each layer's process-local memos through the application_changed signal."""
    application_cache_drop(application)
    application_changed.send(sender=Application, application=application)


def application_unarchive(*, application: Application) -> Application:
    """Restore an archived application: its credentials (unchanged) work again."""
    application.archived = False
    application.save(update_fields=["archived"])
    application_changed_everywhere(application)
    return application


def application_secret_rotate(
    *, application: Application, grace_seconds: int = 0
) -> tuple[Application, str]:
    """Give the application a new secret; return it in plaintext (shown once).

    The new secret signs from now on. For `grace_seconds` the old one still verifies
    (channel and sign-in signatures, HTTP API requests), so customers' servers can move
    to the new one without refused requests; with 0 it stops at once. A rotation during
    a grace period drops the older secret: only the last two are ever accepted.
    """
    if not 0 <= grace_seconds <= MAX_SECRET_GRACE_SECONDS:
        raise ValidationError(
            {"grace_seconds": f"Between 0 and {MAX_SECRET_GRACE_SECONDS} seconds (a week)."}
        )
    app_secret = secrets.app_secret_generate()
    if grace_seconds:
        application.previous_secret_encrypted = application.secret_encrypted
        application.previous_secret_expires = timezone.now() + timedelta(seconds=grace_seconds)
    else:
        application.previous_secret_encrypted = ""
        application.previous_secret_expires = None
    application.secret_encrypted = secrets.app_secret_encrypt(app_secret)
    application.save(
        update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires"]
    )
    application_changed_everywhere(application)
    return application, app_secret
