"""Statistics across two server processes sharing one Redis, against known traffic.

Two daphne processes A and B (one SQLite file, one Redis prefix, figures flushed every
half second), five pusher-js subscribers of one private channel (two on A, three on B),
events triggered on both through the PyPI `pusher` library, a client event, a refused
request and two refused connections. The application's statistics (the dashboard's JSON,
as a signed-in member reads it from either process) must add up to exactly that traffic,
and so must the per-application series of both processes' /metrics (behind a bearer token).
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from tests.browser.test_app_snippets import Dashboard
from tests.e2e.conftest import WAIT
from tests.e2e.pusher_support import PusherApp, unique
from tests.support import live

pytestmark = pytest.mark.e2e

PASSWORD = "statistics tester's passphrase"
TOKEN = "metrics-token-for-the-statistics-test"
ON_A, ON_B = 2, 3  # subscribers of the channel on each process
TRIGGERS_A, TRIGGERS_B = 3, 2


@pytest.fixture(scope="module")
def stats_env(tmp_path_factory) -> live.ServerEnv:
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("statistics"),
        redis_url=url,
        EXPUSHER_STATS_FLUSH_SECONDS="0.5",
        EXPUSHER_METRICS_TOKEN=TOKEN,
    )
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def server_a(stats_env):
    with live.LiveServer(stats_env) as running:
        yield running


@pytest.fixture(scope="module")
def server_b(stats_env):
    with live.LiveServer(stats_env) as running:
        yield running


@pytest.fixture(scope="module")
def app_a(server_a) -> PusherApp:
    return PusherApp.bootstrap(server_a, "Statco", password=PASSWORD)


def _subscriber(pusher_js, app: PusherApp, channel: str, user: str):
    client = pusher_js(app, user={"id": user, "info": {}})
    client.connected()
    client.subscribe(channel)
    return client


def _refused_socket(app: PusherApp) -> dict:
    """A Pusher socket with an unsupported protocol version: pusher:error, then closed."""
    with connect(f"{app.ws_url}?protocol=99", open_timeout=WAIT) as ws:
        return json.loads(ws.recv(timeout=WAIT))


def _statistics(server: live.LiveServer, app: PusherApp) -> dict:
    dashboard = Dashboard(server.url)
    dashboard.submit("/accounts/login/", {"username": "ops@statco.test", "password": PASSWORD})
    return json.loads(dashboard.get(f"/orgs/{app.organization}/apps/{app.key}/statistics.json"))


def _until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value[0]:
            return value[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s (last: {value[1]!r})")
        time.sleep(0.2)


def _scrape(server: live.LiveServer) -> dict[tuple[str, tuple], float]:
    status, _, body = server.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_statistics_add_up_to_the_traffic_of_both_processes(
    pusher_js, pusher_py, server_a, server_b, app_a
):
    app_b = PusherApp(**{**app_a.__dict__, "port": server_b.port})
    channel = unique("private-stats-")
    subscribers = [_subscriber(pusher_js, app_a, channel, f"a{n}") for n in range(ON_A)]
    subscribers += [_subscriber(pusher_js, app_b, channel, f"b{n}") for n in range(ON_B)]

    for n in range(TRIGGERS_A):
        pusher_py(app_a).trigger(channel, "tick", {"n": n})
    for n in range(TRIGGERS_B):
        pusher_py(app_b).trigger(channel, "tock", {"n": n})
    subscribers[0].trigger(channel, "client-hello", {"hi": 1})
    for client in subscribers:
        client.expect("event", channel=channel, event="tock", data={"n": TRIGGERS_B - 1})
    for client in subscribers[1:]:
        client.expect("event", channel=channel, event="client-hello")
    with pytest.raises(Exception, match="invalid_info"):  # user_count: presence channels only
        pusher_py(app_a).channel_info(channel, ["user_count"])
    for app in (app_a, app_b):
        assert _refused_socket(app)["event"] == "pusher:error"

    everyone = ON_A + ON_B
    published = TRIGGERS_A + TRIGGERS_B + 1
    delivered = (TRIGGERS_A + TRIGGERS_B) * everyone + (everyone - 1)
    expected_today = {
        "published": published,
        "delivered": delivered,
        "messages": published + delivered,
        "api_requests": TRIGGERS_A + TRIGGERS_B + 1,
        "client_events": 1,
        "webhooks_sent": 0,
        "webhooks_failed": 0,
        "refused": 2,
    }
    for server in (server_a, server_b):
        stats = _until(
            lambda server=server: (
                (s := _statistics(server, app_a))["today"] == expected_today
                and s["peak_connections"] == everyone,
                s,
            ),
            f"today's figures from {server.port}",
        )
        assert stats["connections"] == everyone
        series = stats["minutes"]["series"]
        assert sum(series["messages"]) == published + delivered
        assert sum(series["api_requests"]) == TRIGGERS_A + TRIGGERS_B + 1
        assert max(series["connections"]) == everyone

    scraped = [_scrape(server_a), _scrape(server_b)]
    app = (("app", app_a.key),)

    def total(name: str, labels=app) -> float:
        return sum(metrics.get((name, labels), 0) for metrics in scraped)

    assert total("expusher_app_deliveries_total") == delivered
    assert total("expusher_app_messages_published_total") == published
    assert total("expusher_app_api_requests_total") == TRIGGERS_A + TRIGGERS_B + 1
    assert total("expusher_app_client_events_total") == 1
    assert total("expusher_app_connections_refused_total") == 2
    assert total("expusher_app_connections") == everyone
    a, b = scraped
    assert a[("expusher_api_requests_total", (("api", "pusher"), ("outcome", "refused")))] == 1
    assert a[("expusher_api_requests_total", (("api", "pusher"), ("outcome", "ok")))] == TRIGGERS_A
    assert b[("expusher_api_requests_total", (("api", "pusher"), ("outcome", "ok")))] == TRIGGERS_B
    reason = (("reason", "unsupported protocol version"),)
    assert a[("expusher_connections_refused_total", reason)] == 1
    assert b[("expusher_connections_refused_total", reason)] == 1


def test_metrics_want_the_bearer_token(server_a):
    for headers in ({}, {"Authorization": "Bearer nope"}):
        status, response_headers, body = server_a.get("/metrics", headers=headers)
        assert status == 401, body
        assert json.loads(body)["error"]["code"] == "unauthorized"
        assert response_headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert _scrape(server_a)[("expusher_topics_local", ())] >= 0


def test_a_process_stopped_gracefully_writes_what_it_counted(stats_env, server_b, app_a, pusher_py):
    # No flush would come for ten minutes: only the one at SIGTERM writes these.
    env = {**stats_env.env, "EXPUSHER_STATS_FLUSH_SECONDS": "600"}
    before = _statistics(server_b, app_a)["today"]["api_requests"]
    with live.LiveServer(dataclasses.replace(stats_env, env=env)) as leaving:
        app_c = PusherApp(**{**app_a.__dict__, "port": leaving.port})
        for _ in range(2):
            pusher_py(app_c).trigger(unique("nobody-"), "e", {})
    after = _statistics(server_b, app_a)["today"]["api_requests"]
    assert after == before + 2
