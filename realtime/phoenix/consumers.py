"""WebSocket transport for the Phoenix Channels protocol at /socket/websocket.

Transport only: authenticate once at connect (realtime.identity), then hand every text
frame to a PhoenixHandler. Refusing before `accept` makes the server answer the upgrade
with HTTP 403, as Phoenix does.
"""

import logging
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from realtime import errors
from realtime.identity import token_from_subprotocols
from realtime.phoenix.connect import aidentify_connection
from realtime.phoenix.handler import PhoenixHandler

logger = logging.getLogger(__name__)


def _params(scope) -> dict[str, str]:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=50)
    return {key: values[-1] for key, values in query.items()}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class PhoenixSocketConsumer(AsyncWebsocketConsumer):
    # Sockets get no channel-layer channel of their own: the process's hub receives each
    # broadcast once and writes it to the local sockets (see realtime/hub.py).
    channel_layer_alias = None

    async def connect(self) -> None:
        self.handler = None
        params = _params(self.scope)
        subprotocols = self.scope.get("subprotocols") or []
        try:
            identity, serializer = await aidentify_connection(
                params,
                _header(self.scope, b"origin"),
                lambda: token_from_subprotocols(subprotocols),
            )
            handler = PhoenixHandler(identity, serializer, self._write, self._close)
            await handler.admit()
        except errors.ProtocolError as e:
            # Logged without the token; the client only sees the 403.
            logger.info("refused socket for app %r: %s", params.get("app_key"), e.detail)
            await self.close()
            return
        self.handler = handler
        await self.accept("phoenix" if "phoenix" in subprotocols else None)
        await self.handler.start()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.handler is None:
            return
        data = text_data if text_data is not None else bytes_data
        if len(data) > settings.EXPUSHER_MAX_MESSAGE_BYTES:
            await self._close(errors.MESSAGE_TOO_BIG)
            return
        await self.handler.receive(data)

    async def disconnect(self, code) -> None:
        if self.handler is not None:
            await self.handler.stop()

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message; our frames
        # never touch the database, so skip that thread hop on the hot path.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def _write(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.send(bytes_data=frame)
        else:
            await self.send(text_data=frame)

    async def _close(self, code: int) -> None:
        await self.close(code=code)
