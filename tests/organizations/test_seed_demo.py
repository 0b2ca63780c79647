"""The seed_demo operator command, which scripts/serve runs on every start."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from organizations import selectors
from organizations.models import Application, Organization, SecretToken

User = get_user_model()


def seed(*args: str) -> dict:
    out = io.StringIO()
    call_command("seed_demo", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_it_creates_the_demo_account_once_and_prints_its_secrets(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    data = seed()

    user = User.objects.get(email="demo@example.org")
    assert data["password"] and user.check_password(data["password"])
    app = Application.objects.get(app_key=data["app_key"])
    assert app.name == "Demo Chat"
    assert app.organization.name == "Demo"
    assert app.organization.slug == data["organization"]
    assert app.app_id == data["app_id"]
    assert selectors.application_secret(app) == data["app_secret"]
    assert selectors.secret_token_authenticate(data["token"]).organization == app.organization
    assert data["dashboard_url"] == "http://127.0.0.1:8000/"
    assert data["demo_url"] == "http://127.0.0.1:8000/demo/"


@pytest.mark.django_db
def test_it_is_idempotent_but_issues_a_fresh_token_each_run():
    first = seed()
    second = seed()

    assert User.objects.filter(email="demo@example.org").count() == 1
    assert Organization.objects.filter(name="Demo").count() == 1
    assert Application.objects.filter(name="Demo Chat").count() == 1
    assert (second["organization"], second["app_key"]) == (first["organization"], first["app_key"])
    assert second["token"] != first["token"]
    # One live seed_demo token at a time: the run revokes the one before it.
    assert SecretToken.objects.filter(organization__name="Demo").count() == 2
    assert selectors.secret_token_authenticate(first["token"]) is None
    assert selectors.secret_token_authenticate(second["token"]) is not None
    third = seed()
    live = SecretToken.objects.filter(organization__name="Demo", revoked__isnull=True)
    assert [t.prefix for t in live] == [third["token"][: len(live[0].prefix)]]
    # Secrets shown at creation are not repeated, and the password is left alone.
    assert second["app_secret"] is None
    assert second["password"] is None
    assert User.objects.get(email="demo@example.org").check_password(first["password"])


@pytest.mark.django_db
def test_it_sets_the_password_when_asked_even_for_an_existing_user():
    seed()
    data = seed("--password", "lantern-meadow-58")

    assert data["password"] == "lantern-meadow-58"
    assert User.objects.get(email="demo@example.org").check_password("lantern-meadow-58")


@pytest.mark.django_db
def test_it_prints_urls_for_the_given_base_url():
    data = seed("--base-url", "http://127.0.0.1:9000/")

    assert data["dashboard_url"] == "http://127.0.0.1:9000/"
    assert data["demo_url"] == "http://127.0.0.1:9000/demo/"


@pytest.mark.django_db
def test_it_prints_a_readable_summary_saying_the_secret_was_shown_at_creation(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    seed()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()

    assert "demo@example.org" in text
    assert "http://127.0.0.1:8000/demo/" in text
    assert "shown when the application was created" in text
    assert "unchanged" in text
    app = Application.objects.get(name="Demo Chat")
    assert app.app_key in text
    assert selectors.application_secret(app) not in text
