"""Closes live connections whose JWT's secret token was revoked, or whose application
was archived since they connected.

One task per process (per event loop) looks at the distinct secret tokens and applications
behind its connections every EXPUSHER_REVOCATION_CACHE_SECONDS; both checks are cached, so
a process with thousands of connections asks the database about each token and each
application at most once per period. Every process does this for its own connections, so
a revocation or an archive reaches all of them without any message between processes.
"""

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from organizations.selectors import secret_token_is_active
from realtime import errors
from realtime.applications import app_snapshot
from realtime.hub import Hub, get_hub

logger = logging.getLogger(__name__)

_patrolled: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()


def watch() -> None:
    """Patrol the connections of the running event loop (one task per loop), which are
    those its hub knows (every connection attaches to its application there)."""
    loop = asyncio.get_running_loop()
    if loop not in _patrolled:
        _patrolled.add(loop)
        loop.create_task(_patrol(get_hub()))


@database_sync_to_async
def _gone(token_ids: set[int], app_keys: set[str]) -> tuple[set[int], set[str]]:
    """(revoked secret tokens, applications no longer active) among those given."""
    revoked = {token_id for token_id in token_ids if not secret_token_is_active(token_id)}
    return revoked, {key for key in app_keys if app_snapshot(key) is None}


async def _patrol(hub: Hub) -> None:
    while True:
        await asyncio.sleep(settings.EXPUSHER_REVOCATION_CACHE_SECONDS)
        live = [c for c in hub.local_subscribers() if not c.closed]
        if not live:
            continue
        tokens = {c.token_id for c in live if c.token_id is not None}
        try:
            revoked, archived = await _gone(tokens, {c.app.app_key for c in live})
        except Exception:
            # A database outage must not close anyone: this is checked again later.
            logger.warning("revocation check failed", exc_info=True)
            continue
        for connection in live:
            if connection.app.app_key in archived:
                await connection.close(errors.ApplicationDisabled())
            elif connection.token_id in revoked:
                await connection.close(errors.TokenRevoked())
