"""A refused connection, counted and told wherever the transports refuse it.

Every refusal (both protocols' WebSocket consumers, the long-poll transport) is counted by
reason, and for its application when the key names an active one (realtime.stats). A
refusal before the connection became a Connection (a bad JWT, a foreign origin, an
unsupported version) is also told to the listeners (realtime.notifications) as
CONNECTION_REFUSED; the quota's refusal is told by Connection.admit itself. A refusal for
an unknown key belongs to nobody: counted in /metrics only. The reason is the error's,
never the token.
"""

from realtime import errors, notifications
from realtime.applications import app_snapshot_async
from realtime.stats import counts, flusher


async def connection_refused(
    app_key: str | None,
    protocol: str,
    transport: str,
    error: errors.ProtocolError,
    origin: str | None,
    *,
    told: bool = False,
) -> None:
    """Count and tell a refusal; `told`: Connection.admit told its listeners already."""
    try:  # a refusal must never fail for want of this answer
        app = await app_snapshot_async(app_key) if app_key else None
    except Exception:
        app = None
    if app is not None and app.app_key != app_key:
        app = None
    counts.connection_refused(app.id if app is not None else None, error.reason)
    flusher.keep_flushing()
    if app is None or told:
        return
    notifications.notify(
        app.id,
        notifications.CONNECTION_REFUSED,
        protocol=protocol,
        transport=transport,
        origin=origin,
        code=error.code,
        reason=error.detail,
    )
