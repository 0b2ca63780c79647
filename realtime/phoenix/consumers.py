"""WebSocket transport for the Phoenix Channels protocol at /socket/websocket.

Transport only: authenticate once at connect (realtime.identity), then hand every text
frame to a PhoenixHandler. Refusing before `accept` makes the server answer the upgrade
with HTTP 403, as Phoenix does.
"""

import logging

from redis.exceptions import RedisError

from realtime import errors
from realtime.capacity import admission
from realtime.identity import token_from_subprotocols
from realtime.phoenix.connect import aidentify_connection
from realtime.phoenix.handler import PhoenixHandler
from realtime.refusals import connection_refused
from realtime.transport import HandlerConsumer, header, query_params, refusal

logger = logging.getLogger(__name__)


class PhoenixSocketConsumer(HandlerConsumer):
    async def connect(self) -> None:
        self.handler = None
        params = query_params(self.scope)
        subprotocols = self.scope.get("subprotocols") or []
        origin = header(self.scope, b"origin")
        try:
            with admission(self.scope):
                identity, serializer = await aidentify_connection(
                    params, origin, lambda: token_from_subprotocols(subprotocols)
                )
                handler = PhoenixHandler(
                    identity, serializer, self.write, self.close_with, self.direct
                )
                await handler.admit()
        except (errors.ProtocolError, RedisError) as e:
            e = refusal(e)
            # Logged without the token; the client only sees the HTTP status.
            logger.info("refused socket for app %r: %s", params.get("app_key"), e.detail)
            told = isinstance(e, errors.OverQuota)  # Connection.admit told it
            await connection_refused(
                params.get("app_key"), "phoenix", "websocket", e, origin, told=told
            )
            await self.refuse_upgrade(e)
            return
        self.handler = handler
        await self.accept("phoenix" if "phoenix" in subprotocols else None)
        await self.handler.start()
