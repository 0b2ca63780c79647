"""realtime.stats: what one process counts, and what its flusher writes to the store.

Real sockets through the ASGI application, on the in-memory layer and on Redis (where the
statistics store is Redis too, under the test's prefix)."""

import pytest
from django.test import AsyncClient
from redis.exceptions import RedisError

from realtime import notifications
from realtime.stats import counts, flusher
from realtime.stats.report import application_statistics
from realtime.stats.store import get_stats_store, minute_now

pytestmark = pytest.mark.django_db(transaction=True)


async def joined(connect, app, jwt, topic):
    connected, _, client = await connect(app.app_key, jwt)
    assert connected
    assert (await client.join(topic))["status"] == "ok"
    return client


async def test_a_publish_to_n_subscribers_is_n_deliveries_plus_the_publish(
    layer, connect, alice_app, jwt_for
):
    clients = [await joined(connect, alice_app, jwt_for(), "room:1") for _ in range(3)]
    ref = await clients[0].push("room:1", "said", {"text": "hi"})
    assert (await clients[0].reply(ref))["status"] == "ok"
    for client in clients[1:]:
        assert (await client.recv())[3] == "said"

    figures = counts.of(alice_app.id)
    assert (figures.published, figures.delivered, figures.client_events) == (1, 3, 1)

    await flusher.flush()
    stats = await application_statistics(alice_app.id)
    assert stats["today"]["messages"] == 4
    assert stats["today"]["client_events"] == 1
    assert stats["connections"] == 3 and stats["peak_connections"] == 3
    series = stats["minutes"]["series"]
    assert series["messages"][-1] == 4 and series["connections"][-1] == 3
    assert len(series["messages"]) == 24 * 60
    assert sum(series["messages"][:-1]) == 0


async def test_a_flush_writes_only_what_grew_since_the_last(layer, connect, alice_app, jwt_for):
    client = await joined(connect, alice_app, jwt_for(), "room:1")
    for n in range(2):
        ref = await client.push("room:1", "said", {"n": n})
        await client.reply(ref)
        await flusher.flush()
    await flusher.flush()
    minute = minute_now()
    written = await get_stats_store().minutes(alice_app.id, minute - 1, minute)
    assert sum(f.get("published", 0) for f in written.values()) == 2
    assert sum(f.get("delivered", 0) for f in written.values()) == 2


async def test_what_the_store_refused_is_written_by_the_next_flush(
    connect, alice_app, jwt_for, monkeypatch
):
    client = await joined(connect, alice_app, jwt_for(), "room:1")
    ref = await client.push("room:1", "said", {})
    await client.reply(ref)
    store = get_stats_store()

    async def refuse(minute, counted):
        raise ConnectionError("Redis away")

    with monkeypatch.context() as patched:
        patched.setattr(store, "add", refuse)
        with pytest.raises(ConnectionError):
            await flusher.flush()
    await flusher.flush()
    assert (await application_statistics(alice_app.id))["today"]["messages"] == 2


async def test_refused_connections_are_counted_by_reason_and_application(layer, connect, alice_app):
    connected, _, _ = await connect(alice_app.app_key, "not-a-jwt")
    assert not connected
    connected, _, _ = await connect("no-such-app")
    assert not connected
    assert counts.of(alice_app.id).refused == 1
    assert counts.refusals == {"unauthorized": 1, "application does not exist": 1}


async def test_webhook_outcomes_are_counted_when_told(alice_app):
    notifications.notify(alice_app.id, notifications.WEBHOOK_SENT, url="u", status=200)
    notifications.notify(alice_app.id, notifications.WEBHOOK_SENT, url="u", status=200)
    notifications.notify(alice_app.id, notifications.WEBHOOK_FAILED, url="u", status=None)
    figures = counts.of(alice_app.id)
    assert (figures.webhooks_sent, figures.webhooks_failed) == (2, 1)
    await flusher.flush()
    today = (await application_statistics(alice_app.id))["today"]
    assert (today["webhooks_sent"], today["webhooks_failed"]) == (2, 1)


async def test_rest_triggers_through_django_are_counted_by_outcome(alice_app, alice_secret):
    # The lean path (api.fast_triggers) hands multipart bodies to the DRF view.
    path = f"/api/organizations/{alice_app.organization.slug}/applications/{alice_app.app_key}"
    client = AsyncClient()
    auth = {"Authorization": f"Bearer {alice_secret}"}
    ok = await client.post(f"{path}/event/said", {"topic": "room:1", "a": "1"}, headers=auth)
    bad = await client.post(f"{path}/event/said", {"topic": "no spaces"}, headers=auth)
    anonymous = await client.post(f"{path}/event/said", {"topic": "room:1"})
    assert (ok.status_code, bad.status_code, anonymous.status_code) == (200, 400, 401)
    assert counts.api_requests == {("rest", "ok"): 1, ("rest", "refused"): 2}
    assert counts.of(alice_app.id).api_requests == 2  # the anonymous one names no caller's app


async def test_broker_errors_are_counted_by_component(connect, alice_app, jwt_for, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    connected, _, _ = await connect(alice_app.app_key, jwt_for())
    assert not connected
    # The connect's own failure, and maybe the presence heartbeat's (a task of its own).
    assert counts.broker_errors["presence"] >= 1
    assert counts.refusals == {"service unavailable, retry later": 1}
    with pytest.raises(RedisError):
        await flusher.flush()  # the statistics store is that Redis too: nothing written
