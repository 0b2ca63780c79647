"""What every client connection needs, whatever protocol and transport it speaks.

A Connection counts against its application's quota, closes when its JWT expires or its
secret token is revoked (realtime.watchdog), subscribes to topics through the hub, keeps
its presence entries, and limits its client publishing. The protocol (realtime.phoenix,
realtime.pusher) reads frames, decides what they mean, and renders what the hub sends:
the connection hands the hub its `wire`, an object with a `wire_format` name and a
`render(message)` that turns a realtime.messages message into a frame.
"""

import asyncio
import contextlib
import logging
import math
import secrets
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.conf import settings

from realtime import errors, notifications
from realtime.denylist import jwt_deny
from realtime.hub import get_hub
from realtime.identity import Identity
from realtime.messages import HubMessage, PresenceChange
from realtime.presence import Members, Share, get_presence
from realtime.ratelimit import TokenBucket
from realtime.stats import counts
from realtime.watchdog import watch

logger = logging.getLogger(__name__)

Frame = str | bytes
Write = Callable[[Frame], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]
SendState = Callable[[Members], Awaitable[None]]


class Wire(Protocol):
    wire_format: str  # connections with equal formats get the very same frame

    def render(self, message: HubMessage) -> Frame | None:
        """The frame for a hub message; None when this format has nothing to send."""


def connection_id() -> str:
    """A random id in Pusher's socket-id shape (`\\d+.\\d+`), which server SDKs check."""
    return f"{secrets.randbelow(10**9)}.{secrets.randbelow(10**9)}"


# The connections of each event loop (one per server process) from admission until
# stop(), by id: what reconciliation rewrites this process's share in Redis from.
_admitted: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Connection]]" = (
    weakref.WeakKeyDictionary()
)


_cleanups: set[asyncio.Task] = set()


def admitted_connections() -> dict[str, "Connection"]:
    return _admitted.setdefault(asyncio.get_running_loop(), {})


def local_share() -> Share:
    """What this process holds, from its admitted connections (see realtime.presence)."""
    admitted = admitted_connections()

    def member_now(app_id: int, topic: str, conn_id: str) -> tuple[str, dict] | None:
        connection = admitted.get(conn_id)
        if connection is None or connection.app.id != app_id:
            return None
        return connection.tracked.get(topic)

    share = Share(member_now=member_now)
    for connection in list(admitted.values()):
        app_id = connection.app.id
        share.connections[app_id] += 1
        if connection.anonymous:
            share.anonymous[app_id] += 1
        for topic in connection.topics:
            share.subscriptions[app_id, topic] += 1
        for topic, member in connection.tracked.items():
            share.members[app_id, topic, connection.id] = member
    return share


