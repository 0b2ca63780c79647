"""What joining and leaving a presence topic does (`presence:*` and Pusher's `presence-*`).

On join the socket gets `presence_state` (the full state, itself included), then every
subscriber gets a `presence_diff` with the join; on leave, a diff with the leave. The
shapes are those the official phoenix client's Presence class consumes.
"""

import time
import uuid
from collections.abc import Awaitable, Callable

from realtime import errors
from realtime.hub import get_hub
from realtime.phoenix.protocol import PRESENCE_DIFF, encode_payload
from realtime.presence import get_presence

SendState = Callable[[dict], Awaitable[None]]


def presence_meta(info: dict) -> dict:
    # phx_ref is unique per connection and join, which is how the client tells metas apart.
    return {"phx_ref": uuid.uuid4().hex[:20], "online_at": int(time.time()), "info": info}


async def presence_check_capacity(app, topic: str, user_id: str) -> None:
    """Refuse a new member past the application's cap (a user already in is welcome)."""
    members = await get_presence().members(app.id, topic)
    if user_id not in members and len(members) >= app.max_presence_members:
        raise errors.PresenceFull(f"at most {app.max_presence_members} members per topic")


async def presence_track(
    app, topic: str, conn_id: str, user_id: str, info: dict, send_state: SendState
) -> None:
    """Track a connection, send it the full state, then announce the join to everyone.

    The state goes out before the diff so that the joiner's client has the state to
    apply the diff to (the phoenix client would queue an early diff, other clients not).
    """
    store = get_presence()
    await store.start(announce_leave)
    meta = presence_meta(info)
    await store.track(app.id, topic, conn_id, user_id, meta)
    await send_state(await store.members(app.id, topic))
    await _diff(app.id, topic, joins={user_id: {"metas": [meta]}})


async def presence_untrack(app_id: int, topic: str, conn_id: str) -> None:
    left = await get_presence().untrack(app_id, topic, conn_id)
    if left is not None:
        await announce_leave(app_id, topic, *left)


async def announce_leave(app_id: int, topic: str, user_id: str, meta: dict) -> None:
    await _diff(app_id, topic, leaves={user_id: {"metas": [meta]}})


async def _diff(app_id: int, topic: str, joins=None, leaves=None) -> None:
    payload = {"joins": joins or {}, "leaves": leaves or {}}
    await get_hub().broadcast(app_id, topic, PRESENCE_DIFF, encode_payload(payload))
