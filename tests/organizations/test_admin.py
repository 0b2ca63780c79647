"""The Django admin renders every model and never shows secret material."""

import pytest
from django.urls import reverse


@pytest.fixture
def secrets_in_db(alice_app_and_secret, alice_token_and_secret, bob):
    application, app_secret = alice_app_and_secret
    token, token_plaintext = alice_token_and_secret
    return {
        "app_secret": app_secret,
        "secret_encrypted": application.secret_encrypted,
        "token_plaintext": token_plaintext,
        "digest": token.digest,
    }


def _admin_pages(alice_org, alice_app, alice_token, bob_membership):
    pages = []
    for model, obj in [
        ("organization", alice_org),
        ("membership", bob_membership),
        ("application", alice_app),
        ("secrettoken", alice_token),
    ]:
        pages.append(reverse(f"admin:organizations_{model}_changelist"))
        pages.append(reverse(f"admin:organizations_{model}_changelist") + "?q=alice")
        pages.append(reverse(f"admin:organizations_{model}_change", args=[obj.pk]))
    return pages


def test_it_renders_admin_pages_without_secrets(
    superuser_client, secrets_in_db, alice_org, alice_app, alice_token, bob_membership
):
    for url in _admin_pages(alice_org, alice_app, alice_token, bob_membership):
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for name, value in secrets_in_db.items():
            assert value not in page, f"{name} appears on {url}"
        assert "secret_encrypted" not in page
        assert 'name="digest"' not in page

    page = superuser_client.get(
        reverse("admin:organizations_secrettoken_change", args=[alice_token.pk])
    ).content.decode()
    assert alice_token.prefix in page


def test_it_filters_tokens_by_revocation(superuser_client, alice_token):
    url = reverse("admin:organizations_secrettoken_changelist") + "?revoked__isempty=1"

    response = superuser_client.get(url)

    assert response.status_code == 200
    assert alice_token.prefix in response.content.decode()


def test_it_does_not_offer_to_add_applications_or_tokens(superuser_client, db):
    # Only the services generate their secrets correctly.
    assert superuser_client.get(reverse("admin:organizations_application_add")).status_code == 403
    assert superuser_client.get(reverse("admin:organizations_secrettoken_add")).status_code == 403


def test_it_keeps_the_admin_for_staff_only(alice_client):
    url = reverse("admin:organizations_application_changelist")

    response = alice_client.get(url)

    assert response.status_code == 302
    assert reverse("admin:login") in response.url
