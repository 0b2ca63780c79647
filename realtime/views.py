"""Operator endpoints: /healthz for load balancers (/metrics: realtime.stats.metrics)."""

import asyncio

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from realtime.hub import get_hub


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


async def _layer_ok() -> bool:
    """Round-trip a message through the channel layer (Redis when configured)."""
    hub = get_hub()
    try:
        channel = await hub.layer.new_channel("health.")
        await asyncio.wait_for(hub.layer.send(channel, {"type": "health.ping"}), 2)
        await asyncio.wait_for(hub.layer.receive(channel), 2)
        return True
    except Exception:
        return False


@require_GET
async def healthz(request):
    checks = {"database": await sync_to_async(_database_ok)(), "channel_layer": await _layer_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "degraded", **checks}
    return JsonResponse(body, status=200 if healthy else 503)
