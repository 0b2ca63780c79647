"""HTTP routes owned by the realtime app."""

from django.urls import path

from realtime import views
from realtime.phoenix import longpoll
from realtime.pusher import webhook_views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("socket/longpoll", longpoll.longpoll, name="socket-longpoll"),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/webhooks/test",
        webhook_views.application_webhook_test,
        name="application_webhook_test",
    ),
]
