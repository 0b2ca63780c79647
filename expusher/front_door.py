"""The front door of daphne's server: every new TCP connection's first request.

Admission: a connection must send its first request head (request line and headers)
within EXPUSHER_HEAD_TIMEOUT_SECONDS, or it is answered 408 and closed; and one client
address may hold at most EXPUSHER_HALF_OPEN_PER_ADDRESS connections that have not sent
theirs yet (more are closed at once). Without this, connections that dribble a header
line every few seconds stay open for good (Twisted re-arms its idle timer on every byte),
and about a thousand of them exhaust the process's file descriptors.

Then a lean HTTP/1.1 path for the trigger APIs: the Pusher HTTP API and ExPusher's REST
triggers. daphne turns every HTTP request into a twisted.web Request and an ASGI
application instance with its own queue and checker: about 0.8 ms of CPU, most of a Pusher
trigger. Server libraries and backends keep one connection open and send only API
requests on it, so a connection whose first request is for one of these APIs is served
here instead: requests are parsed with a few byte operations, handed to the same ASGI
application (realtime.pusher.http, api.fast_triggers) on the same event loop, and answered
in order. The first request for any other path on such a connection (a proxy may pool
connections), or one the API does not admit, hands the connection, from that request on,
back to daphne, so Django still answers it.

What the API path leaves out, on purpose: HTTP/2, daphne's access log (refusals are
logged by the APIs themselves), and chunked request bodies: the Pusher HTTP API answers
them 411 (the libraries send Content-Length), the REST triggers give them back to daphne,
as they do bodies over their limit and whatever api.fast_admission leaves to Django.
"""

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from twisted.internet import protocol, tcp

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
IDLE_SECONDS = 75  # a kept-alive connection nobody uses is closed, as daphne does
REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    408: b"Request Timeout",
    405: b"Method Not Allowed",
    411: b"Length Required",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


@dataclass(frozen=True)
class Api:
    """One API this path serves: an ASGI application, how its request lines start, which
    paths are its, its body limit, and which requests it takes."""

    app: Any
    prefixes: tuple[bytes, ...]  # b"METHOD /path-prefix": the requests that may be its
    serves: Any  # (path: str) -> bool
    max_body: Any  # () -> int
    # (scope) -> the scope to serve, or None: daphne answers the request (and the rest of
    # the connection). With it, a request this path would refuse (chunked, too large, a
    # bad Content-Length) is given back to daphne instead of answered 411/413/400.
    admit: Any = None


def _is_api(data: bytes, apis: tuple[Api, ...]) -> bool:
    return any(data.startswith(api.prefixes) for api in apis)


def _peek_bytes(apis: tuple[Api, ...]) -> int:
    return max(len(prefix) for api in apis for prefix in api.prefixes)


class _GiveBack(Exception):
    """A request for another path: daphne answers it, and the rest of the connection."""


class _Respond(Exception):
    """A request this path answers itself, then closes the connection."""

    def __init__(self, status: int):
        self.status = status


def _refusal(api: Api, status: int) -> Exception:
    """What to raise for a request `api` will not be served here: daphne's, or `status`."""
    return _GiveBack() if api.admit is not None else _Respond(status)


# Per process: client address -> its connections still sending their first request head.
_half_open: Counter = Counter()


class FirstRequestRouter(protocol.Protocol):
    """Admits a new connection once its first request head is in, within the deadline,
    then gives it to the API path or to daphne."""

    def __init__(self, build_daphne, addr, apis: tuple[Api, ...]):
        self._build_daphne, self._addr, self._apis = build_daphne, addr, apis
        self._buffer = b""
        self._address: str | None = None
        self._deadline = None

    def connectionMade(self) -> None:
        if not isinstance(self.transport, tcp.Server):
            # TLS and UNIX-socket transports wrap their protocol differently: daphne's.
            handover(self.transport, self._build_daphne(self._addr), b"")
            return
        # Frames and answers are small and latency-bound: Nagle's algorithm would hold
        # each one back until the previous was acknowledged (up to 40 ms of delayed ACK).
        self.transport.setTcpNoDelay(True)
        address = self.transport.getPeer().host
        if _half_open[address] >= settings.EXPUSHER_HALF_OPEN_PER_ADDRESS:
            logger.warning("refused a connection from %s: too many half-open ones", address)
            self.transport.abortConnection()
            return
        self._address = address
        _half_open[address] += 1
        self._deadline = _reactor().callLater(
            settings.EXPUSHER_HEAD_TIMEOUT_SECONDS, self._too_slow
        )

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if b"\r\n\r\n" not in self._buffer and len(self._buffer) <= MAX_HEAD_BYTES:
            return  # the head is not complete yet
        self._admitted()
        if _is_api(self._buffer, self._apis):
            api = ApiConnection(self._build_daphne, self._addr, self._apis)
            handover(self.transport, api, self._buffer)
            return
        if _is_upgrade(self._buffer) and not _upgrade_admitted(self.transport):
            return
        handover(self.transport, self._build_daphne(self._addr), self._buffer)

    def connectionLost(self, reason=None) -> None:
        self._admitted()  # closed before its first request head was in

    def _admitted(self) -> None:
        """The head is in (or the connection is gone): it no longer counts as half-open."""
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None
        if self._address is not None:
            _half_open[self._address] -= 1
            if _half_open[self._address] <= 0:
                del _half_open[self._address]
            self._address = None

    def _too_slow(self) -> None:
        self._deadline = None
        self._admitted()
        self.transport.write(_Response(status=408).encode(keep_alive=False))
        self.transport.loseConnection()


