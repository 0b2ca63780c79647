"""HTTP routes owned by the realtime app."""

from django.urls import path

from realtime import views
from realtime.console import views as console
from realtime.phoenix import longpoll

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("socket/longpoll", longpoll.longpoll, name="socket-longpoll"),
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
