from django.contrib.auth import get_user_model
from django.urls import reverse

from organizations.models import Membership, Organization, SecretToken

User = get_user_model()


def _signup(client, **overrides):
    data = {
        "email": "dana@example.org",
        "password1": "a long enough passphrase",
        "password2": "a long enough passphrase",
        "organization_name": "Dana Labs",
    }
    data.update(overrides)
    return client.post(reverse("signup"), data)


def _shown_token(response) -> str:
    token = response.context["token_plaintext"]
    assert token.startswith("exps_")
    assert token in response.content.decode()
    return token


def test_it_creates_user_organization_admin_membership_and_token(client, db):
    response = _signup(client, email="Dana@Example.org")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    user = User.objects.get(email="dana@example.org")
    organization = Organization.objects.get(name="Dana Labs")
    membership = Membership.objects.get(user=user, organization=organization)
    assert membership.role == Membership.Role.ADMIN
    assert SecretToken.objects.filter(organization=organization).count() == 1
    # Logged in straight away.
    assert client.get(reverse("dashboard")).status_code == 200


def test_it_shows_the_token_once_and_the_token_works(client, api, db):
    token = _shown_token(_signup(client))

    organization = Organization.objects.get(name="Dana Labs")
    for url in (
        reverse("dashboard"),
        reverse("organization_detail", kwargs={"org": organization.slug}),
    ):
        assert token not in client.get(url).content.decode()
    assert not SecretToken.objects.filter(digest__contains=token).exists()

    response = api.post("/api/sessions", {"token": token}, format="json")
    assert response.status_code == 201
    assert response.json()["jwt"]


def test_it_rejects_a_duplicate_email(client, alice):
    response = _signup(client, email="ALICE@example.org")

    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["email"][0]
    assert User.objects.filter(email__iexact="alice@example.org").count() == 1
    assert not Organization.objects.filter(name="Dana Labs").exists()


def test_it_rejects_mismatched_passwords(client, db):
    response = _signup(client, password2="something else entirely")

    assert "do not match" in response.context["form"].errors["password2"][0]
    assert not User.objects.exists()


def test_it_runs_the_password_validators(client, db):
    response = _signup(client, password1="123", password2="123")

    errors = " ".join(response.context["form"].errors["password1"])
    assert "too short" in errors
    assert "entirely numeric" in errors
    assert "too short" in response.content.decode()
    assert not User.objects.exists()


def test_it_rejects_a_password_similar_to_the_email(client, db):
    response = _signup(
        client,
        email="marguerite.yourcenar@example.org",
        password1="marguerite.yourcenar",
        password2="marguerite.yourcenar",
    )

    assert "too similar" in " ".join(response.context["form"].errors["password1"])


def test_it_requires_an_organization_name(client, db):
    response = _signup(client, organization_name="")

    assert response.context["form"].errors["organization_name"]
    assert not User.objects.exists()


def test_it_redirects_a_logged_in_user_to_the_dashboard(alice_client):
    response = alice_client.get(reverse("signup"))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