def _is_upgrade(data: bytes) -> bool:
    head = data[: data.find(b"\r\n\r\n")].lower()
    return b"\r\nupgrade:" in head and b"websocket" in head


class _Refusals:
    """Upgrades refused for capacity, logged once a second at most: a flood of them
    would otherwise be a flood of log lines."""

    count = 0
    logged_at = 0.0

    @classmethod
    def add(cls, why: str) -> None:
        cls.count += 1
        now = _now()
        if now - cls.logged_at >= 1.0:
            logger.warning("refused %d WebSocket upgrades with 503: %s", cls.count, why)
            cls.count, cls.logged_at = 0, now


def _upgrade_admitted(transport) -> bool:
    """Let a WebSocket upgrade go to daphne if the process can take one more connection
    (realtime.capacity), counted as pending until its admission; else answer it 503
    before any handshake work, and say False."""
    from realtime import capacity, errors
    from realtime.stats import counts

    why = capacity.refusal()
    if why is None:
        transport.expusher_upgrade = capacity.Upgrade()  # read by expusher.server
        return True
    _Refusals.add(why)
    counts.connection_refused(None, errors.OverCapacity.reason)  # for no application yet
    response = _Response(status=503)
    response.headers = [(b"Retry-After", b"1"), (b"Content-Type", b"text/plain")]
    response.body = [b"server at capacity, retry later\n"]
    transport.write(response.encode(keep_alive=False))
    transport.loseConnection()
    return False


def handover(transport, new_protocol, data: bytes) -> None:
    """Let `new_protocol` own the connection from now on, starting with `data`."""
    transport.protocol = new_protocol
    new_protocol.makeConnection(transport)
    if data:
        new_protocol.dataReceived(data)


