import pytest
from django.test import AsyncClient
from prometheus_client.parser import text_string_to_metric_families


@pytest.mark.django_db(transaction=True)
async def test_healthz_checks_database_and_channel_layer(layer):
    r = await AsyncClient().get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": True, "channel_layer": True}


@pytest.mark.django_db(transaction=True)
async def test_healthz_reports_a_dead_redis_as_degraded(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    r = await AsyncClient().get("/healthz")
    assert r.status_code == 503
    assert r.json()["channel_layer"] is False


@pytest.mark.django_db(transaction=True)
async def test_metrics_count_local_subscriptions(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    await a.join("room:1")
    body = (await AsyncClient().get("/metrics")).content.decode()
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert values["expusher_subscriptions_local"] == 1
    assert values["expusher_topics_local"] == 1
