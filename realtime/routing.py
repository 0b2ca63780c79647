"""WebSocket routes: /socket/websocket (Phoenix), /app/{key} (Pusher).

A plain function rather than channels' URLRouter: it hands the server the consumer's own
coroutine, so an idle socket holds no router frames or scope copies (about 1 KiB). An
upgrade to any other path is refused with HTTP 404 (not_found); URLRouter raised for a
path no route matched, which daphne answered with 500.
"""

from realtime.phoenix.consumers import PhoenixSocketConsumer
from realtime.pusher.consumers import PusherSocketConsumer
from realtime.transport import DENIAL_RESPONSE

PHOENIX_PATH = "/socket/websocket"
PUSHER_PREFIX = "/app/"


def websocket_application(scope, receive, send):
    path = scope["path"]
    if path == PHOENIX_PATH:
        return PhoenixSocketConsumer()(scope, receive, send)
    app_key = path[len(PUSHER_PREFIX) :] if path.startswith(PUSHER_PREFIX) else ""
    if app_key and "/" not in app_key:
        scope["url_route"] = {"args": (), "kwargs": {"app_key": app_key}}
        return PusherSocketConsumer()(scope, receive, send)
    return not_found(scope, receive, send)


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
