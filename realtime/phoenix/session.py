"""One client connection speaking Phoenix Channels, independent of its transport.

The WebSocket consumer (and the long-poll transport) feed frames in with `receive` and
give the session two callables: `write(frame)` and `close(code)`. Authorization is in
realtime.identity, validation in realtime.events, fan-out in realtime.hub.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from realtime import errors
from realtime.events import event_encode
from realtime.hub import get_hub
from realtime.identity import Identity
from realtime.phoenix import protocol
from realtime.phoenix.presence import (
    announce_leave,
    presence_check_capacity,
    presence_track,
    presence_untrack,
)
from realtime.phoenix.protocol import Message
from realtime.presence import get_presence
from realtime.topics import is_presence_topic, topic_is_valid
from realtime.watchdog import watch

logger = logging.getLogger(__name__)


class TokenBucket:
    """`rate` actions per second on average, bursts of up to `rate`."""

    def __init__(self, rate: int):
        self.rate = max(rate, 1)
        self.tokens = float(self.rate)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class PhoenixSession:
    def __init__(
        self,
        identity: Identity,
        serializer: protocol.Serializer,
        write: Callable[[str | bytes], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
    ):
        self.identity = identity
        self.serializer = serializer
        self.wire_format = f"phoenix/{serializer.vsn}"
        self.conn_id = uuid.uuid4().hex
        self.user_id = identity.user_id
        self.token_id = identity.token_id
        self.joined: dict[str, str | None] = {}  # topic -> join_ref
        self.pushes = TokenBucket(identity.app.client_push_rate)
        self._write, self._close = write, close
        self._expiry: asyncio.TimerHandle | None = None
        self.admitted = False
        self.closed = False
        self.hub = get_hub()

    @property
    def app_id(self) -> int:
        return self.identity.app.id

    async def admit(self) -> None:
        """Count this connection; refuse it past the application's quota (0: no quota).

        Called by the transport before it accepts. The count spans every process, so
        it is increment-then-check: two racing connects may both be refused, never both
        let in past the quota.
        """
        app = self.identity.app
        store = get_presence()
        try:
            await store.start(announce_leave)
            await store.connected(app.id, +1)
            self.admitted = True
            over = (
                app.max_connections and await store.connection_count(app.id) > app.max_connections
            )
        except Exception as e:
            logger.warning("cannot count a connection of app %s: %r", app.app_key, e)
            if self.admitted:  # counted, but refused: give the slot back if we still can
                with contextlib.suppress(Exception):
                    await self.stop()
            raise errors.Unavailable() from None
        if over:
            await self.stop()
            raise errors.OverQuota(f"at most {app.max_connections} connections")

    async def start(self) -> None:
        await self.hub.attach(self, self.app_id)
        watch(self)
        if self.identity.expires_at is not None:
            delay = max(self.identity.expires_at - time.time(), 0)
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(
                delay, lambda: asyncio.ensure_future(self.close(errors.TokenExpired()))
            )

    async def stop(self) -> None:
        """The transport is gone: leave every topic."""
        self.closed = True
        if self._expiry is not None:
            self._expiry.cancel()
        for topic in list(self.joined):
            await self._unsubscribe(topic)
        if self.admitted:
            self.admitted = False
            await get_presence().connected(self.app_id, -1)
        await self.hub.detach(self, self.app_id)

    async def close(self, error: errors.ProtocolError) -> None:
        if not self.closed:
            self.closed = True
            logger.info("closing socket of app %s: %s", self.identity.app.app_key, error.detail)
            await self._close(error.code)

    async def receive(self, data: str | bytes) -> None:
        message = None
        try:
            message = self.serializer.decode(data)
            if isinstance(message.payload, bytes) and message.event in protocol.CONTROL_EVENTS:
                raise errors.MalformedFrame("binary payloads are for pushes only")
            if message.event == protocol.HEARTBEAT and message.topic == protocol.HEARTBEAT_TOPIC:
                await self._reply(message, "ok", {})
            elif message.event == protocol.JOIN:
                await self._join(message)
            elif message.event == protocol.LEAVE:
                await self._leave(message)
            else:
                await self._push(message)
        except errors.ProtocolError as e:
            if message is None:
                # Not even a ref to answer to; Phoenix would crash the socket, we say why.
                await self._send(Message(None, None, "phoenix", protocol.ERROR, e.as_response()))
            else:
                await self._reply(message, "error", e.as_response())

    async def _join(self, message: Message) -> None:
        topic = message.topic
        if not topic_is_valid(topic):
            raise errors.InvalidTopic()
        if not self.identity.can_listen(topic):
            raise errors.TopicNotAllowed()
        if topic in self.joined:
            # Phoenix closes the old channel and joins again (a client rejoin).
            await self._send(protocol.close_message(topic, self.joined[topic]))
            await self._unsubscribe(topic)
        elif len(self.joined) >= settings.EXPUSHER_MAX_TOPICS_PER_SOCKET:
            raise errors.TooManyTopics()
        if is_presence_topic(topic):
            await presence_check_capacity(self.identity.app, topic, self.presence_key)
        join_ref = message.join_ref or message.ref
        self.joined[topic] = join_ref
        await self.hub.join(self, self.app_id, topic)
        await get_presence().subscribed(self.app_id, topic, +1)
        await self._reply(message, "ok", {})
        if is_presence_topic(topic):

            async def send_state(state: dict) -> None:
                await self._send(Message(join_ref, None, topic, protocol.PRESENCE_STATE, state))

            await presence_track(
                self.identity.app,
                topic,
                self.conn_id,
                self.presence_key,
                self.identity.info,
                send_state,
            )

    async def _leave(self, message: Message) -> None:
        join_ref = self.joined.get(message.topic, message.join_ref)
        await self._unsubscribe(message.topic)
        await self._reply(message, "ok", {})
        await self._send(protocol.close_message(message.topic, join_ref))

    async def _unsubscribe(self, topic: str) -> None:
        if self.joined.pop(topic, False) is False:
            return
        await self.hub.leave(self, self.app_id, topic)
        await get_presence().subscribed(self.app_id, topic, -1)
        if is_presence_topic(topic):
            await presence_untrack(self.app_id, topic, self.conn_id)

    @property
    def presence_key(self) -> str:
        """Presence is keyed by user: the JWT's sub, else unique_identifier, else the socket."""
        return self.user_id or self.conn_id

    async def _push(self, message: Message) -> None:
        if message.topic not in self.joined:
            raise errors.NotJoined()
        if not self.identity.app.client_publishing:
            raise errors.PublishingDisabled()
        if not self.identity.can_publish(message.topic):
            raise errors.TopicNotAllowed()
        if not self.pushes.take():
            raise errors.RateLimited(f"at most {self.pushes.rate} pushes per second per socket")
        payload = event_encode(message.topic, message.event, message.payload)
        await self.hub.broadcast(self.app_id, message.topic, message.event, payload)
        await self._reply(message, "ok", {})

    async def _reply(self, request: Message, status: str, response: dict[str, Any]) -> None:
        await self._send(protocol.reply(request, status, response))

    async def _send(self, message: Message) -> None:
        if not self.closed:
            await self._write(self.serializer.encode(message))

    # The hub's Subscriber interface.

    def frame_for(self, topic: str, event: str, payload: str | bytes) -> str | bytes | None:
        return self.serializer.broadcast_frame(topic, event, payload)

    async def write(self, frame: str | bytes) -> None:
        if not self.closed:
            await self._write(frame)

    async def control(self, action: str, data: dict[str, Any]) -> None:
        if action == "disconnect_user" and self.user_id is not None:
            if data.get("user_id") == self.user_id:
                await self.close(errors.Unauthorized("disconnected by the application"))
