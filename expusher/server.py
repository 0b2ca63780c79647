"""Run daphne with ExPusher's limits: `python -m expusher.server [daphne options]`.

daphne's own default accepts WebSocket messages of up to 1 MiB; our documented limit is
EXPUSHER_MAX_MESSAGE_BYTES (64 KiB), so the server refuses bigger ones itself, closing
with 1009, before a byte of them reaches Python code (see close_instead_of_dropping).
Every way of starting the service (scripts/serve, the Procfile, the tests) goes through
here so the limits are the same.
"""

import errno
import gc
import logging
import os
import socket
import sys
from itertools import repeat

from expusher import lean_sockets

logger = logging.getLogger("expusher.server")

# The releases the patches below were written for and tested on; pyproject.toml carries
# the same bounds (tests/test_server_versions.py keeps the two equal).
PATCHED_PACKAGES = {
    "daphne": ">=4.2.2,<4.3",
    "Twisted": ">=24.11,<27",
    "autobahn": ">=24.4,<27",
}


def untested_packages() -> list[str]:
    """The patched packages whose installed release is outside PATCHED_PACKAGES."""
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    return [
        f"{name} {version(name)} (tested: {spec})"
        for name, spec in PATCHED_PACKAGES.items()
        if version(name) not in SpecifierSet(spec)
    ]


def daphne_arguments(argv: list[str]) -> list[str]:
    from django.conf import settings

    limit = str(settings.EXPUSHER_MAX_MESSAGE_BYTES)
    return [
        "--websocket-max-message-size",
        limit,
        "--websocket-max-frame-size",
        limit,
        *argv,
        "expusher.asgi:application",
    ]


def listen_with_a_deep_backlog() -> None:
    """Listen on -b/-p with a backlog of EXPUSHER_LISTEN_BACKLOG (the kernel caps it at
    net.core.somaxconn) instead of Twisted's 50.

    With 50, a burst of a thousand connects overflowed the queue: the kernel dropped the
    SYNs, the clients resent them after 1, 3, 7, 15 s, and 40 s later a quarter of 5,000
    sockets were still not open although the process was idle half of that time.
    """
    from daphne import cli
    from django.conf import settings

    build = cli.build_endpoint_description_strings
    backlog = settings.EXPUSHER_LISTEN_BACKLOG

    def build_with_backlog(*args, **kwargs) -> list[str]:
        return [
            f"{endpoint}:backlog={backlog}" if endpoint.startswith("tcp:") else endpoint
            for endpoint in build(*args, **kwargs)
        ]

    cli.build_endpoint_description_strings = build_with_backlog


CLOSE_WAIT_SECONDS = 5
_OPEN = 3  # autobahn's WebSocketProtocol.STATE_OPEN, checked by direct_websocket_writes


def close_instead_of_dropping() -> None:
    """Answer a too-big message with a 1009 close frame (and bad UTF-8 with 1007).

    autobahn, under daphne, "fails" such a connection by dropping TCP (failByDrop=True),
    so a client saw only 1006 and no reason. With failByDrop off it sends the close
    frame with the code first, as RFC 6455 and our documented limits say.
    """
    from daphne import server
    from daphne.ws_protocol import WebSocketFactory

    class ClosingWebSocketFactory(WebSocketFactory):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # After our close frame, autobahn waits this long for the client's before it
            # aborts TCP, which discards a close frame still unread or unsent: its default
            # of 1 s can turn a busy client's 4102 (too many frames) into a 1006, after which
            # a Pusher client reconnects at once instead of backing off.
            self.setProtocolOptions(failByDrop=False, closeHandshakeTimeout=CLOSE_WAIT_SECONDS)

    server.WebSocketFactory = ClosingWebSocketFactory


def access_log_without_query_strings() -> None:
    """Log request paths without their query strings in daphne's access log.

    Long-poll requests carry the client's connect params, the JWT among them, in the
    query string of every poll (phoenix's LongPoll repeats them), and daphne logs HTTP
    URIs whole; its WebSocket entries already log the path only.
    """
    from daphne import cli
    from daphne.access import AccessLogGenerator

    class PathOnlyAccessLog(AccessLogGenerator):
        def __call__(self, protocol, action, details):
            path = details.get("path")
            if isinstance(path, str):
                details = {**details, "path": path.split("?", 1)[0]}
            super().__call__(protocol, action, details)

    cli.AccessLogGenerator = PathOnlyAccessLog


