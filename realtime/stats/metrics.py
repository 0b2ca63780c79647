"""/metrics: this process's figures for Prometheus, through prometheus_client.

Counters are read at scrape time from realtime.stats.counts and the hub (plain integers
on the message path, see there), gauges from this process's connections; the process and
Python figures come from prometheus_client's own collectors. Per-application series carry
an `app` label (the app key): one series per application that counted something in this
process, so the label is bounded by the number of applications. Every process answers for
itself: sum across processes in PromQL (`sum by (app) (...)`).

With EXPUSHER_METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>`.
"""

import hmac
from collections import Counter

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from organizations.models import Application
from realtime.connection import admitted_connections
from realtime.hub import get_hub
from realtime.stats import counts

_app_keys: dict[int, str] = {}  # application id -> app key (keys never change)

# Per application: (metric name, help, field of counts.AppFigures).
APP_COUNTERS = (
    ("expusher_app_messages_published", "Messages published.", counts.PUBLISHED),
    ("expusher_app_deliveries", "Frames delivered to subscribers.", counts.DELIVERED),
    ("expusher_app_api_requests", "Requests to the HTTP APIs.", counts.API_REQUESTS),
    ("expusher_app_client_events", "Client events published.", counts.CLIENT_EVENTS),
    ("expusher_app_webhooks_sent", "Webhook POSTs answered 2xx.", counts.WEBHOOKS_SENT),
    ("expusher_app_webhooks_failed", "Webhook POSTs that failed.", counts.WEBHOOKS_FAILED),
    ("expusher_app_connections_refused", "Connections refused.", counts.REFUSED),
)
# Process-wide, by a label: (metric name, help, label names, the counts.Counter).
LABELLED_COUNTERS = (
    ("expusher_api_requests", "HTTP API requests by API and outcome.", ["api", "outcome"],
     counts.api_requests),
    ("expusher_api_messages", "Events published through an HTTP API.", ["api"],
     counts.api_messages),
    ("expusher_connections_refused", "Connections refused, by reason.", ["reason"],
     counts.refusals),
    ("expusher_broker_errors", "Failed calls to Redis or the channel layer.", ["component"],
     counts.broker_errors),
)  # fmt: skip


def _labelled(name: str, documentation: str, labels: list[str], counter: Counter):
    family = CounterMetricFamily(name, documentation, labels=labels)
    for key, n in sorted(counter.items(), key=str):
        family.add_metric(list(key) if isinstance(key, tuple) else [str(key)], n)
    return family


def _gauge_by(name: str, documentation: str, label: str, values: Counter):
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, n in sorted(values.items(), key=str):
        family.add_metric([str(key)], n)
    return family


class ExPusherCollector:
    """Reads the figures at scrape time (called on the server's event loop)."""

    def collect(self):
        connections = list(admitted_connections().values())
        yield from self._per_application(connections)
        yield from self._hub(get_hub())
        yield _gauge_by(
            "expusher_connections",
            "Open connections in this process, by protocol.",
            "protocol",
            Counter(c.protocol for c in connections),
        )
        for name, documentation, labels, counter in LABELLED_COUNTERS:
            yield _labelled(name, documentation, labels, counter)

    def _per_application(self, connections):
        by_app = counts.by_app()
        for name, documentation, field in APP_COUNTERS:
            family = CounterMetricFamily(name, documentation, labels=["app"])
            for app_id, figures in by_app.items():
                family.add_metric([_app_key(app_id)], getattr(figures, field))
            yield family
        open_now = Counter(_app_key(c.app.id) for c in connections)
        yield _gauge_by("expusher_app_connections", "Open connections here.", "app", open_now)
        figures = by_app.values()
        yield CounterMetricFamily(
            "expusher_client_events",
            "Client events published.",
            value=sum(f.client_events for f in figures),
        )
        webhooks = Counter(
            sent=sum(f.webhooks_sent for f in figures),
            failed=sum(f.webhooks_failed for f in figures),
        )
        yield _labelled("expusher_webhooks", "Webhook POSTs by outcome.", ["outcome"], webhooks)

    def _hub(self, hub):
        subscriptions = sum(len(s) for s in hub.topics.values())
        for name, documentation, value in (
            ("expusher_topics_local", "Topics with a socket in this process.", len(hub.topics)),
            ("expusher_subscriptions_local", "Subscriptions in this process.", subscriptions),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)
        for name, documentation, value in (
            ("expusher_frames_delivered", "Frames written to local sockets.", hub.delivered),
            ("expusher_frame_write_failures", "Frames not written.", hub.failed_writes),
            ("expusher_slow_reader_closes", "Sockets closed 4101.", hub.slow_readers_cut),
        ):
            yield CounterMetricFamily(name, documentation, value=value)


def _app_key(app_id: int) -> str:
    return _app_keys.get(app_id, str(app_id))


def _learn_app_keys(app_ids: set[int]) -> None:
    """Remember the app keys of applications counted here but not labelled yet."""
    missing = app_ids - _app_keys.keys()
    if missing:
        found = dict(Application.objects.filter(pk__in=missing).values_list("pk", "app_key"))
        # A deleted application keeps its id as label rather than be looked up every scrape.
        _app_keys.update({app_id: found.get(app_id, str(app_id)) for app_id in missing})


def forget_app_keys() -> None:
    """Tests: application ids are reused between them."""
    _app_keys.clear()


registry = CollectorRegistry(auto_describe=False)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, ExPusherCollector()):
    registry.register(_collector)


def _authorized(request) -> bool:
    token = settings.EXPUSHER_METRICS_TOKEN
    if not token:
        return True
    presented = request.headers.get("Authorization", "")
    return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())


@require_GET
async def metrics(request):
    if not _authorized(request):
        body = {"error": {"code": "unauthorized", "message": "/metrics needs its bearer token."}}
        response = JsonResponse(body, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    app_ids = set(counts.by_app()) | {c.app.id for c in list(admitted_connections().values())}
    await sync_to_async(_learn_app_keys)(app_ids)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
