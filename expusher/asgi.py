"""ASGI entry point: the Pusher HTTP API, the REST triggers and Django share HTTP,
WebSockets go to realtime.routing.

The Pusher HTTP API (/apps/{app_id}/...) and ExPusher's REST trigger endpoints
(/api/organizations/{org}/applications/{app}/event/{event} and .../events) are answered by
small ASGI applications of their own, before Django: a trigger is the hottest HTTP path,
and it needs neither middleware nor a worker thread. The trigger application hands
Django whatever it would not answer exactly as Django does (api.fast_admission). Every
other HTTP path is Django's.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expusher.settings")
# Django must be set up before anything imports models (the websocket routes do).
django_application = get_asgi_application()

from asgiref.sync import markcoroutinefunction  # noqa: E402

from api import fast_triggers  # noqa: E402
from realtime.pusher import http as pusher_http  # noqa: E402
from realtime.routing import websocket_application  # noqa: E402

trigger_api = fast_triggers.trigger_application(django_application)


async def http_application(scope, receive, send) -> None:
    if pusher_http.serves(scope["path"]):
        await pusher_http.pusher_http_api(scope, receive, send)
    elif fast_triggers.serves(scope["path"]):
        await trigger_api(scope, receive, send)
    else:
        await django_application(scope, receive, send)


@markcoroutinefunction  # a coroutine function for daphne and asgiref: it returns one
def application(scope, receive, send):
    """Django's ASGI_APPLICATION: HTTP and WebSockets, as channels' ProtocolTypeRouter
    does, but handing back the chosen application's coroutine instead of awaiting it in
    one more frame that every idle socket would keep."""
    kind = scope["type"]
    if kind == "websocket":
        return websocket_application(scope, receive, send)
    if kind == "http":
        return http_application(scope, receive, send)
    raise ValueError(f"no application for ASGI scope type {kind!r}")