def write_without_waiting() -> None:
    """Send a frame at once when nothing is queued, as asyncio's own transports do.

    Twisted queues every write and sends it on the next loop iteration, registering the
    socket with the reactor and removing it again: three system calls and a loop turn
    per frame, the largest share of a fan-out's CPU (bench/README.md). Writing at once
    when the socket's queue is empty keeps the order and falls back to Twisted's queue
    for whatever the socket does not take (a partial send, EAGAIN, an error, which
    Twisted's next attempt then reports). The send is the socket's own: Twisted's
    writeSomeData adds a memoryview and an EINTR loop, which Python's socket already has.
    """
    from twisted.internet import tcp

    queued_write = tcp.Connection.write

    def write(self, data: bytes) -> None:
        if (
            data
            and not self.TLS
            and self.connected
            and not self._writeDisconnected
            and not self.disconnecting
            and not self._tempDataBuffer
            and self.offset == len(self.dataBuffer)
        ):
            try:
                sent = self.socket.send(data)
            except OSError:  # EAGAIN, ENOBUFS, or a broken connection: Twisted's to handle
                sent = 0
            if sent == len(data):
                return
            if sent:
                data = data[sent:]
        queued_write(self, data)

    tcp.Connection.write = write


def read_without_log_context() -> None:
    """Call a socket's doRead and doWrite straight from the event loop.

    Twisted's asyncio reactor wraps every readiness callback in callWithLogger: it asks the
    socket for its log prefix, then copies and pushes a context dict for Twisted's legacy
    log, which neither daphne nor ExPusher reads (both log through Python's logging). That
    was about 3 % of a Pusher HTTP API trigger's CPU (README, "Measured"). `_readOrWrite`
    still catches and logs what doRead or doWrite raises, and disconnects the socket.
    Otherwise these are Twisted's addReader and addWriter, line for line.
    """
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    def addReader(self, reader) -> None:  # noqa: N802 (Twisted's names)
        if reader in self._readers.keys() or reader in self._continuousPolling._readers:
            return
        fd = reader.fileno()
        try:
            self._asyncioEventloop.add_reader(fd, self._readOrWrite, reader, True)
            self._readers[reader] = fd
        except OSError as e:
            self._unregisterFDInAsyncio(fd)
            if e.errno == errno.EPERM:  # epoll refuses regular files: Twisted polls them
                self._continuousPolling.addReader(reader)
            else:
                raise

    def addWriter(self, writer) -> None:  # noqa: N802
        if writer in self._writers.keys() or writer in self._continuousPolling._writers:
            return
        fd = writer.fileno()
        try:
            self._asyncioEventloop.add_writer(fd, self._readOrWrite, writer, False)
            self._writers[writer] = fd
        except PermissionError:
            self._unregisterFDInAsyncio(fd)
            self._continuousPolling.addWriter(writer)
        except BrokenPipeError:
            self._unregisterFDInAsyncio(fd)
        except BaseException:
            self._unregisterFDInAsyncio(fd)
            raise

    AsyncioSelectorReactor.addReader = addReader
    AsyncioSelectorReactor.addWriter = addWriter


def _cut_if_slow(protocol) -> bool:
    """Close a WebSocket whose unsent frames pass EXPUSHER_MAX_PENDING_BYTES (True if so).

    A client that stops reading makes Twisted keep every frame sent to it in memory, for
    as long as the TCP connection lives (until daphne's ping timeout, about a minute).
    Past the bound, the socket gets a close frame with 4101 (a stock Pusher client backs
    off and reconnects) and, since a reader that slow may never take even that, its TCP
    connection is dropped a moment later. Counted in /metrics.
    """
    from django.conf import settings

    transport = protocol.transport
    pending = (
        len(getattr(transport, "dataBuffer", b""))
        - getattr(transport, "offset", 0)
        + getattr(transport, "_tempDataLen", 0)
    )
    if pending <= settings.EXPUSHER_MAX_PENDING_BYTES:
        return False
    if protocol.state == protocol.STATE_OPEN:
        from realtime.errors import SlowReader
        from realtime.hub import get_hub

        get_hub().slow_readers_cut += 1
        logger.warning("closing a WebSocket of %s: %d bytes unsent", protocol.client_addr, pending)
        protocol.sendClose(code=SlowReader.code, reason=SlowReader.reason)
        from twisted.internet import reactor  # daphne's, installed by now

        reactor.callLater(2, transport.abortConnection)
    return True


