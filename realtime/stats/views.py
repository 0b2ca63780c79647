"""The dashboard's statistics: an application's figures (JSON, drawn by
static/expusher/statistics.js on the application page) and an organization's usage page.

Both go through organizations.views.access.organization_view, as every page under
/orgs/<org>/ does: members see them, others get 404.
"""

from asgiref.sync import async_to_sync
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from organizations import selectors
from organizations.views.access import found_or_404, organization_view
from realtime.stats.report import USAGE_DAYS, application_statistics, organization_usage


@organization_view
@require_safe
@never_cache
def application_statistics_json(request, *, organization, membership, app_key: str):
    application = found_or_404(
        selectors.application_get(organization=organization, ident=app_key, include_archived=True)
    )
    return JsonResponse(async_to_sync(application_statistics)(application.pk))


@organization_view
@require_safe
def organization_usage_page(request, *, organization, membership):
    applications = list(selectors.applications_for_organization(organization))
    usage = async_to_sync(organization_usage)([app.pk for app in applications])
    rows = [(app, usage[app.pk]) for app in applications]
    context = {
        "organization": organization,
        "membership": membership,
        "rows": rows,
        "days": USAGE_DAYS,
    }
    return render(request, "statistics/organization_usage.html", context)
