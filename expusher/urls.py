"""Top-level routes: each app owns its own URL module."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("realtime.urls")),
    path("", include("api.page_urls")),
    path("", include("organizations.urls")),
]
