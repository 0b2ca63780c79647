"""WebSocket routes.

An upgrade to any other path is refused with HTTP 404 (not_found): channels' URLRouter
raises for a path no route matches, which daphne answered with 500.
"""

from channels.routing import URLRouter
from django.urls import path, re_path

from realtime.phoenix.consumers import PhoenixSocketConsumer
from realtime.pusher.consumers import PusherSocketConsumer
from realtime.transport import DENIAL_RESPONSE


async def not_found(scope, receive, send) -> None:
    """Refuse an upgrade to a path nothing serves: HTTP 404 where the server supports
    denial responses, else a close before accept (which servers answer with 403)."""
    if (await receive())["type"] != "websocket.connect":
        return
    if DENIAL_RESPONSE not in scope.get("extensions", {}):
        await send({"type": "websocket.close"})
        return
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": b"Not Found"})


websocket_urlpatterns = [
    path("socket/websocket", PhoenixSocketConsumer.as_asgi()),
    path("app/<str:app_key>", PusherSocketConsumer.as_asgi()),
    re_path(r"", not_found),  # last: whatever the routes above do not match
]

websocket_application = URLRouter(websocket_urlpatterns)
