"""Fan-out: the only module that talks to the channel layer.

Each server process has one Hub (per event loop) with one channel-layer channel. When the
first local socket joins a topic, the hub adds its channel to the topic's group; when the
last one leaves, it discards it. A broadcast is written at once to the publishing
process's own sockets, and sent as one group message to the other processes (none with
the in-memory layer, which reaches no other process): each receives it once and writes
it to its local sockets of that topic. The frame is encoded once per wire format, never
once per subscriber, and where the server offers it (expusher.server,
direct_websocket_writes) framed once too and handed to every socket as the same bytes.

Messages are protocol-neutral (realtime.messages): an event or a presence change, with an
optional connection to skip. Each subscriber renders them through `frame_for`, and the hub
asks once per wire format.

Cross-process control messages (close a user's sockets, for instance) travel the same way
on an application-wide control group.

The hub's channel is also this process's address: `send_to(channel, message)` reaches the
hub of another process, which hands messages of a type registered with `on(type, handler)`
to that handler (a long-poll session reached from another process, for one).
"""

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from realtime.messages import (
    HubMessage,
    PresenceChange,
    message_from_wire,
    message_to_wire,
)
from realtime.stats import counts
from realtime.topics import group_name

logger = logging.getLogger(__name__)

BROADCAST = "hub.broadcast"
CONTROL = "hub.control"
PROBE = "hub.probe"
# Group memberships expire in channel layers (group_expiry, a day by default), so the hub
# re-adds its groups well before that.
GROUP_REFRESH_SECONDS = 3600
# Marks this process's group messages: its hubs had them directly, not from the layer.
PROCESS_ID = uuid.uuid4().hex


class Subscriber(Protocol):
    """A local socket, as the hub sees it."""

    id: str  # the connection id that messages may exclude
    wire_format: str  # sockets with equal wire_format get the very same frame string

    def frame_for(self, message: HubMessage) -> str | bytes | None:
        """The frame for this socket's wire format; None if the format has none for it."""

    def knows(self, change: PresenceChange) -> bool:
        """True if the socket already has this presence change (from its join state)."""

    # The server's prepared-frame writer for this socket (realtime.transport), if any:
    # `direct.prepare(frame)` once per broadcast, then `direct.send_all(prepared, directs)`
    # for SEND_BATCH sockets of a wire format at a time (nothing to a closed socket).
    # Sockets without one get `write(frame)`.
    direct: Any

    async def write(self, frame: str | bytes) -> None: ...

    async def control(self, action: str, data: dict[str, Any]) -> None: ...


# Sockets handed a broadcast's frame per send_all call. All of a topic's at once would make
# the first wait for every other's sorting (about 2 ms for 1,000 after a quiet spell, when
# each socket's objects are cache misses); one at a time would interleave Python with the
# kernel's TCP stack and run it cold (see expusher.server.DirectWrites.send_all).
SEND_BATCH = 64


