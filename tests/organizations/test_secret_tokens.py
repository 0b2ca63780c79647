import hashlib
import hmac

from django.urls import reverse

from organizations.models import SecretToken
from organizations.secrets import secret_token_digest
from organizations.selectors import secret_token_is_active


def test_it_creates_a_token_and_shows_it_once(alice_client, alice, alice_org, api):
    url = reverse("secret_token_create", kwargs={"org": alice_org.slug})

    response = alice_client.post(url, {"label": "production"})

    assert response.status_code == 200
    plaintext = response.context["token_plaintext"]
    assert plaintext in response.content.decode()
    token = SecretToken.objects.get(organization=alice_org, label="production")
    assert token.created_by == alice
    assert plaintext.startswith(token.prefix)
    assert plaintext not in token.digest

    page = alice_client.get(reverse("organization_detail", args=[alice_org.slug])).content
    assert plaintext not in page.decode()
    assert token.prefix in page.decode()
    assert token.digest not in page.decode()

    assert api.post("/api/sessions", {"token": plaintext}, format="json").status_code == 201


def test_it_lists_tokens_with_their_details(bob_client, alice_org, alice_token):
    page = bob_client.get(reverse("organization_detail", args=[alice_org.slug])).content
    page = page.decode()

    assert alice_token.label in page
    assert alice_token.prefix in page
    assert "alice@example.org" in page  # created by
    assert "never" in page  # last used


def test_it_revokes_a_token(alice_client, alice_org, alice_token, alice_secret, api):
    url = reverse("secret_token_revoke", kwargs={"org": alice_org.slug, "token_id": alice_token.pk})
    assert secret_token_is_active(alice_token.pk)

    response = alice_client.post(url)

    assert response.status_code == 302
    alice_token.refresh_from_db()
    assert alice_token.revoked is not None
    assert not secret_token_is_active(alice_token.pk)
    assert api.post("/api/sessions", {"token": alice_secret}, format="json").status_code == 401


def test_a_digest_is_the_peppered_hmac_and_follows_the_pepper(settings):
    plaintext = "exps_" + "x" * 43
    settings.EXPUSHER_TOKEN_PEPPER = "first pepper"
    first = secret_token_digest(plaintext)
    assert first == hmac.new(b"first pepper", plaintext.encode(), hashlib.sha256).hexdigest()
    settings.EXPUSHER_TOKEN_PEPPER = "second pepper"  # remembered once: the change must reach it
    assert secret_token_digest(plaintext) != first