def cut_slow_readers() -> None:
    """Apply _cut_if_slow to every frame the application sends through ASGI."""
    from daphne.ws_protocol import WebSocketProtocol

    send = WebSocketProtocol.serverSend

    def serverSend(self, content, binary=False):
        if not _cut_if_slow(self):
            send(self, content, binary)

    WebSocketProtocol.serverSend = serverSend


class DirectWrites:
    """A socket's prepared-frame writer, offered to the application in its scope.

    Through ASGI, every frame to every socket is a `websocket.send` message: a coroutine
    into daphne, a UTF-8 encode and autobahn's framing, again for each socket that gets
    the same broadcast. The hub instead frames a broadcast once (`prepare`, autobahn's
    PreparedMessage) and hands every socket the same bytes (`send_all`), with the same
    slow-reader bound.
    """

    __slots__ = ("protocol", "transport")
    prepared_message: type  # autobahn's PreparedMessage, set by direct_websocket_writes

    def __init__(self, protocol) -> None:
        self.protocol = protocol
        self.transport = protocol.transport

    @classmethod
    def prepare(cls, frame: str | bytes):
        if isinstance(frame, str):
            return cls.prepared_message(frame.encode(), False, False, True)
        return cls.prepared_message(frame, True, False, True)

    @staticmethod
    def send_all(prepared, writers) -> int:
        """Hand the same prepared frame to every writer's socket, in one call for them all.

        Returns the number of sockets it failed for (each logged; the others still get it).
        First, in Python, each socket is sorted: it takes the frame at once if it is open
        with nothing queued for it, or the frame is queued behind what waits. Then the
        sockets that take it at once get it in one C loop (map over socket.send), with no
        Python between two system calls: interleaved with them, the interpreter ran cold
        after each send's trip through the kernel's TCP stack, at several times its cost.
        """
        data = prepared.payloadHybi
        failed = 0
        idle, sockets = [], []
        # Twisted registers a transport for writing while anything waits in its queue, and
        # while it closes: with none registered, no socket here needs its queue looked at
        # (each look costs cache misses, which dominate a broadcast after a quiet spell).
        nothing_waits = not writers[0].transport.reactor._writers
        for writer in writers:
            protocol, transport = writer.protocol, writer.transport
            if (
                protocol.state == _OPEN
                and not protocol.send_queue  # autobahn is not sending a chopped frame
                and (
                    nothing_waits
                    or (
                        not _queued(transport)
                        and transport.connected
                        and not (transport.disconnecting or transport._writeDisconnected)
                    )
                )
            ):
                idle.append(writer)
                sockets.append(transport.socket)
            else:
                try:
                    writer._queue(data)
                except Exception:
                    failed += 1
                    logger.warning("a frame for a closing WebSocket failed", exc_info=True)
        sent: list[int] = []
        sends = map(socket.socket.send, sockets, repeat(data))
        while True:
            try:
                sent.extend(sends)  # on an error, the sends before it are in `sent`
                break
            except OSError:
                sent.append(0)  # Twisted's write queues it, and finds the error itself
        size = len(data)
        if sent.count(size) != len(sent):
            for writer, count in zip(idle, sent, strict=True):
                if count != size:
                    writer.transport.write(data[count:])
        return failed

    def _queue(self, data: bytes) -> None:
        """A frame for a socket that cannot take it at once."""
        protocol, transport = self.protocol, self.transport
        if protocol.state != _OPEN:
            return
        if _queued(transport):
            # Frames are waiting already: bound them, and queue this one behind them.
            if not _cut_if_slow(protocol):
                protocol.sendData(data)
        elif protocol.send_queue:  # autobahn is still sending a chopped frame
            protocol.sendData(data)
        else:
            transport.write(data)  # closing: Twisted's write queues it, or drops it once closed


