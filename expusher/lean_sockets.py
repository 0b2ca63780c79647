"""What an open WebSocket keeps of its handshake: as little as possible.

An idle connection's memory is mostly what daphne, autobahn and Twisted keep of the HTTP
upgrade that opened it. Each patch below lets one of those go once it has done its work;
installed by expusher.server, pinned with the other patches (PATCHED_PACKAGES).
"""

import asyncio
import operator
from functools import partial


def release_the_upgrade_request() -> None:
    """Free the HTTP channel that handed a connection over to WebSocket, and give the
    socket a SendQueue.

    Twisted's HTTPChannel registers itself as its transport's producer and arms an idle
    timer of twelve hours; daphne swaps the transport's protocol on upgrade but leaves
    both, so the channel, its request and their headers (about 2.5 KiB) live as long as
    the socket, and the timer would abort it after twelve hours of open WebSocket.
    """
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.web.http import HTTPChannel

    connection_made = WebSocketProtocol.connectionMade

    def connectionMade(self) -> None:  # noqa: N802 (Twisted's name)
        channel = getattr(self.transport, "producer", None)
        if isinstance(channel, HTTPChannel):
            channel.setTimeout(None)
            self.transport.unregisterProducer()
        connection_made(self)
        self.send_queue = SendQueue()  # see SendQueue

    WebSocketProtocol.connectionMade = connectionMade


# What autobahn keeps of the handshake it parsed: read while it is processed, never after.
_HANDSHAKE_ATTRIBUTES = ("http_request_data", "http_headers", "http_request_params")


def forget_the_handshake() -> None:
    """Once a WebSocket is open, drop the parsed upgrade request (about 2 KiB).

    autobahn keeps the raw request, its headers and query parameters; daphne keeps
    autobahn's request object for the path it logs. daphne's cleaned header list is also
    the scope's: realtime.transport empties it once connect has read it (a socket may be
    open before that).
    """
    from daphne.ws_protocol import WebSocketProtocol

    on_open = WebSocketProtocol.onOpen

    def onOpen(self) -> None:  # noqa: N802 (autobahn's name)
        on_open(self)
        for name in _HANDSHAKE_ATTRIBUTES:
            if hasattr(self, name):
                setattr(self, name, None)
        self.request = _Path(self.request.path)  # daphne logs it

    WebSocketProtocol.onOpen = onOpen


def options_from_the_factory() -> None:
    """Read autobahn's protocol options from the factory instead of a copy per socket.

    autobahn copies 29 options (timeouts, limits, flags) from the factory onto each new
    protocol, unless its class already has them. As class properties they are read from
    the one factory (daphne sets them once, at start), and each socket's attribute dict
    stays under the size at which Python doubles it (1.6 KiB instead of 3.3 KiB).
    """
    from daphne.ws_protocol import WebSocketProtocol

    for name in WebSocketProtocol.CONFIG_ATTRS:
        setattr(WebSocketProtocol, name, property(operator.attrgetter(f"factory.{name}")))


class SendQueue(list):
    """autobahn's per-socket queue of chopped and synchronous sends, which daphne never
    makes: a list (56 bytes) where autobahn allocates a deque (about 650 bytes). autobahn
    uses `append`, `popleft` and `len`; the queue holds a frame's chops at most."""

    __slots__ = ()

    def popleft(self):
        return self.pop(0)


class _Path:
    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


class Inbox:
    """What daphne's application instances receive from: asyncio.Queue's `put_nowait`
    and `get` for one reader, in a fraction of its memory.

    daphne gives every connection an asyncio.Queue: four deques and an Event, about
    3 KiB, for a socket that is idle most of its life. An item put while the reader is
    cancelled stays for its next `get`.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list = []
        self._waiter: asyncio.Future | None = None

    def put_nowait(self, item) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self):
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


def lean_application_queues() -> None:
    """daphne's Server.create_application (4.2), with an Inbox for its asyncio.Queue."""
    from daphne.server import Server

    def create_application(self, protocol, scope):
        assert "application_instance" not in self.connections[protocol]
        inbox = Inbox()
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(
            scope=scope, receive=inbox.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(instance)
        return inbox

    Server.create_application = create_application


def install() -> None:
    """Before the other patches of create_application, which wrap this one."""
    lean_application_queues()
    release_the_upgrade_request()
    forget_the_handshake()
    options_from_the_factory()
