"""Fan-out: the only module that talks to the channel layer.

Each server process has one Hub (per event loop) with one channel-layer channel. When the
first local socket joins a topic, the hub adds its channel to the topic's group; when the
last one leaves, it discards it. A broadcast is therefore one group message, received
once by each process that has subscribers, and written to the local sockets of that topic
with the frame encoded once per wire format, never once per subscriber.

Messages are protocol-neutral (realtime.messages): an event or a presence change, with an
optional connection to skip. Each subscriber renders them through `frame_for`, and the hub
asks once per wire format.

Cross-process control messages (close a user's sockets, for instance) travel the same way
on an application-wide control group.
"""

import asyncio
import logging
import weakref
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from realtime.messages import (
    HubMessage,
    PresenceChange,
    message_from_wire,
    message_to_wire,
)
from realtime.topics import group_name

logger = logging.getLogger(__name__)

BROADCAST = "hub.broadcast"
CONTROL = "hub.control"
PROBE = "hub.probe"
# Group memberships expire in channel layers (group_expiry, a day by default), so the hub
# re-adds its groups well before that.
GROUP_REFRESH_SECONDS = 3600


class Subscriber(Protocol):
    """A local socket, as the hub sees it."""

    id: str  # the connection id that messages may exclude
    wire_format: str  # sockets with equal wire_format get the very same frame string

    def frame_for(self, message: HubMessage) -> str | bytes | None:
        """The frame for this socket's wire format; None if the format has none for it."""

    def knows(self, change: PresenceChange) -> bool:
        """True if the socket already has this presence change (from its join state)."""

    async def write(self, frame: str | bytes) -> None: ...

    async def control(self, action: str, data: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.topics: dict[str, set[Subscriber]] = {}
        self.controls: dict[str, set[Subscriber]] = {}
        self._started = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.delivered = 0
        self.failed_writes = 0
        self.slow_readers_cut = 0  # by the server (expusher.server.cut_slow_readers)
        self._probes: dict[int, asyncio.Future] = {}
        self._probe_ids = 0

    async def _ensure_channel(self) -> str:
        async with self._started:
            if self.channel is None:
                self.channel = await self.layer.new_channel("hub.")
                self._tasks.append(asyncio.create_task(self._receive_loop()))
                self._tasks.append(asyncio.create_task(self._refresh_loop()))
        return self.channel

    async def _add(self, table: dict[str, set[Subscriber]], group: str, sub: Subscriber) -> None:
        members = table.get(group)
        if members is None:
            table[group] = members = set()
            members.add(sub)
            await self.layer.group_add(group, await self._ensure_channel())
        else:
            members.add(sub)

    async def _discard(self, table: dict[str, set[Subscriber]], group: str, sub: Subscriber):
        members = table.get(group)
        if members is None:
            return
        members.discard(sub)
        if not members:
            del table[group]
            await self.layer.group_discard(group, self.channel)

    def local_subscribers(self) -> set[Subscriber]:
        """Every connection of this process (each is attached to its application)."""
        return {sub for subs in self.controls.values() for sub in subs}

    async def join(self, sub: Subscriber, app_id: int, topic: str) -> None:
        await self._add(self.topics, group_name(app_id, topic), sub)

    async def leave(self, sub: Subscriber, app_id: int, topic: str) -> None:
        await self._discard(self.topics, group_name(app_id, topic), sub)

    async def attach(self, sub: Subscriber, app_id: int) -> None:
        """Receive the application's control messages (user disconnects and the like)."""
        await self._add(self.controls, _control_group(app_id), sub)

    async def detach(self, sub: Subscriber, app_id: int) -> None:
        await self._discard(self.controls, _control_group(app_id), sub)

    async def publish(self, app_id: int, message: HubMessage) -> None:
        """Send a message to every subscriber of its topic, in every process."""
        group = group_name(app_id, message.topic)
        await self.layer.group_send(
            group, {"type": BROADCAST, "group": group, "message": message_to_wire(message)}
        )

    async def send_control(self, app_id: int, action: str, data: dict[str, Any]) -> None:
        group = _control_group(app_id)
        await self.layer.group_send(
            group, {"type": CONTROL, "group": group, "action": action, "data": data}
        )

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
                if message.get("type") == BROADCAST:
                    await self._deliver(message)
                elif message.get("type") == CONTROL:
                    for sub in list(self.controls.get(message["group"], ())):
                        await sub.control(message["action"], message["data"])
                elif message.get("type") == PROBE:
                    waiter = self._probes.pop(message["id"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(True)
            except asyncio.CancelledError:
                raise
            except Exception:
                # One bad message or one broken socket must not stop delivery for all.
                logger.exception("hub: failed to handle a channel-layer message")
                await asyncio.sleep(0.05)

    async def _deliver(self, data: dict) -> None:
        subscribers = self.topics.get(data["group"])
        if not subscribers:
            return
        message = message_from_wire(data["message"])
        presence = isinstance(message, PresenceChange)
        frames: dict[str, str | bytes | None] = {}
        for sub in list(subscribers):
            if sub.id == message.exclude or (presence and sub.knows(message)):
                continue
            if sub.wire_format not in frames:
                frames[sub.wire_format] = sub.frame_for(message)
            frame = frames[sub.wire_format]
            if frame is None:
                continue
            try:
                await sub.write(frame)
                self.delivered += 1
            except Exception:
                self.failed_writes += 1
                logger.warning("hub: write to a closing socket failed", exc_info=True)

    async def probe(self, timeout: float) -> bool:
        """Does this process's channel receive? A message to itself must come back.

        After Redis restarts, the channel layer's pub/sub connection re-subscribes on its
        own (redis-py's PubSub re-sends every SUBSCRIBE when it reconnects, all groups in
        one command with the hub's channel), but only after a reconnect back-off; until
        this probe comes back, events published to this process's topics are lost.
        A process without a channel subscribes to nothing and has nothing to miss.
        """
        if self.channel is None:
            return True
        self._probe_ids += 1
        probe_id = self._probe_ids
        waiter = self._probes[probe_id] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(
                self.layer.send(self.channel, {"type": PROBE, "id": probe_id}), timeout
            )
            await asyncio.wait_for(waiter, timeout)
            return True
        except Exception:  # Redis unreachable, or the probe timed out
            return False
        finally:
            self._probes.pop(probe_id, None)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for group in list(self.topics) + list(self.controls):
                await self.layer.group_add(group, self.channel)


def _control_group(app_id: int) -> str:
    return f"c.{app_id}"


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process under a server)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


async def send_control(app_id: int, action: str, data: dict[str, Any]) -> None:
    await get_hub().send_control(app_id, action, data)


# For synchronous callers (DRF views run in a worker thread): under an ASGI server this
# runs on the server's event loop, so local sockets are written from their own loop.
send_control_sync = async_to_sync(send_control)
