"""HTTP routes owned by the realtime app."""

from django.urls import path

from realtime import views
from realtime.console import views as console
from realtime.phoenix import longpoll
from realtime.pusher import webhook_views
from realtime.stats import metrics
from realtime.stats import views as statistics

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Dashboard pages: under orgs/<org>/ like the organization's other pages.
    path(
        "orgs/<slug:org>/apps/<str:app_key>/statistics.json",
        statistics.application_statistics_json,
        name="application_statistics",
    ),
    path("orgs/<slug:org>/usage/", statistics.organization_usage_page, name="organization_usage"),
    path("socket/longpoll", longpoll.longpoll, name="socket-longpoll"),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/webhooks/test",
        webhook_views.application_webhook_test,
        name="application_webhook_test",
    ),
    # Under the dashboard's application pages (organizations.urls), whose access rule the
    # console views repeat.
    path(
        "orgs/<slug:org>/apps/<str:app_key>/console/stream",
        console.console_stream,
        name="console_stream",
    ),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/console/send",
        console.console_send,
        name="console_send",
    ),
]
