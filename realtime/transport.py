"""What the WebSocket consumers of both protocols share: a transport around a handler.

A consumer's `connect` builds the protocol's handler (an object with `receive(data)` and
`stop()`) and sets `self.handler`; from then on every frame goes to it, bounded in size,
and the end of the socket stops it.
"""

import asyncio
import logging
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from realtime import errors

# The scope extension under which the server offers a socket's prepared-frame writer
# (expusher.server.DirectWrites): `prepare(frame)` once per broadcast, then
# `send_all(prepared, writers)` hands it to every socket at once. Under other servers (and
# in tests) frames go through ASGI `send`.
DIRECT_WRITES = "expusher.direct_writes"
# The scope extension under which the server hands a WebSocket the realtime.capacity
# Upgrade that the front door counted it under.
UPGRADE = "expusher.upgrade"
# ASGI's WebSocket Denial Response extension: the server may answer an upgrade with any
# HTTP response (expusher.server teaches daphne to).
DENIAL_RESPONSE = "websocket.http.response"


def query_params(scope) -> dict[str, str]:
    """The connect URL's query parameters (the last value of each)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=50)
    return {key: values[-1] for key, values in query.items()}


def refusal(e: Exception) -> errors.ProtocolError:
    """What a refused connection is told: a Redis fault at connect is "back off" (4100)."""
    return e if isinstance(e, errors.ProtocolError) else errors.Unavailable()


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


logger = logging.getLogger(__name__)
_cleanups: set[asyncio.Task] = set()


class HandlerConsumer(AsyncWebsocketConsumer):
    # Sockets get no channel-layer channel of their own: the process's hub receives each
    # broadcast once and writes it to the local sockets (see realtime/hub.py).
    channel_layer_alias = None
    groups = ()  # none, and no empty list of them per socket
    handler = None

    @property
    def direct(self):
        return (self.scope.get("extensions") or {}).get(DIRECT_WRITES)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.handler is None:
            return
        data = text_data if text_data is not None else bytes_data
        if len(data) > settings.EXPUSHER_MAX_MESSAGE_BYTES:
            await self.close(code=errors.MESSAGE_TOO_BIG)
            return
        try:
            await self.handler.receive(data)
        except RedisError as e:
            # A frame that needs Redis (a join, a push) while it is unreachable: the
            # client backs off and reconnects (4100) rather than meet a 1011 crash.
            logger.warning("closing a socket: Redis unavailable for its frame: %r", e)
            await self.close(code=errors.Unavailable.code)

    async def websocket_connect(self, message) -> None:
        try:
            await super().websocket_connect(message)
        finally:
            # The handshake's headers are read at connect only. The same list is in every
            # copy of the scope, and would otherwise stay as long as the socket.
            headers = self.scope.get("headers")
            if isinstance(headers, list):
                headers.clear()

    async def refuse_upgrade(self, error: errors.ProtocolError) -> None:
        """Refuse the handshake: HTTP 503 for a retryable refusal (errors.Unavailable) where
        the server can answer an upgrade with a status, else a close before accept (403)."""
        extensions = self.scope.get("extensions") or {}
        if not isinstance(error, errors.Unavailable) or DENIAL_RESPONSE not in extensions:
            await self.close()
            return
        start = {"type": "websocket.http.response.start", "status": 503, "headers": []}
        await self.base_send(start)
        await self.base_send({"type": "websocket.http.response.body", "body": b""})

    _stopping: asyncio.Task | None = None

    async def __call__(self, scope, receive, send) -> None:
        # channels' AsyncConsumer.__call__ without its waiting machinery: with no
        # channel-layer channel there is one source of messages, and awaiting it directly
        # saves a task per message and asyncio.wait's bookkeeping (about 2 KiB per idle
        # socket).
        self.scope, self.channel_layer, self.base_send = scope, None, send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # daphne cancels an application still busy 10 s after its socket closed (a
            # cleanup waiting on a loaded Redis): the cleanup goes on in a task of its own.
            if self.handler is not None:
                self._stop_once()

    async def disconnect(self, code) -> None:
        if self.handler is not None:
            await asyncio.shield(self._stop_once())

    def _stop_once(self) -> asyncio.Task:
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self.handler.stop())
            _cleanups.add(self._stopping)  # held until done: the loop keeps weak references
            self._stopping.add_done_callback(_cleanups.discard)
        return self._stopping

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message; our frames
        # never touch the database, so skip that thread hop on the hot path.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def write(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.send(bytes_data=frame)
        else:
            await self.send(text_data=frame)

    async def close_with(self, code: int) -> None:
        await self.close(code=code)
