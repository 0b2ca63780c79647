"""Refused connections, counted where the transports refuse them (both protocols'
WebSocket consumers and the long-poll transport), whatever the reason."""

from realtime import errors
from realtime.applications import app_snapshot_async
from realtime.stats import counts, flusher


async def count_refusal(app_key: str | None, error: errors.ProtocolError) -> None:
    """Count a refused connection by reason, and for its application when the key names
    an active one (a refusal must never fail for want of that answer)."""
    try:
        app = await app_snapshot_async(app_key) if app_key else None
    except Exception:
        app = None
    counts.connection_refused(app.id if app is not None else None, error.reason)
    flusher.keep_flushing()
