import pytest
from django.urls import reverse

from organizations.models import Application
from organizations.selectors import application_secret
from tests.organizations.snippets import page_snippets


def _create(client, organization, name="Live Scores", **request):
    url = reverse("application_create", kwargs={"org": organization.slug})
    return client.post(url, {"name": name}, **request)


def test_it_creates_an_application_and_shows_its_credentials(alice_client, alice_org, settings):
    settings.ALLOWED_HOSTS = ["push.example.com"]

    response = _create(alice_client, alice_org, HTTP_HOST="push.example.com", secure=True)

    assert response.status_code == 200
    application = Application.objects.get(organization=alice_org, name="Live Scores")
    page = response.content.decode()
    assert application.app_key in page
    assert str(application.app_id) in page
    assert application_secret(application) in page
    # Copy-paste snippets point where the page was reached, for server and browser.
    assert "https://push.example.com/api/sessions" in page
    assert (
        f"https://push.example.com/api/organizations/{alice_org.slug}/applications/"
        f"{application.app_key}/event/new_message" in page
    )
    assert "Authorization: Bearer $JWT" in page
    snippets = page_snippets(page)
    assert 'host="push.example.com"' in snippets["python"]
    assert "port=443" in snippets["python"]
    assert '<script src="https://push.example.com/js/pusher.js">' in snippets["phoenix-browser"]
    assert (
        f'new PusherLite("{application.app_key}", {{host: "push.example.com"'
        in snippets["phoenix-browser"]
    )


def test_it_shows_the_app_secret_only_once(alice_client, alice_org, alice, superuser_client):
    response = _create(alice_client, alice_org)
    application = Application.objects.get(name="Live Scores")
    secret = application_secret(application)
    assert secret in response.content.decode()

    kwargs = {"org": alice_org.slug, "app_key": application.app_key}
    pages = [
        reverse("dashboard"),
        reverse("organization_detail", kwargs={"org": alice_org.slug}),
        reverse("application_detail", kwargs=kwargs),
        reverse("application_update", kwargs=kwargs),
        reverse("application_archive", kwargs=kwargs),
    ]
    for url in pages:
        response = alice_client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert secret not in page, url
        assert application.secret_encrypted not in page, url
    admin_page = superuser_client.get(
        reverse("admin:organizations_application_change", args=[application.pk])
    ).content.decode()
    assert secret not in admin_page


def test_it_requires_a_name(alice_client, alice_org):
    response = _create(alice_client, alice_org, name="  ")

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not Application.objects.filter(organization=alice_org).exists()


def test_it_shows_the_application_to_members_without_the_secret(
    bob_client, alice_org, alice_app_and_secret
):
    application, secret = alice_app_and_secret
    url = reverse(
        "application_detail", kwargs={"org": alice_org.slug, "app_key": application.app_key}
    )

    page = bob_client.get(url).content.decode()

    assert application.app_key in page
    assert str(application.app_id) in page
    assert secret not in page
    assert "YOUR_APP_SECRET" in page


def test_it_lists_applications_on_the_organization_page(alice_client, alice_org, alice_app):
    alice_app.archived = True
    alice_app.save()

    page = alice_client.get(reverse("organization_detail", args=[alice_org.slug])).content
    page = page.decode()

    assert alice_app.name in page
    assert alice_app.app_key in page
    assert str(alice_app.app_id) in page
    assert "archived" in page


@pytest.fixture
def settings_url(alice_org, alice_app):
    return reverse(
        "application_update", kwargs={"org": alice_org.slug, "app_key": alice_app.app_key}
    )


def _settings(**overrides):
    data = {
        "name": "Alice Chat",
        "allowed_origins": "",
        "anonymous_listen": "public:*",
        "anonymous_publish": "",
        "client_publishing": "on",
        "max_connections": "0",
        "max_presence_members": "100",
        "client_push_rate": "10",
        "webhook_url": "",
    }
    data.update(overrides)
    return data


def test_it_saves_settings(alice_client, alice_app, settings_url):
    data = _settings(
        name="Alice Chat 2",
        allowed_origins="https://App.Alice.example/\n\nhttp://localhost:3000\n",
        anonymous_listen="public:*\nnews\n*",
        anonymous_publish="chat:room-*",
        client_publishing="",
        max_connections="500",
        max_presence_members="50",
        client_push_rate="5",
        webhook_url="https://alice.example/hooks/expusher",
    )

    response = alice_client.post(settings_url, data)

    assert response.status_code == 302
    alice_app.refresh_from_db()
    assert alice_app.name == "Alice Chat 2"
    assert alice_app.allowed_origins == ["https://app.alice.example", "http://localhost:3000"]
    assert alice_app.anonymous_listen == ["public:*", "news", "*"]
    assert alice_app.anonymous_publish == ["chat:room-*"]
    assert alice_app.client_publishing is False
    assert alice_app.max_connections == 500
    assert alice_app.max_presence_members == 50
    assert alice_app.client_push_rate == 5
    assert alice_app.webhook_url == "https://alice.example/hooks/expusher"


@pytest.mark.parametrize(
    "field, value",
    [
        ("anonymous_listen", "room/1"),
        ("anonymous_listen", "a*b"),
        ("anonymous_listen", "**"),
        ("anonymous_publish", "x" * 201),
        ("anonymous_publish", "spaces are not allowed"),
        ("allowed_origins", "https://alice.example/path"),
        ("allowed_origins", "ftp://alice.example"),
        ("allowed_origins", "alice.example"),
        ("max_connections", "-1"),
        ("max_presence_members", "0"),
        ("client_push_rate", "0"),
        ("webhook_url", "not a url"),
        ("name", ""),
    ],
)
def test_it_rejects_invalid_settings(alice_client, alice_app, settings_url, field, value):
    response = alice_client.post(settings_url, _settings(**{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'class="errorlist' in response.content.decode()
    alice_app.refresh_from_db()
    assert alice_app.anonymous_listen == ["public:*"]
    assert alice_app.allowed_origins == []


def test_it_shows_settings_read_only_to_members(bob_client, settings_url):
    response = bob_client.get(settings_url)

    assert response.status_code == 200
    assert all(field.disabled for field in response.context["form"].fields.values())
    assert "only its admins can make changes" in response.content.decode()


def test_it_archives_after_confirmation(alice_client, alice_org, alice_app):
    url = reverse(
        "application_archive", kwargs={"org": alice_org.slug, "app_key": alice_app.app_key}
    )

    response = alice_client.post(url, {"confirm_name": "wrong name"})
    assert response.status_code == 200
    assert response.context["form"].errors["confirm_name"]
    alice_app.refresh_from_db()
    assert not alice_app.archived

    response = alice_client.post(url, {"confirm_name": alice_app.name})
    assert response.status_code == 302
    alice_app.refresh_from_db()
    assert alice_app.archived
    # Still visible, no longer editable.
    detail = reverse(
        "application_detail", kwargs={"org": alice_org.slug, "app_key": alice_app.app_key}
    )
    assert alice_client.get(detail).status_code == 200
    assert alice_client.get(url).status_code == 404