class ApiConnection(protocol.Protocol):
    """One kept-alive connection of a server library: requests answered one at a time."""

    def __init__(self, build_daphne, addr, apis: tuple[Api, ...]):
        self._build_daphne, self._addr, self._apis = build_daphne, addr, apis
        self._peek = _peek_bytes(apis)
        self._buffer = b""
        self._busy = False
        self._closed = False
        self._idle = None
        self._last_request = 0.0
        self._continued = False  # "100 Continue" sent for the request being read
        self._addresses: dict[str, list | None] = {}
        self._lost: asyncio.Future | None = None  # resolved when the connection closes

    def connectionMade(self) -> None:
        # Asked once: every request's scope names the same two ends.
        self._addresses = {
            "client": _address(self.transport.getPeer()),
            "server": _address(self.transport.getHost()),
        }
        self._last_request = _now()
        self._idle = _reactor().callLater(IDLE_SECONDS, self._check_idle)

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()

    def connectionLost(self, reason=None) -> None:
        self._closed = True
        self._stop_idle()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _check_idle(self) -> None:
        # One timer per connection, re-armed lazily: a request only records the time.
        idle = _now() - self._last_request
        if idle >= IDLE_SECONDS and not self._busy:
            self.transport.loseConnection()
        else:
            self._idle = _reactor().callLater(max(IDLE_SECONDS - idle, 1), self._check_idle)

    def _stop_idle(self) -> None:
        if self._idle is not None and self._idle.active():
            self._idle.cancel()

    def _next(self) -> None:
        """Start the next complete request in the buffer, if there is one."""
        if self._closed or not self._buffer:
            return
        if not _is_api(self._buffer[: self._peek], self._apis) and len(self._buffer) >= self._peek:
            self._give_back()
            return
        try:
            request = self._parse()
        except _Respond as e:
            self._answer_and_close(e.status)
            return
        except _GiveBack:
            self._give_back()  # with the request still in the buffer
            return
        if request is None:
            return  # incomplete: wait for more bytes
        api, scope, body, keep_alive, size = request
        self._buffer = self._buffer[size:]
        self._continued = False
        self._busy = True
        asyncio.ensure_future(self._run(api, scope, body, keep_alive))

    def _give_back(self) -> None:
        self._stop_idle()
        handover(self.transport, self._build_daphne(self._addr), self._buffer)
        self._buffer = b""

    def _api_for(self, path: str) -> Api | None:
        for api in self._apis:
            if self._buffer.startswith(api.prefixes) and api.serves(path):
                return api
        return None

    def _parse(self):
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise _Respond(431)
            return None
        lines = self._buffer[:end].split(b"\r\n")
        try:
            method, target, version = lines[0].split(b" ")
        except ValueError:
            raise _Respond(400) from None
        path, _, query = target.partition(b"?")
        path = unquote(path.decode("latin-1"))
        api = self._api_for(path)
        if api is None:
            raise _GiveBack()
        headers, length, keep_alive = [], 0, version == b"HTTP/1.1"
        expect_continue = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise _refusal(api, 400)
            name, value = name.strip().lower(), value.strip()
            headers.append((name, value))
            if name == b"content-length":
                if not value.isdigit():
                    raise _refusal(api, 400)
                length = int(value)
                if length > api.max_body():
                    raise _refusal(api, 413)
            elif name == b"transfer-encoding":
                raise _refusal(api, 411)
            elif name == b"expect":
                expect_continue = value.lower() == b"100-continue"
            elif name == b"connection":
                keep_alive = value.lower() != b"close" and (
                    version == b"HTTP/1.1" or value.lower() == b"keep-alive"
                )
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": version[5:].decode("ascii", "replace"),
            "method": method.decode("ascii", "replace"),
            "scheme": "http",
            "path": path,
            "raw_path": target.partition(b"?")[0],
            "query_string": query,
            "root_path": "",
            "headers": headers,
            **self._addresses,
        }
        if api.admit is not None:
            scope = api.admit(scope)
            if scope is None:
                raise _GiveBack()
        start = end + 4
        if len(self._buffer) - start < length:
            if expect_continue and not self._continued:
                self._continued = True  # curl waits a second for this before the body
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return None
        body = self._buffer[start : start + length]
        return api, scope, body, keep_alive, start + length

    async def _run(self, api: Api, scope, body: bytes, keep_alive: bool) -> None:
        response = _Response()
        received = False

        async def receive():
            nonlocal received
            if received:
                # Only after the body: Django (which the REST triggers may hand a request
                # to) listens for the disconnect while its view runs.
                await self._until_lost()
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await api.app(scope, receive, response.send)
        except Exception:
            logger.exception("HTTP API fast path: %s failed", scope["path"])
            response = _Response(status=500)
        if self._closed:
            return
        self.transport.write(response.encode(keep_alive))
        if not keep_alive:
            self.transport.loseConnection()
            return
        self._busy = False
        self._last_request = _now()
        self._next()

    async def _until_lost(self) -> None:
        if self._closed:
            return
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._lost)  # a cancelled waiter leaves it for the next

    def _answer_and_close(self, status: int) -> None:
        self.transport.write(_Response(status=status).encode(keep_alive=False))
        self.transport.loseConnection()
        self._closed = True


class _Response:
    def __init__(self, status: int | None = None):
        self.status = status
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    async def send(self, message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [
                (k, v)
                for k, v in message.get("headers", ())
                if k.lower() not in (b"content-length", b"connection")
            ]
        elif message["type"] == "http.response.body":
            self.body.append(message.get("body", b""))

    def encode(self, keep_alive: bool) -> bytes:
        status = self.status or 500
        body = b"".join(self.body)
        head = [b"HTTP/1.1 %d %s" % (status, REASONS.get(status, b"Unknown"))]
        head += [name + b": " + value for name, value in self.headers]
        head.append(b"Content-Length: %d" % len(body))
        head.append(b"Connection: keep-alive" if keep_alive else b"Connection: close")
        return b"\r\n".join(head) + b"\r\n\r\n" + body


def _reactor():
    from twisted.internet import reactor  # installed by daphne before this runs

    return reactor


def _now() -> float:
    return time.time()  # the reactor's clock


def _address(address) -> list | None:
    host, port = getattr(address, "host", None), getattr(address, "port", None)
    return [host, port] if host is not None else None


def install(*apis: Api) -> None:
    """Route new daphne connections whose first request is for one of `apis` here.

    Called by expusher.server before daphne starts.
    """
    from daphne.http_protocol import HTTPFactory

    build = HTTPFactory.buildProtocol

    def buildProtocol(self, addr):
        return FirstRequestRouter(lambda a: build(self, a), addr, apis)

    HTTPFactory.buildProtocol = buildProtocol
