"""One client connection speaking Phoenix Channels, independent of its transport.

The WebSocket consumer (and the long-poll transport) feed frames in with `receive` and
give the handler two callables: `write(frame)` and `close(code)`. What every protocol
needs (quota, expiry, topics, presence, rates) is the core realtime.connection.Connection;
this module is the dispatch table of Phoenix's events. Authorization is in
realtime.identity, validation in realtime.events.
"""

from typing import Any

from django.conf import settings

from realtime import errors
from realtime.connection import Close, Connection, Write
from realtime.events import event_encode, event_trigger
from realtime.identity import Identity
from realtime.phoenix import protocol
from realtime.phoenix.protocol import Message
from realtime.presence import Members
from realtime.topics import is_presence_topic, topic_is_valid


class PhoenixHandler:
    def __init__(
        self,
        identity: Identity,
        serializer: protocol.Serializer,
        write: Write,
        close: Close,
        direct: Any = None,
    ):
        self.identity = identity
        self.serializer = serializer
        self.connection = Connection(identity, serializer, write, close, direct)
        self.join_refs: dict[str, str | None] = {}  # topic -> join_ref

    async def admit(self) -> None:
        await self.connection.admit()

    async def start(self) -> None:
        await self.connection.start()

    async def stop(self) -> None:
        await self.connection.stop()

    async def receive(self, data: str | bytes) -> None:
        if not await self.connection.heard():
            return
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
            self.connection.refused(e)
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
        if topic in self.join_refs:
            # Phoenix closes the old channel and joins again (a client rejoin).
            await self._send(protocol.close_message(topic, self.join_refs[topic]))
            await self._unsubscribe(topic)
        elif len(self.join_refs) >= settings.EXPUSHER_MAX_TOPICS_PER_SOCKET:
            raise errors.TooManyTopics()
        if is_presence_topic(topic):
            await self.connection.check_presence_capacity(topic, self.presence_key)
        join_ref = message.join_ref or message.ref
        self.join_refs[topic] = join_ref
        await self.connection.subscribe(topic)
        await self._reply(message, "ok", {})
        if is_presence_topic(topic):

            async def send_state(state: Members) -> None:
                await self._send(Message(join_ref, None, topic, protocol.PRESENCE_STATE, state))

            change = await self.connection.track(
                topic, self.presence_key, self.identity.info, send_state
            )
            # Phoenix tells the joiner of its own join too (after the state).
            await self.connection.write(self.serializer.render(change))

    async def _leave(self, message: Message) -> None:
        join_ref = self.join_refs.get(message.topic, message.join_ref)
        await self._unsubscribe(message.topic)
        await self._reply(message, "ok", {})
        await self._send(protocol.close_message(message.topic, join_ref))

    async def _unsubscribe(self, topic: str) -> None:
        self.join_refs.pop(topic, None)
        await self.connection.unsubscribe(topic)

    @property
    def presence_key(self) -> str:
        """Presence is keyed by user: the JWT's sub, else unique_identifier, else the socket."""
        return self.connection.user_id or self.connection.id

    async def _push(self, message: Message) -> None:
        if message.topic not in self.join_refs:
            raise errors.NotJoined()
        if not self.identity.app.client_publishing:
            raise errors.PublishingDisabled()
        if not self.identity.can_publish(message.topic):
            raise errors.TopicNotAllowed()
        self.connection.check_client_publish()
        payload = event_encode(message.topic, message.event, message.payload)
        await event_trigger(self.identity.app.id, message.topic, message.event, payload)
        self.connection.client_event(message.topic, message.event, payload)
        await self._reply(message, "ok", {})

    async def _reply(self, request: Message, status: str, response: dict[str, Any]) -> None:
        await self._send(protocol.reply(request, status, response))

    async def _send(self, message: Message) -> None:
        await self.connection.write(self.serializer.encode(message))
