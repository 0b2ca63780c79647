"""REST triggers reach live sockets; every bad input gets its documented status."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from expusher.asgi import application
from realtime import tokens


def url(app, event="new_message", org=None):
    org = org or app.organization.slug
    return f"/api/organizations/{org}/applications/{app.app_key}/event/{event}"


def batch_url(app):
    return f"/api/organizations/{app.organization.slug}/applications/{app.app_key}/events"


@pytest.fixture
def jwt_of(alice_app, alice_token_and_secret):
    def make(publish=("*",), apps=None):
        return tokens.issue(
            organization_id=alice_app.organization_id,
            token_id=alice_token_and_secret[0].pk,
            apps=apps if apps is not None else [alice_app.app_key],
            listen=["*"],
            publish=list(publish),
            ttl=60,
        )[0]

    return make


def bearer(value) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    return client


async def subscriber(app, jwt, topic):
    ws = WebsocketCommunicator(
        application, f"/socket/websocket?vsn=2.0.0&app_key={app.app_key}&jwt={jwt}"
    )
    assert (await ws.connect())[0]
    await ws.send_to(text_data=json.dumps(["1", "1", topic, "phx_join", {}]))
    assert json.loads(await ws.receive_from())[4]["status"] == "ok"
    return ws


@pytest.mark.django_db(transaction=True)
async def test_a_form_trigger_with_a_jwt_reaches_subscribers(alice_app, jwt_of):
    jwt = jwt_of(publish=["general"])
    ws = await subscriber(alice_app, jwt, "general")
    r = await sync_to_async(bearer(jwt).post)(url(alice_app), {"name": "John", "message": "Hello"})
    assert r.status_code == 200, r.content
    frame = json.loads(await ws.receive_from())
    assert frame == [None, None, "general", "new_message", {"name": "John", "message": "Hello"}]
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_json_trigger_with_a_secret_token_and_topic_reaches_subscribers(
    alice_app, alice_secret, jwt_of
):
    ws = await subscriber(alice_app, jwt_of(), "room:1")
    r = await sync_to_async(bearer(alice_secret).post)(
        url(alice_app) + "?topic=room:1", {"a": [1, 2]}, format="json"
    )
    assert r.status_code == 200, r.content
    assert json.loads(await ws.receive_from())[2:] == ["room:1", "new_message", {"a": [1, 2]}]
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_batch_is_delivered_in_order(alice_app, alice_secret, jwt_of):
    ws = await subscriber(alice_app, jwt_of(), "room:1")
    events = [{"topic": "room:1", "event": f"e{i}", "payload": {"i": i}} for i in range(10)]
    r = await sync_to_async(bearer(alice_secret).post)(
        batch_url(alice_app), {"events": events}, format="json"
    )
    assert r.status_code == 200, r.content
    got = [json.loads(await ws.receive_from())[3] for _ in range(10)]
    assert got == [f"e{i}" for i in range(10)]
    await ws.disconnect()


def test_it_refuses_topics_outside_the_publish_claim(alice_app, jwt_of):
    r = bearer(jwt_of(publish=["room:*"])).post(url(alice_app) + "?topic=general", {"a": "1"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_it_refuses_a_jwt_for_another_application_of_the_same_org(alice_app, jwt_of):
    r = bearer(jwt_of(apps=[])).post(url(alice_app), {"a": "1"})
    assert r.status_code == 403


def test_it_hides_other_organizations_applications(alice_app, charlie_app, charlie_secret, jwt_of):
    assert bearer(charlie_secret).post(url(alice_app), {"a": "1"}).status_code == 404
    assert bearer(jwt_of()).post(url(charlie_app), {"a": "1"}).status_code == 404
    r = bearer(jwt_of()).post(url(alice_app, org=charlie_app.organization.slug), {"a": "1"})
    assert r.status_code == 404


def test_it_refuses_oversized_payloads_with_413(alice_app, alice_secret):
    r = bearer(alice_secret).post(url(alice_app), {"blob": "x" * 11000}, format="json")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("event", ["phx_join", "presence_diff", "bad%20event"])
def test_it_refuses_invalid_events_with_400(alice_app, alice_secret, event):
    r = bearer(alice_secret).post(url(alice_app, event=event), {"a": "1"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_event"


def test_it_refuses_invalid_topics_with_400(alice_app, alice_secret):
    r = bearer(alice_secret).post(url(alice_app), {"topic": "bad topic", "a": "1"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_topic"


def test_it_refuses_unknown_and_archived_applications_with_404(alice_app, alice_secret, settings):
    from django.core.cache import cache

    from organizations import services

    r = bearer(alice_secret).post(url(alice_app).replace(alice_app.app_key, "nope"), {"a": 1})
    assert r.status_code == 404
    services.application_archive(application=alice_app)
    cache.clear()
    assert bearer(alice_secret).post(url(alice_app), {"a": "1"}).status_code == 404


def test_it_refuses_missing_or_bad_credentials_with_401(alice_app):
    assert APIClient().post(url(alice_app), {"a": "1"}).status_code == 401
    assert bearer("not-a-jwt").post(url(alice_app), {"a": "1"}).status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_a_batch_is_validated_before_anything_is_sent(alice_app, alice_secret, jwt_of):
    ws = await subscriber(alice_app, jwt_of(), "ok")
    events = [{"topic": "ok", "event": "e", "payload": {}}, {"topic": "bad topic", "event": "e"}]
    r = await sync_to_async(bearer(alice_secret).post)(
        batch_url(alice_app), {"events": events}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_topic"
    assert await ws.receive_nothing(timeout=0.2)  # not even the valid first event
    await ws.disconnect()


def test_a_batch_holds_at_most_ten_events(alice_app, alice_secret):
    too_many = [{"topic": "t", "event": "e"}] * 11
    r = bearer(alice_secret).post(batch_url(alice_app), {"events": too_many}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "batch_too_large"


def test_it_answers_cors_preflights_for_allowed_origins(alice_app, alice_secret):
    from organizations import services

    preflight = {
        "HTTP_ORIGIN": "https://customer.example",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type",
    }
    r = APIClient().options(url(alice_app), **preflight)
    assert r.headers.get("access-control-allow-origin") == "https://customer.example"
    assert "authorization" in r.headers.get("access-control-allow-headers", "")
    services.application_update(application=alice_app, allowed_origins=["https://other.example"])
    from django.core.cache import cache

    cache.clear()
    r = APIClient().options(url(alice_app), **preflight)
    assert "access-control-allow-origin" not in r.headers


def test_a_warm_trigger_reads_no_database_row(
    alice_app, alice_secret, jwt_of, django_assert_num_queries
):
    """The per-message path: credentials and the application come from short caches."""
    for credential in (alice_secret, jwt_of()):
        client = bearer(credential)
        assert client.post(url(alice_app), {"a": "1"}).status_code == 200  # warms the caches
        with django_assert_num_queries(0):
            assert client.post(url(alice_app), {"a": "2"}).status_code == 200


def test_a_revoked_secret_token_is_refused_at_once_despite_the_cache(
    alice_app, alice_token_and_secret
):
    from organizations import services

    token, plaintext = alice_token_and_secret
    client = bearer(plaintext)
    assert client.post(url(alice_app), {"a": "1"}).status_code == 200
    services.secret_token_revoke(token=token)
    assert client.post(url(alice_app), {"a": "1"}).status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_a_trigger_is_told_to_the_notification_listeners(alice_app, alice_secret):
    from realtime import notifications

    heard = []
    stop = notifications.listen(heard.append)
    try:
        r = await sync_to_async(bearer(alice_secret).post)(
            url(alice_app) + "?topic=room:1", {"a": 1}, format="json"
        )
    finally:
        stop()
    assert r.status_code == 200, r.content
    [notice] = heard
    assert notice.kind == notifications.API_MESSAGE and notice.app_id == alice_app.id
    credential = notice.fields.pop("credential")
    assert notice.fields == {
        "topics": ["room:1"],
        "event": "new_message",
        "data": '{"a":1}',
        "api": "rest",
    }
    # Named by label and prefix for the debug console, never by the secret.
    assert str(credential).startswith("secret token ") and alice_secret not in str(credential)


@pytest.mark.django_db(transaction=True)
async def test_a_jwt_trigger_names_its_jwt_and_secret_token(
    alice_app, jwt_of, alice_token_and_secret
):
    from realtime import notifications

    jwt = jwt_of()
    heard = []
    stop = notifications.listen(heard.append)
    try:
        r = await sync_to_async(bearer(jwt).post)(url(alice_app), {"a": 1}, format="json")
    finally:
        stop()
    assert r.status_code == 200, r.content
    credential = str(heard[0].fields["credential"])
    assert credential.startswith("JWT ") and jwt not in credential
    assert f"secret token #{alice_token_and_secret[0].pk}" in credential
