"""GET /demo/: the chat demo page of the seeded "Demo Chat" application."""

import json

import pytest

from api.services import DEMO_TOKEN_LABEL, demo_session
from organizations import services
from organizations.models import SecretToken
from realtime import tokens


@pytest.fixture
def demo_app(alice):
    organization = services.organization_create(name="Demo", owner=alice)
    assert organization.slug == "demo"
    return services.application_create(organization=organization, name="Demo Chat")[0]


def _config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="demo-config" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_it_explains_how_to_seed_the_demo_when_it_is_missing(client, db):
    response = client.get("/demo/")
    assert response.status_code == 404
    assert b"manage.py seed_demo" in response.content
    assert b"/js/pusher.js" not in response.content


def test_it_ignores_an_application_of_another_name(client, alice):
    organization = services.organization_create(name="Demo", owner=alice)
    services.application_create(organization=organization, name="Something Else")
    assert client.get("/demo/").status_code == 404


def test_it_renders_the_chat_page(client, demo_app):
    response = client.get("/demo/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    for element in (
        'id="name"',
        'id="message"',
        'id="through-api"',
        'id="send"',
        'id="messages"',
        'id="status"',
    ):
        assert element in html
    assert '<script src="/js/pusher.js">' in html
    config = _config(response)
    assert config["appKey"] == demo_app.app_key
    assert config["triggerUrl"] == (
        f"/api/organizations/demo/applications/{demo_app.app_key}/event/new_message"
    )


def test_it_gives_each_visitor_a_jwt_to_chat_on_general(client, demo_app):
    config = _config(client.get("/demo/"))
    claims = tokens.verify(config["jwt"])
    assert claims.organization_id == demo_app.organization_id
    assert claims.apps == (demo_app.app_key,)
    assert claims.listen == ("general", "presence:demo")
    assert claims.publish == ("general",)
    assert claims.user_id == config["uniqueUserId"]
    token = SecretToken.objects.get(pk=claims.token_id)
    assert token.label == DEMO_TOKEN_LABEL
    assert token.organization_id == demo_app.organization_id

    other = tokens.verify(_config(client.get("/demo/"))["jwt"])
    assert other.user_id != claims.user_id
    assert other.token_id == claims.token_id, "the demo token is reused"


def test_it_replaces_a_revoked_demo_token(demo_app):
    jwt, _ = demo_session(application=demo_app, user_id="u1")
    first = SecretToken.objects.get(pk=tokens.verify(jwt).token_id)
    services.secret_token_revoke(token=first)
    jwt, expires_at = demo_session(application=demo_app, user_id="u2")
    claims = tokens.verify(jwt)
    assert claims.token_id != first.pk
    assert claims.expires_at == int(expires_at.timestamp())
    assert SecretToken.objects.filter(label=DEMO_TOKEN_LABEL, revoked__isnull=True).count() == 1


def test_it_loads_its_script_from_static_files(client, demo_app):
    html = client.get("/demo/").content.decode()
    assert '<script src="/static/expusher/demo.js">' in html
    response = client.get("/static/expusher/demo.js")
    assert response.status_code == 200
    assert b"new PusherLite(" in b"".join(response.streaming_content)
