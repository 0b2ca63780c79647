import re

from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import PASSWORD

User = get_user_model()


def test_it_shows_the_landing_page_to_visitors(client, db):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert reverse("signup") in response.content.decode()
    assert reverse("login") in response.content.decode()


def test_it_sends_logged_in_users_home_to_the_dashboard(alice_client):
    response = alice_client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_it_logs_in_with_the_email_in_any_case(client, alice):
    response = client.post(
        reverse("login"), {"username": "Alice@Example.org", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert client.get(reverse("dashboard")).context["user"] == alice


def test_it_refuses_a_wrong_password(client, alice):
    response = client.post(reverse("login"), {"username": alice.email, "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_logs_out_with_post_only(alice_client):
    assert alice_client.get(reverse("logout")).status_code == 405
    assert alice_client.get(reverse("dashboard")).status_code == 200

    response = alice_client.post(reverse("logout"))

    assert response.status_code == 302
    response = alice_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def _reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)


def test_it_mails_a_password_reset_link_that_works(client, alice, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "alice@example.org"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.org"]

    # The confirm view redirects once to hide the token from the Referer header.
    form_url = client.get(_reset_link(mailoutbox[0])).url
    new_password = "a brand new passphrase"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new_password)


def test_it_sends_no_mail_for_an_unknown_address(client, db, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})

    # Same answer as for a known address, so the form does not reveal who has an account.
    assert response.status_code == 302
    assert mailoutbox == []