def _queued(transport) -> bool:
    """Twisted's TCP transport holds bytes not yet sent."""
    return bool(transport._tempDataLen) or transport.offset != len(transport.dataBuffer)


def direct_websocket_writes() -> None:
    """Put each WebSocket's DirectWrites in its scope's extensions (realtime.transport).

    Only for plain TCP: DirectWrites reads the queue of Twisted's TCP transport, and a TLS
    socket (daphne's -e ssl:...) keeps sending through ASGI.
    """
    from autobahn.websocket.protocol import PreparedMessage
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import tcp

    from realtime.transport import DIRECT_WRITES, UPGRADE

    if WebSocketProtocol.STATE_OPEN != _OPEN:
        raise RuntimeError(f"autobahn's STATE_OPEN is {WebSocketProtocol.STATE_OPEN}, not {_OPEN}")
    DirectWrites.prepared_message = PreparedMessage
    create_application = Server.create_application

    def create(self, protocol, scope):
        transport = getattr(protocol, "transport", None)
        if (
            isinstance(protocol, WebSocketProtocol)
            and isinstance(transport, tcp.Connection)
            and not transport.TLS
        ):
            # daphne built this scope for this socket alone: extended in place, since a
            # copy would stay as long as the socket.
            extensions = scope.setdefault("extensions", {})
            extensions[DIRECT_WRITES] = DirectWrites(protocol)
            upgrade = getattr(transport, "expusher_upgrade", None)  # expusher.front_door
            if upgrade is not None:
                extensions[UPGRADE] = upgrade
        return create_application(self, protocol, scope)

    Server.create_application = create


def deny_with_http_responses() -> None:
    """Let the application answer a WebSocket upgrade with an HTTP status of its choosing.

    daphne knows only accept and close: a close before accept is always 403, and an
    exception (channels' router for an unknown path) a 500. This adds ASGI's WebSocket
    Denial Response extension: websocket scopes list `websocket.http.response`, and
    `websocket.http.response.start` then `.body` (the last one, without `more_body`)
    refuse the handshake with that status (realtime.routing answers 404 that way).
    autobahn writes the status line only: the headers and body sent are dropped.
    """
    from http import HTTPStatus

    from autobahn.websocket.types import ConnectionDeny
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    create_application = Server.create_application
    handle_reply = WebSocketProtocol.handle_reply

    def _phrase(status: int) -> str:
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            return "Denied"

    def create_application_with_extension(self, protocol, scope):
        if scope.get("type") == "websocket":
            scope.setdefault("extensions", {})["websocket.http.response"] = {}
        return create_application(self, protocol, scope)

    def handle_denial_response(self, message):
        kind = message.get("type")
        if kind == "websocket.http.response.start" and hasattr(self, "handshake_deferred"):
            self.expusher_denial_status = int(message["status"])
        elif kind == "websocket.http.response.body" and hasattr(self, "expusher_denial_status"):
            if not message.get("more_body") and hasattr(self, "handshake_deferred"):
                status = self.expusher_denial_status
                self.handshake_deferred.errback(ConnectionDeny(status, _phrase(status)))
                del self.handshake_deferred
                self.server.protocol_disconnected(self)
                address = self.client_addr
                client = f"{address[0]}:{address[1]}" if address else None
                details = {"path": self.request.path, "client": client}
                self.server.log_action("websocket", "rejected", details)
        else:
            handle_reply(self, message)

    Server.create_application = create_application_with_extension
    WebSocketProtocol.handle_reply = handle_denial_response


def drain_on_shutdown() -> None:
    """On SIGTERM, stop accepting, close every connection with 4200 spread over
    EXPUSHER_DRAIN_SECONDS (realtime.connection.connections_drain), write the last
    statistics, then let daphne stop.

    daphne's own shutdown cancels every application at once: its sockets dropped with
    1006 in a few milliseconds, all clients reconnected in the same instant, and other
    processes kept showing the departed users until the presence TTL ran out.
    """
    import asyncio

    from daphne.server import Server
    from django.conf import settings
    from twisted.internet import defer

    from realtime.connection import connections_drain
    from realtime.stats.flusher import flush_before_exit

    async def drain() -> None:
        await connections_drain(settings.EXPUSHER_DRAIN_SECONDS)
        await flush_before_exit()

    listen_success = Server.listen_success
    kill_all_applications = Server.kill_all_applications

    def keep_port(self, port):
        self.expusher_ports = [*getattr(self, "expusher_ports", []), port]
        return listen_success(self, port)

    def drain_then_kill(self):
        for port in getattr(self, "expusher_ports", []):
            port.stopListening()
        drained = asyncio.ensure_future(drain())
        done = defer.Deferred.fromFuture(drained)
        done.addErrback(lambda failure: logger.warning("drain failed: %s", failure.value))
        done.addBoth(lambda _: kill_all_applications(self))
        return done

    Server.listen_success = keep_port
    Server.kill_all_applications = drain_then_kill