class _Batch:
    """One wire format's frame, prepared once, and the writers waiting for it."""

    __slots__ = ("frame", "prepared", "writers")

    def __init__(self, frame: str | bytes) -> None:
        self.frame = frame
        self.prepared: Any = None
        self.writers: list = []


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        # False on the in-memory layer, whose messages never leave this process (and
        # whose hubs publish reaches directly).
        self.spans_processes = not isinstance(self.layer, InMemoryChannelLayer)
        self.channel: str | None = None
        self.topics: dict[str, set[Subscriber]] = {}
        self.controls: dict[str, set[Subscriber]] = {}
        self._started = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.delivered = 0
        self.failed_writes = 0
        self.slow_readers_cut = 0  # by the server (expusher.server.cut_slow_readers)
        self._handlers: dict[str, Callable[[dict], Awaitable[None]]] = {}  # see on()
        self._probes: dict[int, asyncio.Future] = {}
        self._probe_ids = 0
        self.on(PROBE, self._probe_returned)

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
            if self.spans_processes:
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
            if self.spans_processes:
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
        counts.of(app_id).published += 1
        await self._everywhere(
            group,
            {"type": BROADCAST, "group": group, "app": app_id, "message": message},
            self._deliver,
        )

    async def send_control(self, app_id: int, action: str, data: dict[str, Any]) -> None:
        group = _control_group(app_id)
        await self._everywhere(
            group,
            {"type": CONTROL, "group": group, "action": action, "data": data},
            self._control,
        )

    async def _everywhere(self, group: str, message: dict, handle) -> None:
        """This loop's sockets at once, this process's other loops soon, then the others."""
        await handle(message)
        if len(_hubs) > 1:
            for loop, hub in list(_hubs.items()):
                if hub is not self:
                    _schedule(loop, getattr(hub, handle.__name__), message)
        if self.spans_processes:
            wire = dict(message, origin=PROCESS_ID)
            if "message" in wire:
                wire["message"] = message_to_wire(wire["message"])
            try:
                await self.layer.group_send(group, wire)
            except Exception:
                counts.broker_error("channel_layer")
                raise

    async def _receive_loop(self) -> None:
        while True:
            received = False
            try:
                message = await self.layer.receive(self.channel)
                received = True
                if message.get("origin") == PROCESS_ID:
                    continue  # published here: delivered before it was sent
                if message.get("type") == BROADCAST:
                    message["message"] = message_from_wire(message["message"])
                    await self._deliver(message)
                elif message.get("type") == CONTROL:
                    await self._control(message)
                elif (handler := self._handlers.get(message.get("type"))) is not None:
                    await handler(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # One bad message or one broken socket must not stop delivery for all.
                if not received:
                    counts.broker_error("channel_layer")
                logger.exception("hub: failed to handle a channel-layer message")
                await asyncio.sleep(0.05)

    async def _control(self, data: dict) -> None:
        for sub in list(self.controls.get(data["group"], ())):
            await sub.control(data["action"], data["data"])

    async def _deliver(self, data: dict) -> None:
        subscribers = self.topics.get(data["group"])
        if not subscribers:
            return
        message: HubMessage = data["message"]
        exclude = message.exclude
        presence = isinstance(message, PresenceChange)
        frames: dict[str, str | bytes | None] = {}
        # Per wire format, sockets with a prepared-frame writer, handed their frame in one
        # call (direct.send_all) at SEND_BATCH of them, before any await below, and at the
        # end: every socket gets its frames in the order they were published.
        batches: dict[str, _Batch] = {}
        delivered = 0
        for sub in list(subscribers):
            if (exclude is not None and sub.id == exclude) or (presence and sub.knows(message)):
                continue
            wire_format = sub.wire_format
            frame = frames.get(wire_format, _UNRENDERED)
            if frame is _UNRENDERED:
                frame = frames[wire_format] = sub.frame_for(message)
            if frame is None:
                continue
            direct = sub.direct
            if direct is not None:
                batch = batches.get(wire_format)
                if batch is None:
                    batch = batches[wire_format] = _Batch(frame)
                writers = batch.writers
                writers.append(direct)
                delivered += 1
                if len(writers) == SEND_BATCH:
                    self._send(batch)
                continue
            for batch in batches.values():
                self._send(batch)
            try:
                await sub.write(frame)
                delivered += 1
            except Exception:
                self.failed_writes += 1
                logger.warning("hub: write to a closing socket failed", exc_info=True)
        for batch in batches.values():
            self._send(batch)
        # Statistics: one addition per publish, whatever the number of subscribers.
        self.delivered += delivered
        app_id = data.get("app")  # absent from a process of an older release
        if delivered and app_id is not None:
            counts.of(app_id).delivered += delivered

    def _send(self, batch: _Batch) -> None:
        writers = batch.writers
        if not writers:
            return
        try:
            if batch.prepared is None:
                batch.prepared = writers[0].prepare(batch.frame)
            self.failed_writes += writers[0].send_all(batch.prepared, writers)
        except Exception:
            self.failed_writes += 1
            logger.warning("hub: write to a closing socket failed", exc_info=True)
        writers.clear()

    # Addressed messages, from one process to another.

    async def address(self) -> str:
        """This process's channel: where another process's send_to() reaches this hub."""
        return await self._ensure_channel()

    def on(self, type: str, handler: Callable[[dict], Awaitable[None]]) -> None:
        """Hand each message of `type` that reaches this hub to `handler`.

        The handler runs inside the receive loop, so it returns at once (longer work goes
        in a task of its own). Registering a type again replaces its handler.
        """
        self._handlers[type] = handler

    async def send_to(self, channel: str, message: dict[str, Any]) -> None:
        """Send `message` (a dict with a "type") to the hub at `channel`.

        At most once: nothing tells whether it arrived (on Redis, a message to a process
        that has gone is dropped), so the receiver answers and the sender bounds its wait.
        """
        await self.layer.send(channel, message)

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

    async def _probe_returned(self, message: dict) -> None:
        waiter = self._probes.pop(message["id"], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for group in list(self.topics) + list(self.controls):
                await self.layer.group_add(group, self.channel)


_UNRENDERED = object()


def _control_group(app_id: int) -> str:
    return f"c.{app_id}"


def _schedule(loop: asyncio.AbstractEventLoop, handle, message: dict) -> None:
    """Run a hub's handler on its own loop (tests and sync callers have other loops)."""
    work = handle(message)
    try:
        loop.call_soon_threadsafe(asyncio.ensure_future, work)
    except RuntimeError:  # that loop is closed: its sockets are gone
        work.close()


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()
# Called with each new hub, on its loop: per-process work that must start with the first
# socket, trigger or health check (the debug console's watch of other processes, say).
_on_new_hub: list[Callable[[Hub], None]] = []


def when_hub_created(callback: Callable[[Hub], None]) -> None:
    _on_new_hub.append(callback)


def get_hub() -> Hub:
    """The hub of the running event loop (one per process under a server)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
        for callback in _on_new_hub:
            callback(hub)
    return hub


async def send_control(app_id: int, action: str, data: dict[str, Any]) -> None:
    await get_hub().send_control(app_id, action, data)


# For synchronous callers (DRF views run in a worker thread): under an ASGI server this
# runs on the server's event loop, so local sockets are written from their own loop.
send_control_sync = async_to_sync(send_control)
