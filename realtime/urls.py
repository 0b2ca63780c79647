"""HTTP routes owned by the realtime app."""

from django.urls import path

from realtime import longpoll, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("socket/longpoll", longpoll.longpoll, name="socket-longpoll"),
]
