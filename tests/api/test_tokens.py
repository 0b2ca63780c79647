from rest_framework.test import APIClient

from organizations.models import SecretToken
from organizations.selectors import secret_token_is_active
from tests.api.helpers import assert_error


def _url(org, token=None) -> str:
    base = f"/api/organizations/{org}/tokens"
    return base if token is None else f"{base}/{token}"


def _bearer(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_it_creates_a_token_and_shows_it_once(client_for, alice, alice_org):
    response = client_for("alice_session").post(
        _url(alice_org.slug), {"label": "deploy"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    token = SecretToken.objects.get(pk=body["id"])
    assert (token.organization, token.label, token.created_by) == (alice_org, "deploy", alice)
    assert body["token"].startswith(body["prefix"]) and body["prefix"] == token.prefix
    assert body["created_by"] == alice.email
    assert body["revoked"] is None
    assert token.digest not in response.content.decode()
    # The new token works at once, and is never shown again.
    assert _bearer(body["token"]).get("/api/organizations").status_code == 200
    for url in (_url(alice_org.slug), _url(alice_org.slug, token.pk)):
        later = client_for("bob_session").get(url)
        assert later.status_code == 200
        assert body["token"].encode() not in later.content
        assert token.digest.encode() not in later.content
        assert b"digest" not in later.content


def test_a_token_created_by_a_token_credits_nobody(client_for, alice_org):
    response = client_for("alice_secret").post(_url(alice_org.pk), {}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["created_by"] is None
    assert response.json()["label"] == ""
    assert SecretToken.objects.get(pk=response.json()["id"]).created_by is None


def test_it_lists_the_organizations_tokens_newest_first(
    client_for, alice_org, alice_token_and_secret, charlie_secret
):
    first, _ = alice_token_and_secret
    newer = client_for("alice_secret").post(_url(alice_org.slug), {"label": "b"}, format="json")
    listed = client_for("bob_session").get(_url(alice_org.slug)).json()
    assert [t["id"] for t in listed] == [newer.json()["id"], first.pk]
    assert set(listed[1]) == {
        "id",
        "label",
        "description",
        "prefix",
        "created",
        "created_by",
        "last_used",
        "revoked",
    }


def test_it_revokes_a_token(client_for, alice_org, alice_token_and_secret):
    token, plaintext = alice_token_and_secret
    # Cache "active" first, as a socket or a JWT call would: revoking must drop it.
    assert secret_token_is_active(token.pk)
    other = client_for("alice_session")
    response = other.delete(_url(alice_org.slug, token.pk))
    assert response.status_code == 200, response.content
    token.refresh_from_db()
    assert token.revoked is not None
    assert response.json()["revoked"] is not None
    # The revoked token cannot call the API anymore, nor can JWTs issued from it.
    assert_error(_bearer(plaintext).get("/api/organizations"), 401, "authentication_failed")
    assert not secret_token_is_active(token.pk)
    # Revoking again is harmless and keeps the first revocation time.
    again = other.delete(_url(alice_org.slug, token.pk))
    assert again.status_code == 200
    assert again.json()["revoked"] == response.json()["revoked"]


def test_a_token_may_revoke_itself(client_for, alice_org, alice_token_and_secret):
    token, _ = alice_token_and_secret
    client = client_for("alice_secret")
    assert client.delete(_url(alice_org.slug, token.pk)).status_code == 200
    assert_error(client.get(_url(alice_org.slug)), 401)


def test_a_member_cannot_create_or_revoke(client_for, alice_org, alice_token_and_secret):
    token, _ = alice_token_and_secret
    client = client_for("bob_session")
    assert_error(client.post(_url(alice_org.slug), {"label": "bob"}, format="json"), 403)
    assert_error(client.delete(_url(alice_org.slug, token.pk)), 403)
    token.refresh_from_db()
    assert token.revoked is None
    assert alice_org.secret_tokens.count() == 1


def test_it_rejects_a_too_long_label(client_for, alice_org):
    response = client_for("alice_secret").post(
        _url(alice_org.slug), {"label": "x" * 101}, format="json"
    )
    assert "label" in assert_error(response, 400, "invalid")["fields"]
