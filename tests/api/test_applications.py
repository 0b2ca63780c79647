import pytest

from organizations.models import Application
from organizations.selectors import application_secret
from tests.api.helpers import assert_error

SETTINGS = {
    "allowed_origins": ["https://chat.example.com", "http://localhost:3000"],
    "anonymous_listen": ["public:*", "lobby"],
    "anonymous_publish": ["lobby"],
    "client_publishing": False,
    "max_connections": 500,
    "max_presence_members": 50,
    "client_push_rate": 5,
    "webhook_url": "https://hooks.example.com/expusher",
}


def _url(org, app=None) -> str:
    base = f"/api/organizations/{org}/applications"
    return base if app is None else f"{base}/{app}"


def test_it_creates_an_application_and_shows_its_secret_once(client_for, alice_org):
    client = client_for("alice_secret")
    response = client.post(_url(alice_org.slug), {"name": "Support chat"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    app = Application.objects.get(app_key=body["app_key"])
    assert app.organization == alice_org
    assert (app.name, app.app_id) == ("Support chat", body["app_id"])
    assert body["app_secret"] == application_secret(app)
    assert not body["archived"]
    assert body["anonymous_listen"] == ["public:*"]  # the defaults are reported
    assert "secret_encrypted" not in body

    secret = body["app_secret"].encode()
    for caller in ("alice_secret", "alice_session", "bob_session"):
        client = client_for(caller)
        for url in (_url(alice_org.slug), _url(alice_org.slug, app.app_key)):
            later = client.get(url)
            assert later.status_code == 200
            assert secret not in later.content
            assert b"app_secret" not in later.content
    patched = client_for("alice_session").patch(
        _url(alice_org.slug, app.app_id), {"name": "Help"}, format="json"
    )
    assert secret not in patched.content


def test_it_creates_an_application_with_settings(client_for, alice_org):
    body = {"name": "Game", **SETTINGS}
    response = client_for("alice_session").post(_url(alice_org.pk), body, format="json")
    assert response.status_code == 201, response.content
    app = Application.objects.get(app_key=response.json()["app_key"])
    for field, value in SETTINGS.items():
        assert getattr(app, field) == value, field
        assert response.json()[field] == value, field


def test_it_finds_an_application_by_key_and_by_app_id(client_for, alice_org, alice_app):
    client = client_for("bob_session")
    by_key = client.get(_url(alice_org.slug, alice_app.app_key))
    by_id = client.get(_url(alice_org.pk, alice_app.app_id))
    assert by_key.status_code == by_id.status_code == 200
    assert by_key.json() == by_id.json()
    assert by_key.json()["app_key"] == alice_app.app_key


def test_it_lists_the_organizations_applications(client_for, alice_org, alice_app, charlie_app):
    response = client_for("alice_secret").get(_url(alice_org.slug))
    assert [app["app_key"] for app in response.json()] == [alice_app.app_key]


def test_it_updates_only_the_fields_sent(client_for, alice_org, alice_app):
    response = client_for("alice_session").patch(
        _url(alice_org.slug, alice_app.app_key),
        {"max_connections": 10, "anonymous_listen": []},
        format="json",
    )
    assert response.status_code == 200, response.content
    alice_app.refresh_from_db()
    assert (alice_app.max_connections, alice_app.anonymous_listen) == (10, [])
    assert (alice_app.name, alice_app.client_push_rate) == ("Alice Chat", 10)
    assert response.json()["max_connections"] == 10


def test_it_normalises_origins_as_browsers_send_them(client_for, alice_org, alice_app):
    response = client_for("alice_secret").patch(
        _url(alice_org.slug, alice_app.app_key),
        {"allowed_origins": ["HTTPS://Chat.Example.com/", "http://[::1]:8080"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    alice_app.refresh_from_db()
    assert alice_app.allowed_origins == ["https://chat.example.com", "http://[::1]:8080"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("anonymous_listen", ["bad topic!"]),
        ("anonymous_publish", ["a*b"]),
        ("anonymous_listen", "public:*"),
        ("allowed_origins", ["https://example.com/page"]),
        ("allowed_origins", ["example.com"]),
        ("allowed_origins", ["ftp://example.com"]),
        ("allowed_origins", ["https://user@example.com"]),
        ("max_connections", -1),
        ("max_presence_members", 0),
        ("client_push_rate", 2**31),
        ("client_publishing", "maybe"),
        ("webhook_url", "not a url"),
        ("name", ""),
    ],
)
def test_it_rejects_invalid_settings_with_400(client_for, alice_org, alice_app, field, value):
    url = _url(alice_org.slug, alice_app.app_key)
    response = client_for("alice_secret").patch(url, {field: value}, format="json")
    assert field in assert_error(response, 400, "invalid")["fields"]
    before = Application.objects.get(pk=alice_app.pk)
    assert getattr(before, field) == getattr(alice_app, field)

    create = client_for("alice_secret").post(
        _url(alice_org.slug), {"name": "New", field: value}, format="json"
    )
    assert field in assert_error(create, 400, "invalid")["fields"]
    assert not Application.objects.filter(name="New").exists()


def test_it_requires_a_name_to_create(client_for, alice_org):
    response = client_for("alice_session").post(_url(alice_org.slug), {}, format="json")
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["name"]


def test_a_member_cannot_create_change_or_archive(client_for, alice_org, alice_app):
    client = client_for("bob_session")
    assert_error(client.post(_url(alice_org.slug), {"name": "Bob's"}, format="json"), 403)
    url = _url(alice_org.slug, alice_app.app_key)
    assert_error(client.patch(url, {"name": "Bob's"}, format="json"), 403)
    assert_error(client.delete(url), 403)
    alice_app.refresh_from_db()
    assert (alice_app.name, alice_app.archived) == ("Alice Chat", False)
    assert alice_org.applications.count() == 1


def test_it_archives_an_application(client_for, alice_org, alice_app):
    client = client_for("alice_session")
    url = _url(alice_org.slug, alice_app.app_id)
    response = client.delete(url)
    assert response.status_code == 200, response.content
    assert response.json()["archived"] is True
    alice_app.refresh_from_db()
    assert alice_app.archived
    # Still listed and readable, marked archived; archiving again changes nothing.
    assert client.get(url).json()["archived"] is True
    assert [a["archived"] for a in client.get(_url(alice_org.slug)).json()] == [True]
    assert client.delete(url).status_code == 200
    # ...but its settings are frozen.
    error = assert_error(client.patch(url, {"name": "Back"}, format="json"), 409, "archived")
    assert "archived" in error["message"]
    alice_app.refresh_from_db()
    assert alice_app.name == "Alice Chat"
