"""Operator endpoints: /healthz for load balancers, /metrics for Prometheus."""

import asyncio

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpResponse, JsonResponse
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


@require_GET
async def metrics(request):
    """This process's figures, in the Prometheus text format."""
    hub = get_hub()
    lines = [
        "# HELP expusher_topics_local Topics with at least one socket in this process.",
        "# TYPE expusher_topics_local gauge",
        f"expusher_topics_local {len(hub.topics)}",
        "# HELP expusher_subscriptions_local Topic subscriptions of sockets in this process.",
        "# TYPE expusher_subscriptions_local gauge",
        f"expusher_subscriptions_local {sum(len(s) for s in hub.topics.values())}",
        "# HELP expusher_frames_delivered_total Frames written to local sockets.",
        "# TYPE expusher_frames_delivered_total counter",
        f"expusher_frames_delivered_total {hub.delivered}",
        "# HELP expusher_frame_write_failures_total Frames that could not be written.",
        "# TYPE expusher_frame_write_failures_total counter",
        f"expusher_frame_write_failures_total {hub.failed_writes}",
        "# HELP expusher_slow_reader_closes_total Sockets closed for not reading (4101).",
        "# TYPE expusher_slow_reader_closes_total counter",
        f"expusher_slow_reader_closes_total {hub.slow_readers_cut}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