class Connection:
    # How the client is carried: "websocket", or "longpoll" (set by the long-poll session).
    transport = "websocket"

    def __init__(
        self, identity: Identity, wire: Wire, write: Write, close: Close, direct: Any = None
    ):
        self.identity = identity
        self.app = identity.app
        self.wire_format = wire.wire_format
        self.frame_for = wire.render
        self.id = connection_id()
        self.user_id = identity.user_id  # a Pusher sign-in may set it later
        self.token_id = identity.token_id
        self.topics: set[str] = set()
        # The presence topics this connection is a member of: topic -> (user_id, meta).
        self.tracked: dict[str, tuple[str, dict]] = {}
        # Per presence topic, the metas (phx_ref) its join state already held: their own
        # join announcements may still be on their way, and are not news to this socket.
        self.known_refs: dict[str, set[str]] = {}
        self.pushes = TokenBucket(identity.app.client_push_rate)
        # Every inbound frame, whatever its kind: one client may not keep a process busy.
        self.frames = TokenBucket(
            settings.EXPUSHER_MAX_FRAMES_PER_SECOND, settings.EXPUSHER_MAX_FRAMES_BURST
        )
        self._write, self._close = write, close
        # The server's prepared-frame writer for this socket, when it has one: the hub
        # frames a broadcast once and hands each socket the same bytes (realtime.transport).
        self.direct = direct
        self._expiry: asyncio.TimerHandle | None = None
        self.admitted = False
        self.anonymous = identity.anonymous  # counted in the anonymous share (see admit)
        self.closed = False
        self.closed_by: errors.ProtocolError | None = None  # when the server closed it
        self.hub = get_hub()

    @property
    def protocol(self) -> str:
        return self.wire_format.split("/", 1)[0]

    async def admit(self) -> None:
        """Count this connection; refuse it past the application's quota (0: no quota),
        or past the anonymous share of it if nobody vouched for the connection.

        Called by the transport before it accepts. The count spans every process, so
        it is increment-then-check: two racing connects may both be refused, never both
        let in past the quota.
        """
        app = self.app
        store = get_presence()
        try:
            await store.start(announce_leave, local_share)
            # Counted here and in Redis in one step as reconciliation sees it (share_lock).
            async with store.share_lock:
                self.admitted = True
                admitted_connections()[self.id] = self
                await store.connected(app.id, +1, +1 if self.anonymous else 0)
            refusal = None
            if app.max_connections:
                refusal = quota_refusal(
                    app.max_connections, self.anonymous, *await store.connection_counts(app.id)
                )
        except asyncio.CancelledError:
            # The socket went away meanwhile and daphne cancelled us: give the slot back
            # in a task of its own.
            if self.admitted:
                task = asyncio.get_running_loop().create_task(self.stop())
                _cleanups.add(task)  # held until done: the loop keeps weak references
                task.add_done_callback(_cleanups.discard)
            raise
        except Exception as e:
            logger.warning("cannot count a connection of app %s: %r", app.app_key, e)
            counts.broker_error("presence")
            if self.admitted:  # counted, but refused: give the slot back if we still can
                with contextlib.suppress(Exception):
                    await self.stop()
            raise errors.Unavailable() from None
        if refusal is not None:
            await self.stop()
            notifications.notify(
                app.id,
                notifications.CONNECTION_REFUSED,
                protocol=self.protocol,
                transport=self.transport,
                origin=self.identity.origin,
                code=refusal.code,
                reason=refusal.detail,
            )
            raise refusal

    async def vouched_for(self) -> None:
        """The application's backend signed for this connection (a Pusher sign-in or
        private channel): from now on it counts in the quota as any other, not in the
        anonymous share."""
        if self.anonymous:
            store = get_presence()
            async with store.share_lock:
                self.anonymous = False
                if self.admitted:
                    await store.connected(self.app.id, 0, -1)

    async def start(self) -> None:
        await self.hub.attach(self, self.app.id)
        watch()
        notifications.notify(
            self.app.id,
            notifications.CONNECTION_OPENED,
            socket_id=self.id,
            protocol=self.protocol,
            transport=self.transport,
            user_id=self.user_id,
            origin=self.identity.origin,
        )
        if self.identity.expires_at is not None:
            delay = max(self.identity.expires_at - time.time(), 0)
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(delay, self._token_expired)

    def _token_expired(self) -> None:
        asyncio.ensure_future(self.close(errors.TokenExpired()))

    async def stop(self) -> None:
        """The transport is gone: leave every topic, give the quota slot back.

        Each step is tried even if one before failed (Redis unreachable): what did not
        reach Redis is repaired by the next reconciliation, which counts this connection
        no more once it has left the admitted ones. Consumers run this in a task of its
        own (realtime.transport), so that daphne cancelling them cannot cut it short.
        """
        self.closed = True
        if self._expiry is not None:
            self._expiry.cancel()
        for topic in list(self.topics):
            with _logged("leave a topic"):
                await self.unsubscribe(topic)
        store = get_presence()
        async with store.share_lock:
            admitted_connections().pop(self.id, None)
            if self.admitted:
                self.admitted = False
                with _logged("give the quota slot back"):
                    await store.connected(self.app.id, -1, -1 if self.anonymous else 0)
        with _logged("detach"):
            await self.hub.detach(self, self.app.id)
        closed_by = self.closed_by
        notifications.notify(
            self.app.id,
            notifications.CONNECTION_CLOSED,
            socket_id=self.id,
            protocol=self.protocol,
            transport=self.transport,
            user_id=self.user_id,
            origin=self.identity.origin,
            code=closed_by.code if closed_by else None,
            reason=closed_by.detail if closed_by else "closed by the client",
        )

    async def close(self, error: errors.ProtocolError) -> None:
        if not self.closed:
            self.closed = True
            self.closed_by = error
            logger.info("closing socket of app %s: %s", self.app.app_key, error.detail)
            await self._close(error.code)

    async def subscribe(self, topic: str) -> bool:
        """Receive the topic's messages; False if this connection already does."""
        if topic in self.topics:
            return False
        store = get_presence()
        async with store.share_lock:
            self.topics.add(topic)
            change = await store.subscribed(self.app.id, topic, +1)
        await self.hub.join(self, self.app.id, topic)
        notifications.notify(
            self.app.id,
            notifications.SUBSCRIBED,
            socket_id=self.id,
            topic=topic,
            count=change.count,
        )
        return True

    async def unsubscribe(self, topic: str) -> None:
        if topic not in self.topics:
            return
        # This connection's own state first, whatever Redis says below.
        self.known_refs.pop(topic, None)
        tracked = self.tracked.pop(topic, None)
        store = get_presence()
        change = None
        async with store.share_lock:
            self.topics.discard(topic)
            with _logged("count the unsubscription"):
                change = await store.subscribed(self.app.id, topic, -1)
        with _logged("unsubscribe from the channel layer"):
            await self.hub.leave(self, self.app.id, topic)  # local delivery stops anyway
        notifications.notify(
            self.app.id,
            notifications.UNSUBSCRIBED,
            socket_id=self.id,
            topic=topic,
            count=change.count if change is not None else None,
        )
        if tracked is not None:
            try:
                left = await store.untrack(self.app.id, topic, self.id)
            except Exception:
                # Redis may come back empty (a restart) with no trace of this member: the
                # store announces its leave once it is back.
                store.leave_later(self.app.id, topic, self.id, *tracked)
                raise
            if left is None and not store.settled:
                # Not found in a Redis just back from a restart: announced as above.
                store.leave_later(self.app.id, topic, self.id, *tracked)
            if left is not None:
                await announce_leave(self.app.id, topic, *left)

    async def check_presence_capacity(self, topic: str, user_id: str) -> None:
        """Refuse a new member past the application's cap (a user already in is welcome)."""
        members = await get_presence().members(self.app.id, topic)
        if user_id not in members and len(members) >= self.app.max_presence_members:
            raise errors.PresenceFull(f"at most {self.app.max_presence_members} members per topic")

    async def track(
        self, topic: str, user_id: str, info: dict, send_state: SendState
    ) -> PresenceChange:
        """Become a member of a presence topic: send the full state, then announce the join.

        The state goes out before anyone hears of the join, so the joiner's client has
        the state to apply later changes to. The joiner is excluded from the announcement
        (its state already holds it); the change is returned for a protocol that tells
        the joiner too, as Phoenix does.
        """
        store = get_presence()
        await store.start(announce_leave, local_share)
        meta = presence_meta(info)
        # Held before Redis is asked, so that reconciliation never removes it meanwhile.
        self.tracked[topic] = (user_id, meta)
        try:
            first = await store.track(self.app.id, topic, self.id, user_id, meta)
        except BaseException:
            self.tracked.pop(topic, None)
            raise
        members = await store.members(self.app.id, topic)
        self.known_refs[topic] = {
            meta["phx_ref"] for entry in members.values() for meta in entry["metas"]
        }
        await send_state(members)
        notifications.notify(
            self.app.id,
            notifications.MEMBER_JOINED,
            socket_id=self.id,
            topic=topic,
            user_id=user_id,
            first=first,
        )
        change = PresenceChange(topic, user_id, meta, True, first, exclude=self.id)
        await self.hub.publish(self.app.id, change)
        return change

    async def heard(self) -> bool:
        """Count an inbound frame; past the budget, close the connection and say False."""
        if self.closed:
            return False
        if self.frames.take():
            return True
        await self.close(errors.TooManyFrames(f"more than {self.frames.rate} frames per second"))
        return False

    def client_event(self, topic: str, event: str, data: str | bytes) -> None:
        """Tell the listeners that this connection published an event (after it went out)."""
        notifications.notify(
            self.app.id,
            notifications.CLIENT_EVENT,
            socket_id=self.id,
            topic=topic,
            event=event,
            data=data,
            # On a presence topic, the member this connection is there (Pusher's user_id).
            user_id=self.tracked[topic][0] if topic in self.tracked else self.user_id,
        )

    def cache_miss(self, topic: str) -> None:
        """Tell the listeners that a cache topic had no last event for this subscriber."""
        notifications.notify(self.app.id, notifications.CACHE_MISS, socket_id=self.id, topic=topic)

    def refused(self, error: errors.ProtocolError) -> None:
        """Tell the listeners that the protocol refused one of this connection's frames."""
        notifications.notify(
            self.app.id,
            notifications.REFUSED,
            socket_id=self.id,
            code=error.code,
            reason=error.detail,
        )

    def check_client_publish(self) -> None:
        """May this connection publish now? The application's switch, then the rate."""
        if not self.app.client_publishing:
            raise errors.PublishingDisabled()
        if not self.pushes.take():
            raise errors.RateLimited(f"at most {self.pushes.rate} pushes per second per socket")

    # The hub's Subscriber interface (frame_for is the wire's render).

    def knows(self, change: PresenceChange) -> bool:
        """Was this join already in the state this connection got when it joined?"""
        refs = self.known_refs.get(change.topic)
        if refs and change.joined and change.meta.get("phx_ref") in refs:
            refs.discard(change.meta["phx_ref"])
            return True
        return False

    async def write(self, frame: Frame) -> None:
        if not self.closed:
            await self._write(frame)

    async def control(self, action: str, data: dict[str, Any]) -> None:
        if action == "disconnect_user" and self.user_id is not None:
            if data.get("user_id") == self.user_id:
                # Denied first: the client reconnects as soon as it sees the close.
                identity = self.identity
                if identity.jti and identity.expires_at is not None:
                    await jwt_deny(identity.jti, identity.expires_at)
                await self.close(errors.Unauthorized("disconnected by the application"))


