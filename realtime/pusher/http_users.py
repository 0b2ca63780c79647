"""POST /apps/{app_id}/users/{user_id}/terminate_connections: close a user's connections.

The user is a Pusher socket's signed-in user id or a Phoenix socket's JWT `sub`; every
process closes its connections of that user (realtime.hub control message), whatever
protocol they speak (realtime.connection.Connection.control).
"""

from realtime.hub import send_control
from realtime.pusher import http_errors as errors
from realtime.pusher.http_auth import SignedRequest
from realtime.tokens import MAX_USER_ID_LENGTH


async def terminate_connections(request: SignedRequest, user_id: str) -> dict:
    if not 0 < len(user_id) <= MAX_USER_ID_LENGTH or not user_id.isprintable():
        raise errors.InvalidUserId(f"A user id has 1 to {MAX_USER_ID_LENGTH} characters.")
    await send_control(request.app.id, "disconnect_user", {"user_id": user_id})
    return {}
