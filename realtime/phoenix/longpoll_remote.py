"""Long-poll requests for a session that lives in another process, as Phoenix's
LongPoll reaches its session through PubSub (lib/phoenix/transports/long_poll.ex).

A poll or a push that a balancer sends to a process other than the session's owner is
forwarded to the owner's hub (its address is in the signed token) and answered from
there: the owner accepts at once, then answers with the poll's frames or the push's
outcome (realtime.phoenix.longpoll_sessions). The owner runs the poll itself, so the poll
window, "a newer poll takes over" and the idle timeout are the owner's, unchanged.

An owner that has died (or that Redis cannot reach) never accepts: after OWNER_TIMEOUT
seconds the request is answered 410, and the phoenix client opens a new session and
rejoins its channels. A session the owner no longer has is 410 at once.

Frames the owner has handed to a poll are gone from its buffer: if the asking request goes
away before they arrive (the client aborted it, or the owner's answer was lost), they are
lost, as in Phoenix. The stock client aborts a poll only when it closes the session.

With the in-memory layer there is one process, so a session that is not here is gone.
"""

import asyncio
import logging
import secrets
import weakref

from channels.db import database_sync_to_async

from realtime.applications import AppSnapshot, app_snapshot
from realtime.hub import get_hub
from realtime.phoenix.longpoll_sessions import (
    REPLY,
    REQUEST,
    LongPollSession,
    SessionAddress,
    local_sessions,
)

logger = logging.getLogger(__name__)

# How long a live owner may take to accept a request: Phoenix's pubsub_timeout_ms.
OWNER_TIMEOUT = 2.0
# How long an accepted push may take on the owner before the asker gives up (410). It only
# bounds an owner that dies mid-push: clients give up on a request sooner (phoenix: 10 s).
PUSH_TIMEOUT = 30.0

_app_snapshot = database_sync_to_async(app_snapshot)
# Requests waiting for their owner's replies, per event loop: ref -> (accepted, done).
_calls: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


async def session_for_token(token: str) -> "LongPollSession | RemoteSession | None":
    """The session a token names: here, in another process, or None (gone or forged)."""
    address = SessionAddress.of_token(token)
    if address is None:
        return None
    session = local_sessions().get(address.id)
    if session is not None:
        return session
    hub = get_hub()
    if not hub.spans_processes or address.owner == hub.channel:
        return None  # it was ours and has ended
    app = await _app_snapshot(address.app_key)
    if app is None:
        return None  # archived or deleted since
    return RemoteSession(address, app, token)


class RemoteSession:
    """A session of another process, with the LongPollSession methods the view uses."""

    def __init__(self, address: SessionAddress, app: AppSnapshot, token: str):
        self.address = address
        self.app = app
        self.token = token
        self.vsn = address.vsn

    async def poll(self, window: float) -> list[str] | None:
        """As LongPollSession.poll, run by the owner (with its own window)."""
        return await self._call({"op": "poll"}, window + OWNER_TIMEOUT)

    async def receive(self, frames: list[str | bytes]) -> bool:
        """As LongPollSession.receive; False when the owner could not be reached."""
        return bool(await self._call({"op": "push", "frames": frames}, PUSH_TIMEOUT))

    async def _call(self, request: dict, result_timeout: float):
        hub = get_hub()
        hub.on(REPLY, _on_reply)
        loop = asyncio.get_running_loop()
        accepted, done = loop.create_future(), loop.create_future()
        ref = secrets.token_urlsafe(12)
        calls = _pending()
        calls[ref] = (accepted, done)
        try:
            message = {
                "type": REQUEST,
                "session": self.address.id,
                "reply_to": await hub.address(),
                "ref": ref,
                **request,
            }
            await hub.send_to(self.address.owner, message)
            await asyncio.wait([accepted], timeout=OWNER_TIMEOUT)
            if not accepted.done():
                logger.info(
                    "long-poll session of app %s: its owner did not answer in %s s; 410",
                    self.app.app_key,
                    OWNER_TIMEOUT,
                )
                return None
            await asyncio.wait([done], timeout=result_timeout)
            if not done.done():
                logger.warning(
                    "long-poll session of app %s: its owner accepted a %s but never answered",
                    self.app.app_key,
                    request["op"],
                )
                return None
            return done.result()
        except Exception:
            # Redis unreachable, for one: the session cannot be reached from here.
            logger.warning("long-poll: could not reach a session's owner", exc_info=True)
            return None
        finally:
            calls.pop(ref, None)


def _pending() -> dict:
    loop = asyncio.get_running_loop()
    calls = _calls.get(loop)
    if calls is None:
        calls = _calls[loop] = {}
    return calls


async def _on_reply(message: dict) -> None:
    futures = _pending().get(message.get("ref"))
    if futures is None:
        return  # the asker has given up on it
    accepted, done = futures
    if not accepted.done():
        accepted.set_result(True)
    if message.get("stage") == "done" and not done.done():
        done.set_result(message.get("result"))