def quota_refusal(
    quota: int, anonymous: bool, total: int, anonymous_total: int
) -> errors.OverQuota | None:
    """Why a connection counted in these totals is refused, if it is."""
    if total > quota:
        return errors.OverQuota(f"at most {quota} connections")
    # Rounded first, so that a share such as 0.29 of 100 is 29 and not 28.
    share = math.floor(round(quota * settings.EXPUSHER_ANONYMOUS_CONNECTION_SHARE, 6))
    if anonymous and anonymous_total > share:
        return errors.OverQuota(
            f"anonymous connections may use at most {share} of the {quota} connections"
            " of this application"
        )
    return None


@contextlib.contextmanager
def _logged(step: str):
    try:
        yield
    except Exception as e:
        logger.warning("connection cleanup: cannot %s (reconciliation repairs it): %r", step, e)


def presence_meta(info: dict) -> dict:
    # phx_ref is unique per connection and join, which is how the client tells metas apart.
    return {"phx_ref": uuid.uuid4().hex[:20], "online_at": int(time.time()), "info": info}


async def announce_leave(app_id: int, topic: str, user_id: str, meta: dict, last: bool) -> None:
    """Tell a presence topic that a connection left (also for connections reaped after a
    process died)."""
    notifications.notify(app_id, notifications.MEMBER_LEFT, topic=topic, user_id=user_id, last=last)
    await get_hub().publish(app_id, PresenceChange(topic, user_id, meta, False, last))


async def connections_drain(window: float, grace: float = 5.0) -> None:
    """Close every connection of this process with 4200 ("reconnect now"), spread over
    `window` seconds so that their clients do not all come back in the same instant, then
    wait (at most `grace` seconds more) until each has left its topics and given back its
    quota slot. For a graceful shutdown."""
    hub = get_hub()
    live = list(hub.local_subscribers())
    logger.info("draining %d connections over %.1f s", len(live), window)
    step = window / len(live) if live else 0
    for connection in live:
        await connection.close(errors.ServerRestarting())
        if step:
            await asyncio.sleep(step)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while hub.local_subscribers() and loop.time() < deadline:
        await asyncio.sleep(0.05)
