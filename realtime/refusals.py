"""Tell the listeners of a connection refused before it became a Connection.

A bad JWT, a foreign origin or an unsupported version is refused by the transports while
they identify the client (realtime.phoenix.consumers, realtime.pusher.consumers,
realtime.phoenix.longpoll); the application's quota is told by Connection.admit itself.
The notice goes to the application named by the app key, when there is one: a refusal
for an unknown key belongs to nobody. The reason is the error's, never the token.
"""

from channels.db import database_sync_to_async

from realtime import errors, notifications
from realtime.applications import app_snapshot

_app_snapshot = database_sync_to_async(app_snapshot)  # cached: the refusal just read it


async def connection_refused(
    app_key: str | None,
    protocol: str,
    transport: str,
    error: errors.ProtocolError,
    origin: str | None,
) -> None:
    if not notifications.listening() or not app_key:
        return
    app = await _app_snapshot(app_key)
    if app is None or app.app_key != app_key:
        return
    notifications.notify(
        app.id,
        notifications.CONNECTION_REFUSED,
        protocol=protocol,
        transport=transport,
        origin=origin,
        code=error.code,
        reason=error.detail,
    )
