"""ASGI entry point: HTTP goes to Django, WebSockets to realtime.routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expusher.settings")
# Django must be set up before anything imports models (the websocket routes do).
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": websocket_application,
    }
)
