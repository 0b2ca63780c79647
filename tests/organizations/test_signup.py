import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from organizations.models import Membership, Organization, SecretToken
from tests.conftest import PASSWORD
from tests.organizations.snippets import page_snippets

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


def _link(mail) -> str:
    [url] = re.findall(r"https?://\S+/signup/confirm/\S+/", mail.body)
    return urlsplit(url).path


def _signed_up(client, mailoutbox, **overrides):
    """Sign up, follow the link of the message, press the button: the final response."""
    assert _signup(client, **overrides).status_code == 302
    link = _link(mailoutbox[-1])
    assert client.get(link).status_code == 200
    return client.post(link)


def _outside_view(response, client) -> tuple:
    """What the person who filled in the form sees, with the address itself left out."""
    page = client.get(response.url)
    body = page.content.decode().replace("dana@example.org", "").replace("alice@example.org", "")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    logged_in = client.get(reverse("dashboard")).status_code == 200
    return response.status_code, response.url, page.status_code, body, logged_in


def test_an_existing_address_gets_the_same_answer_and_nothing_is_created(client, alice, mailoutbox):
    from django.test import Client

    new = _signup(client)
    other = Client()
    existing = _signup(other, email="ALICE@example.org")

    assert _outside_view(new, client) == _outside_view(existing, other)
    assert new.status_code == 302 and new.url == reverse("signup_sent")
    assert User.objects.count() == 1  # alice only: nothing exists before the link is used
    assert not Organization.objects.filter(name="Dana Labs").exists()
    # The owner of each address learns what happened, in a message only they read.
    to_dana, to_alice = mailoutbox
    assert to_dana.to == ["dana@example.org"] and _link(to_dana)
    assert to_alice.to == ["alice@example.org"] and "already has an account" in to_alice.body
    assert "/signup/confirm/" not in to_alice.body
    assert "/accounts/password_reset/" in to_alice.body
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # unchanged


def test_the_link_creates_user_organization_admin_membership_and_token(client, db, mailoutbox):
    assert _signup(client, email="Dana@Example.org").status_code == 302
    link = _link(mailoutbox[0])
    confirm = client.get(link)  # a mail scanner's visit creates nothing
    assert "Dana Labs" in confirm.content.decode() and not User.objects.exists()

    response = client.post(link)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    user = User.objects.get(email="dana@example.org")
    assert user.check_password("a long enough passphrase")
    organization = Organization.objects.get(name="Dana Labs")
    membership = Membership.objects.get(user=user, organization=organization)
    assert membership.role == Membership.Role.ADMIN
    assert SecretToken.objects.filter(organization=organization).count() == 1
    # Logged in straight away.
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_link_creates_one_account_once(client, db, mailoutbox):
    from django.test import Client

    _signed_up(client, mailoutbox)
    again = Client().post(_link(mailoutbox[0]))

    assert again.status_code == 302 and again.url == reverse("login")
    assert User.objects.count() == 1 and Organization.objects.count() == 1


@pytest.mark.parametrize(
    "mangle", [lambda link: link[:-12] + "AAAAAAAAAAA/", lambda link: "/signup/confirm/nope/"]
)
def test_a_tampered_link_is_refused(client, db, mailoutbox, mangle):
    _signup(client)
    for method in (client.get, client.post):
        response = method(mangle(_link(mailoutbox[0])))
        assert response.status_code == 400
        assert "invalid or has expired" in response.content.decode()
    assert not User.objects.exists()


def test_an_expired_link_is_refused(client, db, mailoutbox, monkeypatch):
    from organizations import signup

    _signup(client)
    monkeypatch.setattr(signup, "SIGNUP_LINK_SECONDS", -1)
    assert client.post(_link(mailoutbox[0])).status_code == 400
    assert not User.objects.exists()


def test_it_shows_the_token_once_and_the_token_works(client, api, db, mailoutbox):
    token = _shown_token(_signed_up(client, mailoutbox))

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


def test_the_link_holds_no_readable_password(client, db, mailoutbox):
    _signup(client)
    assert "passphrase" not in mailoutbox[0].body
    assert "pbkdf2" not in mailoutbox[0].body


def test_log_in_and_password_reset_do_not_tell_either(client, alice, mailoutbox):
    from django.test import Client

    wrong = {"username": "alice@example.org", "password": "wrong password"}
    nobody = {"username": "nobody@example.org", "password": "wrong password"}
    answers = [Client().post(reverse("login"), data) for data in (wrong, nobody)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].context["form"].errors == answers[1].context["form"].errors
    resets = [
        Client().post(reverse("password_reset"), {"email": email})
        for email in ("alice@example.org", "nobody@example.org")
    ]
    assert [(r.status_code, r.url) for r in resets] == [(302, reverse("password_reset_done"))] * 2


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


def test_links_and_the_welcome_snippet_name_the_host_the_reader_used(
    client, alice, db, mailoutbox, settings
):
    settings.ALLOWED_HOSTS = ["push.example.com"]
    settings.SITE_URL = "http://elsewhere.example"
    site = {"HTTP_HOST": "push.example.com", "secure": True}
    data = {
        "email": "dana@example.org",
        "password1": "a long enough passphrase",
        "password2": "a long enough passphrase",
        "organization_name": "Dana Labs",
    }
    client.post(reverse("signup"), data, **site)
    client.post(reverse("signup"), {**data, "email": "alice@example.org"}, **site)

    confirm, existing = mailoutbox[-2].body, mailoutbox[-1].body
    assert "https://push.example.com/signup/confirm/" in confirm
    assert "https://push.example.com/accounts/login/" in existing
    assert "elsewhere" not in confirm + existing
    done = client.post(_link(mailoutbox[-2]), **site)
    token = _shown_token(done)
    snippet = page_snippets(done.content.decode())["welcome-session"]
    assert snippet.splitlines() == [
        f'export EXPUSHER_TOKEN="{token}"',
        "curl -sS --fail-with-body -X POST https://push.example.com/api/sessions"
        ' -d "token=$EXPUSHER_TOKEN"',
    ]
