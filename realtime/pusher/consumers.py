"""WebSocket transport for the Pusher Channels protocol at /app/{key}.

Transport only: check the protocol version and the application once, then hand every
text frame to a PusherHandler. Unlike Phoenix, Pusher clients expect the upgrade to
succeed and a refusal to come as `pusher:error` followed by a close with that code
(4001 unknown app, 4003 disabled, 4004 over quota, 4009 origin, 4100 store down), which
tells a stock client whether to reconnect.
"""

import logging

from redis.exceptions import RedisError

from realtime import errors
from realtime.capacity import admission
from realtime.identity import aidentify_app
from realtime.pusher import protocol
from realtime.pusher.handler import PusherHandler
from realtime.refusals import connection_refused
from realtime.transport import HandlerConsumer, header, query_params, refusal

logger = logging.getLogger(__name__)


def _protocol_version(scope) -> None:
    version = query_params(scope).get("protocol")
    if version is None:
        raise errors.NoVersion()
    if not version.isdigit():
        raise errors.InvalidVersion(f"protocol {version[:16]!r}")
    if version not in protocol.PROTOCOL_VERSIONS:
        raise errors.UnsupportedVersion(f"protocol {version} (supported: 5, 6, 7)")


class PusherSocketConsumer(HandlerConsumer):
    async def connect(self) -> None:
        self.handler = None
        await self.accept()
        app_key = self.scope["url_route"]["kwargs"]["app_key"]
        origin = header(self.scope, b"origin")
        try:
            with admission(self.scope):
                _protocol_version(self.scope)
                identity = await aidentify_app(app_key, origin)
                handler = PusherHandler(identity, self.write, self.close_with, self.direct)
                await handler.admit()
        except (errors.ProtocolError, RedisError) as e:
            e = refusal(e)
            logger.info("refused Pusher socket for app %r: %s", app_key[:32], e.detail)
            told = isinstance(e, errors.OverQuota)  # Connection.admit told it
            await connection_refused(app_key, "pusher", "websocket", e, origin, told=told)
            await self.write(protocol.error(e.code, e.detail))
            await self.close(code=e.code)
            return
        self.handler = handler
        await handler.start()