def skip_form_parsing() -> None:
    """Do not let Twisted parse request bodies that daphne never reads that way.

    twisted.web's Request parses a POST's Content-Type through the email package and
    decodes form bodies into `request.args`; daphne hands the raw body to the ASGI
    application and never looks at `args`. That parse was about a tenth of the CPU of a
    Pusher HTTP API trigger.
    """
    from daphne.http_protocol import WebRequest

    init = WebRequest.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = __init__


def pusher_api_fast_path() -> None:
    """Serve connections that start with a Pusher HTTP API request or a REST trigger on a
    lean HTTP/1.1 path instead of daphne's (expusher.front_door)."""
    from api import fast_triggers
    from expusher.asgi import trigger_api
    from expusher.front_door import Api, install
    from realtime.pusher import http

    pusher = Api(
        app=http.pusher_http_api,
        prefixes=(b"POST /apps/", b"GET /apps/", b"POST /users/"),
        serves=http.serves,
        max_body=http.body_limit,
    )
    triggers = Api(
        app=trigger_api,
        prefixes=(b"POST /api/organizations/", b"OPTIONS /api/organizations/"),
        serves=fast_triggers.serves,
        max_body=fast_triggers.body_limit,
        admit=fast_triggers.admitted_scope,
    )
    install(pusher, triggers)


def choose_event_loop() -> None:
    """Run daphne's reactor on uvloop unless EXPUSHER_EVENT_LOOP=asyncio.

    Twisted's asyncio reactor needs only add_reader/add_writer and timers of its loop,
    which uvloop has; its own loop being C, a trigger costs a third less CPU (README,
    "Measured").
    """
    import asyncio

    from django.conf import settings

    if settings.EXPUSHER_EVENT_LOOP == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def raise_file_limit() -> None:
    """Let the process hold as many sockets as the system allows it (soft limit := hard).

    The common soft limit of 1,024 file descriptors caps a server at about a thousand
    connections, however much memory and CPU it has left.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def freeze_startup_heap() -> None:
    """Load the whole application, then move it out of the garbage collector's sight.

    Django's startup objects never die, yet every full collection walked them all: with
    1,000 sockets those pauses took 100-220 ms and set the p99 latency (bench/README.md).
    Frozen objects are skipped by the collector.
    """
    import importlib

    from django.conf import settings

    importlib.import_module("expusher.asgi")
    importlib.import_module(settings.ROOT_URLCONF)
    gc.collect()
    gc.freeze()


def send_webhooks() -> None:
    """Every serving process sends its applications' webhooks (realtime.pusher.webhooks)."""
    from realtime.pusher import webhooks

    webhooks.install()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expusher.settings")
    choose_event_loop()  # before daphne is imported: it creates its loop on import
    from daphne.cli import CommandLineInterface

    untested = untested_packages()
    if untested:
        # The patches reach into these packages' internals: another release may not have
        # them, or may have them with another meaning.
        sys.exit(f"expusher.server: refusing to start on untested {', '.join(untested)}")
    raise_file_limit()
    listen_with_a_deep_backlog()
    close_instead_of_dropping()
    access_log_without_query_strings()
    read_without_log_context()
    write_without_waiting()
    cut_slow_readers()
    lean_sockets.install()
    direct_websocket_writes()
    deny_with_http_responses()
    skip_form_parsing()
    freeze_startup_heap()  # loads Django: what follows may import models
    pusher_api_fast_path()
    send_webhooks()
    drain_on_shutdown()
    CommandLineInterface().run(daphne_arguments(sys.argv[1:]))


if __name__ == "__main__":
    main()
