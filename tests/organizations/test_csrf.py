"""Every state-changing form refuses a POST without the CSRF token."""

import pytest
from django.test import Client
from django.urls import reverse

from organizations.models import Application, Membership, SecretToken


@pytest.fixture
def strict_client(alice, alice_org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_it_refuses_signup_without_a_token(db):
    client = Client(enforce_csrf_checks=True)
    data = {
        "email": "dana@example.org",
        "password1": "a long enough passphrase",
        "password2": "a long enough passphrase",
        "organization_name": "Dana Labs",
    }

    assert client.post(reverse("signup"), data).status_code == 403
    assert not Membership.objects.exists()


def test_it_refuses_login_without_a_token(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": alice.email, "password": "x"})

    assert response.status_code == 403


def test_it_refuses_application_create_without_a_token(strict_client, alice_org):
    url = reverse("application_create", kwargs={"org": alice_org.slug})

    assert strict_client.post(url, {"name": "Sneaky"}).status_code == 403
    assert not Application.objects.filter(name="Sneaky").exists()


def test_it_refuses_token_revoke_without_a_token(strict_client, alice_org, alice_token):
    url = reverse("secret_token_revoke", kwargs={"org": alice_org.slug, "token_id": alice_token.pk})

    assert strict_client.post(url).status_code == 403
    assert SecretToken.objects.get(pk=alice_token.pk).revoked is None


def test_it_refuses_member_remove_without_a_token(strict_client, alice_org, bob_membership):
    url = reverse(
        "member_remove", kwargs={"org": alice_org.slug, "membership_id": bob_membership.pk}
    )

    assert strict_client.post(url).status_code == 403
    assert Membership.objects.filter(pk=bob_membership.pk).exists()


def test_it_refuses_logout_without_a_token(strict_client):
    assert strict_client.post(reverse("logout")).status_code == 403
    assert strict_client.get(reverse("dashboard")).status_code == 200


def test_it_accepts_the_token_from_the_form(strict_client, alice_org):
    url = reverse("application_create", kwargs={"org": alice_org.slug})
    strict_client.get(url)  # sets the CSRF cookie, as a browser would
    token = strict_client.cookies["csrftoken"].value

    response = strict_client.post(url, {"name": "Legit", "csrfmiddlewaretoken": token})

    assert response.status_code == 200
    assert Application.objects.filter(name="Legit").exists()
