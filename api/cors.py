"""CORS for the trigger endpoints, decided per application.

Customers call the trigger endpoints from pages on their own origins. django-cors-headers
asks this handler (its documented extension point, the `check_request_enabled` signal)
whether a request's origin is allowed: yes for an application's allowed origins, or for
any origin when the application has no list. Every other API URL stays same-origin.
"""

import re

from django.conf import settings

from realtime.applications import app_snapshot
from realtime.identity import origin_allowed

# The same paths for which django-cors-headers runs at all; its `app` group is the app key.
TRIGGER_PATH = re.compile(settings.CORS_URLS_REGEX)


def cors_allow_trigger(sender, request, **kwargs) -> bool:
    match = TRIGGER_PATH.match(request.path_info)
    if match is None:
        return False
    application = app_snapshot(match["app"])
    if application is None:
        return False
    return origin_allowed(application.allowed_origins, request.headers.get("Origin"))
