"""The dashboard's credential lifecycle: rotate an application's secret, restore an archived
application, rename and describe secret tokens; pending members; live connection counts."""

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.urls import reverse

from organizations import services
from organizations.models import Application, SecretToken
from organizations.selectors import application_secret
from realtime.presence import get_presence
from tests.organizations.snippets import page_snippets, page_value


def _app_url(name, organization, application) -> str:
    return reverse(name, kwargs={"org": organization.slug, "app_key": application.app_key})


def test_rotating_shows_the_new_secret_once_and_fills_it_into_the_snippets(
    alice_client, alice_org, alice_app_and_secret
):
    application, old = alice_app_and_secret
    url = _app_url("application_secret_rotate", alice_org, application)
    assert "Cancel" in alice_client.get(url).content.decode()

    response = alice_client.post(url, {"grace_seconds": "0"})

    application.refresh_from_db()
    new = application_secret(application)
    page = response.content.decode()
    assert new != old and page_value(page, "app-secret") == new
    assert "no-store" in response["Cache-Control"]
    assert new in page_snippets(page)["python"]
    assert "The old secret no longer works" in page
    detail = alice_client.get(_app_url("application_detail", alice_org, application))
    assert new not in detail.content.decode()
    assert "previous-secret-note" not in detail.content.decode()


def test_a_grace_period_is_told_on_the_application_page(alice_client, alice_org, alice_app):
    alice_client.post(
        _app_url("application_secret_rotate", alice_org, alice_app), {"grace_seconds": "3600"}
    )

    page = alice_client.get(_app_url("application_detail", alice_org, alice_app)).content.decode()
    assert "previous one still verifies" in page_value(page, "previous-secret-note")


def test_members_cannot_rotate(bob_client, alice_org, alice_app):
    url = _app_url("application_secret_rotate", alice_org, alice_app)
    before = Application.objects.get(pk=alice_app.pk).secret_encrypted

    assert bob_client.post(url, {"grace_seconds": "0"}).status_code == 403
    assert Application.objects.get(pk=alice_app.pk).secret_encrypted == before


def test_an_admin_restores_an_archived_application(alice_client, alice_org, alice_app):
    services.application_archive(application=alice_app)
    detail = alice_client.get(_app_url("application_detail", alice_org, alice_app)).content
    assert _app_url("application_unarchive", alice_org, alice_app).encode() in detail

    response = alice_client.post(_app_url("application_unarchive", alice_org, alice_app))

    assert response.status_code == 302
    assert not Application.objects.get(pk=alice_app.pk).archived


def test_members_cannot_restore(bob_client, alice_org, alice_app):
    services.application_archive(application=alice_app)

    response = bob_client.post(_app_url("application_unarchive", alice_org, alice_app))

    assert response.status_code == 403
    assert Application.objects.get(pk=alice_app.pk).archived


def test_tokens_are_renamed_and_described_and_listed_with_their_last_use(
    alice_client, alice_org, alice_token_and_secret
):
    token, _ = alice_token_and_secret
    services.secret_token_mark_used(token=token)
    url = reverse("secret_token_update", kwargs={"org": alice_org.slug, "token_id": token.pk})

    response = alice_client.post(url, {"label": "web", "description": "on the web servers"})

    assert response.status_code == 302
    token = SecretToken.objects.get(pk=token.pk)
    assert (token.label, token.description) == ("web", "on the web servers")
    page = alice_client.get(response.url).content.decode()
    assert "on the web servers" in page
    assert token.last_used.strftime("%Y-%m-%d %H:%M") in page
    revoke = reverse("secret_token_revoke", kwargs={"org": alice_org.slug, "token_id": token.pk})
    assert revoke in page


def test_invited_members_are_pending_until_they_sign_in(alice_client, alice_org, client):
    url = reverse("member_add", kwargs={"org": alice_org.slug})
    alice_client.post(url, {"email": "dave@example.org", "role": "member"})
    organization_url = reverse("organization_detail", kwargs={"org": alice_org.slug})

    page = alice_client.get(organization_url).content.decode()
    assert page.count('data-testid="pending"') == 1

    dave = get_user_model().objects.get(email="dave@example.org")
    dave.set_password("dave's own passphrase")
    dave.save()
    client.post(
        reverse("login"), {"username": "dave@example.org", "password": "dave's own passphrase"}
    )
    page = alice_client.get(organization_url).content.decode()
    assert 'data-testid="pending"' not in page


def test_the_dashboard_shows_each_application_with_its_connections_now(
    alice_client, alice_org, alice_app
):
    archived, _ = services.application_create(organization=alice_org, name="Old")
    services.application_archive(application=archived)
    connected = async_to_sync(get_presence().connected)
    connected(alice_app.pk, 3)
    try:
        page = alice_client.get(reverse("dashboard")).content.decode()
    finally:
        connected(alice_app.pk, -3)

    assert page_value(page, f"connections-{alice_app.app_key}") == "3 connections now"
    assert f"connections-{archived.app_key}" not in page
