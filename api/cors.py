"""CORS for the trigger endpoints, decided per application.

Customers call the trigger endpoints from pages on their own origins. django-cors-headers
asks this handler (its documented extension point, the `check_request_enabled` signal)
whether a request's origin is allowed: yes for an application's allowed origins, or for
any origin when the application has no list. Every other API URL stays same-origin.
"""

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from realtime.applications import AppSnapshot, app_snapshot
from realtime.identity import origin_allowed

# The same paths for which django-cors-headers runs at all; its `app` group is the app key.
TRIGGER_PATH = re.compile(settings.CORS_URLS_REGEX)


def cors_allow_trigger(sender, request, **kwargs) -> bool:
    match = TRIGGER_PATH.match(request.path_info)
    if match is None:
        return False
    application = _snapshot_outside_the_loop(match["app"])
    return trigger_origin_allowed(application, request.headers.get("Origin"))


def _snapshot_outside_the_loop(app_ident: str):
    """app_snapshot(app_ident), also when asked from the event loop.

    Under ASGI, django-cors-headers' middleware runs asynchronously and sends its signal
    on the event loop, where the ORM refuses to run: a cold application cache made every
    such preflight, and every refusal with an Origin, a 500. There the lookup runs in a
    worker thread. (The trigger fast path, api.fast_triggers, answers nearly all of these
    requests itself; this serves what it hands to Django.)
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return app_snapshot(app_ident)

    def lookup():
        try:
            return app_snapshot(app_ident)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lookup).result()


def trigger_origin_allowed(application: AppSnapshot | None, origin: str | None) -> bool:
    """May a page on `origin` call `application`'s trigger endpoints (None: no such app)?"""
    if application is None:
        return False
    return origin_allowed(application.allowed_origins, origin)
