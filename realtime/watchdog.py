"""Closes live sockets whose JWT came from a secret token that has since been revoked.

One task per process (per event loop) looks at the distinct secret tokens behind its
sockets every EXPUSHER_REVOCATION_CACHE_SECONDS; the check itself is cached, so a process
with thousands of sockets asks the database about each token at most once per period.
"""

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from organizations.selectors import secret_token_is_active
from realtime import errors

logger = logging.getLogger(__name__)

_watched: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet]" = (
    weakref.WeakKeyDictionary()
)


def watch(connection) -> None:
    """Watch a connection with a `token_id`, a `closed` flag and an async `close(error)`."""
    if connection.token_id is None:
        return
    loop = asyncio.get_running_loop()
    connections = _watched.get(loop)
    if connections is None:
        connections = _watched[loop] = weakref.WeakSet()
        loop.create_task(_patrol(connections))
    connections.add(connection)


@database_sync_to_async
def _revoked(token_ids: set[int]) -> set[int]:
    return {token_id for token_id in token_ids if not secret_token_is_active(token_id)}


async def _patrol(connections: weakref.WeakSet) -> None:
    while True:
        await asyncio.sleep(settings.EXPUSHER_REVOCATION_CACHE_SECONDS)
        live = [s for s in list(connections) if not s.closed]
        if not live:
            continue
        try:
            revoked = await _revoked({s.token_id for s in live})
        except Exception:
            # A database outage must not close anyone: revocation is checked again later.
            logger.warning("revocation check failed", exc_info=True)
            continue
        for connection in live:
            if connection.token_id in revoked:
                await connection.close(errors.TokenRevoked())
