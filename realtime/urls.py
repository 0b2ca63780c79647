"""HTTP routes owned by the realtime app."""

from django.urls import path

from realtime import views
from realtime.phoenix import longpoll

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("socket/longpoll", longpoll.longpoll, name="socket-longpoll"),
]
