"""Top-level routes: each app owns its own URL module."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, for one).
    path("favicon.ico", RedirectView.as_view(url=static("expusher/favicon.svg"), permanent=True)),
    path("api/", include("api.urls")),
    path("", include("realtime.urls")),
    path("", include("api.page_urls")),
    path("", include("organizations.urls")),
]
