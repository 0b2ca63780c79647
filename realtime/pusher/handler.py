"""One client connection speaking Pusher Channels protocol 7: a dispatch table.

The consumer feeds text frames to `receive`; what every protocol needs (quota, topics,
presence, client-publish rate) is the core Connection. Refusals of one frame answer
`pusher:error` (or `pusher:subscription_error` for a channel) and keep the socket open;
see realtime.errors for the codes.
"""

import json
from typing import Any

from django.conf import settings

from realtime import errors
from realtime.applications import AppSnapshot, app_snapshot_async
from realtime.connection import Close, Connection, Write
from realtime.events import event_from_data, event_publish
from realtime.identity import Identity
from realtime.presence import Members, get_presence
from realtime.pusher import protocol, signatures
from realtime.pusher.channels import (
    ChannelKind,
    channel_kind,
    channel_name_valid,
    client_events_allowed,
)
from realtime.pusher.liveness import Liveness
from realtime.pusher.protocol import Message
from realtime.tokens import MAX_USER_ID_LENGTH
from realtime.topics import user_topic

MAX_CHANNEL_DATA_BYTES = 1024  # Pusher: "user object ≤ 1 KB"

# How a refused subscription is reported: pusher:subscription_error's type and status.
_SUBSCRIPTION_ERRORS = {
    errors.Unauthorized: ("AuthError", 401),
    errors.TooManyTopics: ("LimitReached", 403),
    errors.PresenceFull: ("LimitReached", 403),
}


