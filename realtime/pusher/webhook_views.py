"""The application page's "Send test webhook" button (admins only, like every POST there)."""

import dataclasses

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from organizations import selectors
from organizations.views.access import found_or_404, organization_view
from realtime.applications import AppSnapshot
from realtime.pusher.webhooks import send_test


@organization_view
@require_POST
def application_webhook_test(request, *, organization, membership, app_key: str):
    application = found_or_404(selectors.application_get(organization=organization, ident=app_key))
    # Sent now, once, to every URL, also while webhooks are switched off: a check of the
    # receiving end before turning them on.
    snapshot = dataclasses.replace(
        AppSnapshot.of(application), webhook_urls=tuple(application.webhook_urls)
    )
    if not snapshot.webhook_urls:
        messages.error(request, "Set a webhook URL first.")
    for outcome in async_to_sync(send_test)(snapshot):
        if outcome.ok:
            messages.success(request, f"Test webhook to {outcome.url}: HTTP {outcome.status}.")
        else:
            messages.error(request, f"Test webhook to {outcome.url} failed: {outcome.error}.")
    return redirect("application_detail", org=organization.slug, app_key=application.app_key)
