"""JWTs refused before they expire: those whose connections a user disconnect closed.

A stock client reconnects at once after its socket closes, with the same JWT. After
`POST .../users/{id}/disconnect` (or the Pusher HTTP API's terminate_connections) the JWTs
of the closed connections stay refused, for sockets and REST alike, until they expire;
the user comes back with a newly issued JWT. Each process denies the `jti` of every
connection it closes for that reason, in the cache (shared Redis when REDIS_URL is set,
so every process sees it) and before it sends the close frame.
"""

import time

from django.conf import settings
from django.core.cache import cache

from organizations.local_cache import LocalMemo, seconds_within

# For the event loop: each process remembers an answer for at most a second.
_denied = LocalMemo(lambda: seconds_within(settings.EXPUSHER_REVOCATION_CACHE_SECONDS))


def _key(jti: str) -> str:
    return f"jwt-denied:{jti}"


async def jwt_deny(jti: str, expires_at: int) -> None:
    ttl = int(expires_at - time.time()) + 1
    if jti and ttl > 0:
        await cache.aset(_key(jti), True, ttl)
        _denied.put(jti, True)  # this process knows at once


def jwt_denied(jti: str) -> bool:
    return bool(jti) and cache.get(_key(jti)) is not None


async def jwt_denied_async(jti: str) -> bool:
    """jwt_denied from the event loop: warm, no round trip to the cache; another process's
    denial is seen within a second (and within EXPUSHER_REVOCATION_CACHE_SECONDS)."""
    return bool(jti) and await _denied.through(jti, jwt_denied, jti)