class PusherHandler:
    def __init__(self, identity: Identity, write: Write, close: Close, direct: Any = None):
        self.app = identity.app
        self.connection = Connection(identity, protocol.PusherWire, write, close, direct)
        self.channels: dict[str, ChannelKind] = {}
        self.members: dict[str, tuple[str, dict]] = {}  # presence channel -> (user_id, info)
        self.liveness = Liveness(
            settings.EXPUSHER_PUSHER_ACTIVITY_TIMEOUT,
            settings.EXPUSHER_PUSHER_PONG_TIMEOUT,
            ping=self._send_ping,
            timed_out=self._pong_timed_out,
        )

    # Event -> the method that answers it: one table for every socket.
    _ANSWERS = {
        protocol.PING: "_ping",
        protocol.PONG: "_pong",
        protocol.SUBSCRIBE: "_subscribe",
        protocol.UNSUBSCRIBE: "_unsubscribe",
        protocol.SIGNIN: "_signin",
    }

    @property
    def socket_id(self) -> str:
        return self.connection.id

    async def admit(self) -> None:
        await self.connection.admit()

    async def start(self) -> None:
        await self.connection.start()
        await self._send(
            protocol.connection_established(self.socket_id, self.liveness.activity_timeout)
        )
        self.liveness.start()

    async def stop(self) -> None:
        self.liveness.stop()
        await self.connection.stop()

    async def receive(self, text: str | bytes) -> None:
        if not await self.connection.heard():
            return
        self.liveness.heard()
        try:
            message = protocol.decode(text)
            answer = self._ANSWERS.get(message.event)
            if answer is not None:
                await getattr(self, answer)(message)
            elif message.event.startswith(protocol.CLIENT_EVENT_PREFIX):
                await self._client_event(message)
            else:
                raise errors.UnknownEvent(f"unknown event {message.event[:64]!r}")
        except errors.ProtocolError as e:
            self.connection.refused(e)
            await self._send(protocol.error(e.code, e.detail))

    async def _send_ping(self) -> None:
        await self._send(protocol.frame(protocol.PING, {}))

    async def _pong_timed_out(self) -> None:
        await self.connection.close(errors.PongTimeout())

    async def _ping(self, message: Message) -> None:
        await self._send(protocol.frame(protocol.PONG, {}))

    async def _pong(self, message: Message) -> None:
        """Any frame counts as a sign of life (see receive); a pong has nothing else."""

    async def _subscribe(self, message: Message) -> None:
        data = _object(message.data)
        channel = data.get("channel")
        if not channel_name_valid(channel):
            raise errors.InvalidTopic(f"invalid channel name {str(channel)[:64]!r}")
        try:
            await self._join(channel, channel_kind(channel), data)
        except errors.ProtocolError as e:
            kind, status = next(
                (answer for cls, answer in _SUBSCRIPTION_ERRORS.items() if isinstance(e, cls)),
                ("SubscriptionError", 400),
            )
            self.connection.refused(e)
            await self._send(protocol.subscription_error(channel, kind, e.detail, status))

    async def _join(self, channel: str, kind: ChannelKind, data: dict) -> None:
        app = await self._current_app() if kind.signed else self.app
        member = self._authorize(app, channel, kind, data)
        if kind.signed:  # signed by the backend: this socket is no longer anonymous
            await self.connection.vouched_for()
        if channel not in self.channels:
            if len(self.channels) >= settings.EXPUSHER_MAX_TOPICS_PER_SOCKET:
                raise errors.TooManyTopics()
            if member is not None:
                await self.connection.check_presence_capacity(channel, member[0])
            self.channels[channel] = kind
            await self.connection.subscribe(channel)
        elif member is not None:
            await self.connection.unsubscribe(channel)  # a re-subscribe: track anew
            await self.connection.subscribe(channel)
        if member is None:
            await self._send(protocol.frame(protocol.SUBSCRIPTION_SUCCEEDED, {}, channel))
        else:
            self.members[channel] = member

            async def send_state(members: Members) -> None:
                data = protocol.presence_data(members)
                await self._send(protocol.frame(protocol.SUBSCRIPTION_SUCCEEDED, data, channel))

            await self.connection.track(channel, *member, send_state)
        if kind.cache:
            await self._send_cached(channel)

    async def _current_app(self) -> AppSnapshot:
        """The application as it is now, for checking signatures: its secret may have been
        rotated since this socket connected (remembered in this process for a second)."""
        return await app_snapshot_async(self.app.app_key) or self.app

    def _authorize(
        self, app: AppSnapshot, channel: str, kind: ChannelKind, data: dict
    ) -> tuple[str, dict] | None:
        """Check the channel's signature; return the presence member (user_id, user_info)."""
        if kind.user:
            if channel != user_topic(self.connection.user_id or ""):
                raise errors.Unauthorized("sign in as this user to subscribe to its channel")
            return None
        if not kind.signed:
            return None
        channel_data = data.get("channel_data") if kind.presence else None
        if kind.presence and not isinstance(channel_data, str):
            raise errors.Unauthorized("presence channels need channel_data (a JSON string)")
        auth = data.get("auth")
        if not any(
            signatures.channel_auth_valid(
                app.app_key, secret, auth, self.socket_id, channel, channel_data
            )
            for secret in app.verifying_secrets()
        ):
            raise errors.Unauthorized(f"Invalid signature: expected HMAC for {channel!r}")
        return _member(channel_data) if kind.presence else None

    async def _send_cached(self, channel: str) -> None:
        last = await get_presence().cache_get(self.app.id, channel)
        if last is None:
            self.connection.cache_miss(channel)
            await self._send(protocol.frame(protocol.CACHE_MISS, None, channel))
            return
        await self._send(protocol.cached_event(channel, last))

    async def _unsubscribe(self, message: Message) -> None:
        channel = _object(message.data).get("channel")
        if isinstance(channel, str) and self.channels.pop(channel, None) is not None:
            self.members.pop(channel, None)
            await self.connection.unsubscribe(channel)

    async def _signin(self, message: Message) -> None:
        data = _object(message.data)
        user_data = data.get("user_data")
        app = await self._current_app()
        if not isinstance(user_data, str) or not any(
            signatures.user_auth_valid(
                app.app_key, secret, data.get("auth"), self.socket_id, user_data
            )
            for secret in app.verifying_secrets()
        ):
            await self._refuse_signin("Invalid signature for pusher:signin")
            return
        try:
            user_id = _user_id(json.loads(user_data).get("id"))
        except (ValueError, AttributeError, errors.ProtocolError):
            await self._refuse_signin("user_data must be a JSON object with a string id")
            return
        self.connection.user_id = user_id
        await self.connection.vouched_for()
        await self._send(protocol.frame(protocol.SIGNIN_SUCCESS, {"user_data": user_data}))

    async def _refuse_signin(self, why: str) -> None:
        # Pusher closes a connection whose sign-in fails, with 4009.
        error = errors.Unauthorized(why)
        self.connection.refused(error)
        await self._send(protocol.error(error.code, why))
        await self.connection.close(error)

    async def _client_event(self, message: Message) -> None:
        channel = message.channel
        kind = self.channels.get(channel or "")
        if kind is None:
            raise errors.NotJoined("subscribe to a channel before sending client events on it")
        if not client_events_allowed(kind):
            raise errors.TopicNotAllowed("client events go on private and presence channels only")
        self.connection.check_client_publish()
        member = self.members.get(channel)
        event = event_from_data(
            channel,
            message.event,
            message.data,
            user_id=member[0] if member else None,
            exclude=self.socket_id,
        )
        await event_publish(self.app.id, event)
        self.connection.client_event(channel, message.event, event.data)

    async def _send(self, frame: str) -> None:
        await self.connection.write(frame)


def _object(data: object) -> dict:
    if not isinstance(data, dict):
        raise errors.MalformedFrame('"data" must be an object')
    return data


def _user_id(value: object) -> str:
    """Pusher user ids are strings (numbers are accepted and kept as their digits)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise errors.MalformedFrame("user_id must be a string")
    user_id = str(value)
    if not 0 < len(user_id) <= MAX_USER_ID_LENGTH:
        raise errors.MalformedFrame(f"user_id must have 1 to {MAX_USER_ID_LENGTH} characters")
    return user_id


def _member(channel_data: str) -> tuple[str, dict]:
    if len(channel_data.encode()) > MAX_CHANNEL_DATA_BYTES:
        raise errors.MalformedFrame(f"channel_data is limited to {MAX_CHANNEL_DATA_BYTES} bytes")
    try:
        member = json.loads(channel_data)
    except (ValueError, RecursionError):
        raise errors.MalformedFrame("channel_data is not JSON") from None
    if not isinstance(member, dict):
        raise errors.MalformedFrame("channel_data must be a JSON object")
    info = member.get("user_info")
    return _user_id(member.get("user_id")), info if info is not None else {}
