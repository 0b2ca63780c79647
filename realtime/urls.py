"""HTTP routes owned by the realtime app."""

from django.urls import path

from realtime import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
]
