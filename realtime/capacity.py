"""How many connections one process takes on.

A connection costs a file descriptor and about 34 KiB; its opening costs a WebSocket
handshake and an admission (the application lookup, the quota count in Redis): about
1.6 ms of CPU in all. Measured on one core (bench/admission.py, README "Measured"), a
process opens about 600 Pusher connections a second when they come 100 at a time, but
collapses when thousands come at once: every handshake waits behind all the others, the
clients and daphne give up on them, and after 40 s fewer than half were open. So past
what it can take, a process refuses at once, with the documented retryable answer, and
the clients come back (both official clients back off and retry):

- at most EXPUSHER_MAX_PENDING_ADMISSIONS connections between their upgrade request and
  their admission. The front door (expusher.front_door) answers the upgrades past it
  `503 Service Unavailable` with `Retry-After: 1` before any handshake work; a long-poll
  open past it gets status 500 (which phoenix's LongPoll retries);
- at most EXPUSHER_MAX_CONNECTIONS_PER_PROCESS connections at once; by default the
  process's file-descriptor limit less a reserve (Redis, the database, the listening
  socket and the refusals themselves need descriptors too), so that the process never
  reaches EMFILE, where it could answer nobody. Past it: 503 at the front door, and
  where there is none (TLS, tests) errors.OverCapacity at admission: Pusher
  `pusher:error` and close 4100, Phoenix HTTP 503 on the upgrade.
"""

import asyncio
import contextlib
import resource

from django.conf import settings

from realtime import errors
from realtime.connection import admitted_connections
from realtime.transport import UPGRADE

# Descriptors kept for what is not a client connection: the Redis pool (50), the
# database, the listening sockets, log files, and the sockets being refused.
DESCRIPTOR_RESERVE = 128
# A handshake not admitted within this many seconds has failed anyway (daphne gives up
# on it): its place is given back even if nothing said so.
UPGRADE_SECONDS = 10.0

_pending = 0  # connections between their upgrade (or long-poll open) and admission


def max_connections() -> int:
    """The per-process cap: the setting, or (0 there) the descriptor limit less a reserve."""
    configured = settings.EXPUSHER_MAX_CONNECTIONS_PER_PROCESS
    if configured:
        return configured
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 0  # no limit to stay under
    return max(soft - DESCRIPTOR_RESERVE, 1)


def refusal() -> str | None:
    """Why this process cannot take one more connection now, or None if it can."""
    if _pending >= settings.EXPUSHER_MAX_PENDING_ADMISSIONS:
        return f"{_pending} connections are being opened"
    cap = max_connections()
    if cap and len(admitted_connections()) + _pending >= cap:
        return f"this process holds its {cap} connections"
    return None


class Upgrade:
    """One connection on its way in: counted as pending until settled (admitted, refused,
    gone) or UPGRADE_SECONDS have passed, whichever comes first."""

    __slots__ = ("_open", "_timer")  # one per connection, held as long as it is open

    def __init__(self) -> None:
        global _pending
        _pending += 1
        self._open = True
        self._timer = asyncio.get_running_loop().call_later(UPGRADE_SECONDS, self.settle)

    def settle(self) -> None:
        global _pending
        if self._open:
            self._open = False
            _pending -= 1
            self._timer.cancel()
            self._timer = None


@contextlib.contextmanager
def admission(scope=None):
    """Held while a connection is opened; raises errors.OverCapacity when this process
    cannot take one more. A WebSocket the front door let in brings its Upgrade in the
    scope (already checked and counted); any other connection is checked here."""
    upgrade = ((scope or {}).get("extensions") or {}).get(UPGRADE)
    if upgrade is None:
        why = refusal()
        if why is not None:
            raise errors.OverCapacity(f"server at capacity, retry later: {why}")
        upgrade = Upgrade()
    try:
        yield
    finally:
        upgrade.settle()
