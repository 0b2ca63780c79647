"""/metrics, parsed with prometheus_client's own parser."""

import pytest
from django.test import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-token-of-32-characters-or-more"


async def scrape(**headers) -> dict[str, dict]:
    """{family name: {(sample name, sorted labels): value}}."""
    response = await AsyncClient().get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = {
            (s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples
        }
    return families


async def test_it_has_per_application_series_labelled_with_the_app_key(connect, alice_app, jwt_for):
    clients = []
    for _ in range(2):
        _, _, client = await connect(alice_app.app_key, jwt_for())
        await client.join("room:1")
        clients.append(client)
    ref = await clients[0].push("room:1", "said", {})
    await clients[0].reply(ref)
    await connect(alice_app.app_key, "not-a-jwt")

    metrics = await scrape()
    app = (("app", alice_app.app_key),)
    assert metrics["expusher_app_deliveries"][("expusher_app_deliveries_total", app)] == 2
    published = metrics["expusher_app_messages_published"]
    assert published[("expusher_app_messages_published_total", app)] == 1
    client_events = metrics["expusher_app_client_events"]
    assert client_events[("expusher_app_client_events_total", app)] == 1
    assert metrics["expusher_app_connections"][("expusher_app_connections", app)] == 2
    refused = metrics["expusher_connections_refused"]
    assert refused[("expusher_connections_refused_total", (("reason", "unauthorized"),))] == 1
    by_protocol = metrics["expusher_connections"]
    assert by_protocol[("expusher_connections", (("protocol", "phoenix"),))] == 2
    assert metrics["expusher_subscriptions_local"][("expusher_subscriptions_local", ())] == 2
    assert metrics["expusher_frames_delivered"][("expusher_frames_delivered_total", ())] == 2
    # prometheus_client's process and Python collectors.
    assert metrics["process_resident_memory_bytes"][("process_resident_memory_bytes", ())] > 0
    assert "python_gc_collections" in metrics


async def test_it_needs_the_bearer_token_when_one_is_set(settings):
    settings.EXPUSHER_METRICS_TOKEN = TOKEN
    client = AsyncClient()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    metrics = await scrape(Authorization=f"Bearer {TOKEN}")
    assert "expusher_topics_local" in metrics


async def test_it_is_open_without_a_token(settings):
    settings.EXPUSHER_METRICS_TOKEN = ""
    assert "expusher_topics_local" in await scrape()
