"""The bootstrap_org operator command: user + organization + new secret token (+ app)."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from organizations import selectors
from organizations.models import Application, Membership, Organization

User = get_user_model()


def bootstrap(*args: str) -> dict:
    out = io.StringIO()
    call_command("bootstrap_org", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_it_creates_user_organization_token_and_app():
    data = bootstrap("--name", "Acme", "--email", "Ops@Acme.test", "--app", "Acme Chat")

    assert set(data) == {"organization", "token", "app_key", "app_id", "app_secret"}
    user = User.objects.get(email="ops@acme.test")
    assert not user.has_usable_password()
    organization = Organization.objects.get(slug=data["organization"])
    assert organization.name == "Acme"
    membership = Membership.objects.get(user=user, organization=organization)
    assert membership.role == Membership.Role.ADMIN

    token = selectors.secret_token_authenticate(data["token"])
    assert token is not None and token.organization == organization

    app = Application.objects.get(app_key=data["app_key"])
    assert app.organization == organization
    assert app.name == "Acme Chat"
    assert app.app_id == data["app_id"]
    assert selectors.application_secret(app) == data["app_secret"]


@pytest.mark.django_db
def test_it_prints_only_organization_and_token_without_app():
    data = bootstrap("--name", "Acme", "--email", "ops@acme.test")

    assert set(data) == {"organization", "token"}
    assert Application.objects.count() == 0


@pytest.mark.django_db
def test_it_reuses_user_and_organization_and_issues_a_new_token_each_run():
    first = bootstrap("--name", "Acme", "--email", "ops@acme.test", "--app", "One")
    second = bootstrap("--name", "Acme", "--email", "OPS@acme.test", "--app", "Two")

    assert first["organization"] == second["organization"]
    assert User.objects.count() == 1
    assert Organization.objects.count() == 1
    assert first["token"] != second["token"]
    # Both tokens stay valid: a rerun must not break what the first run handed out.
    assert selectors.secret_token_authenticate(first["token"]) is not None
    assert selectors.secret_token_authenticate(second["token"]) is not None
    # --app always creates a new application.
    assert first["app_key"] != second["app_key"]
    assert Application.objects.filter(organization__slug=first["organization"]).count() == 2


@pytest.mark.django_db
def test_it_does_not_reuse_an_organization_the_user_does_not_administer(alice, alice_org):
    # Alice Corp exists, administered by Alice; Bob asks for an org with the same name.
    data = bootstrap("--name", "Alice Corp", "--email", "bob@example.org")

    assert data["organization"] != alice_org.slug
    assert Organization.objects.filter(name="Alice Corp").count() == 2
    bob_org = Organization.objects.get(slug=data["organization"])
    assert list(bob_org.memberships.values_list("user__email", flat=True)) == ["bob@example.org"]


@pytest.mark.django_db
def test_it_reuses_an_existing_user_found_by_email(alice, alice_org):
    data = bootstrap("--name", "Alice Corp", "--email", "alice@example.org")

    assert data["organization"] == alice_org.slug
    assert User.objects.filter(email="alice@example.org").count() == 1


@pytest.mark.django_db
def test_it_sets_the_password():
    bootstrap("--name", "Acme", "--email", "ops@acme.test", "--password", "tulip-harbor-93!")

    assert User.objects.get(email="ops@acme.test").check_password("tulip-harbor-93!")


@pytest.mark.django_db
def test_it_prints_a_readable_summary():
    out = io.StringIO()
    call_command(
        "bootstrap_org", "--name", "Acme", "--email", "ops@acme.test", "--app", "Chat", stdout=out
    )
    text = out.getvalue()

    app = Application.objects.get()
    assert "ops@acme.test (created)" in text
    assert "Acme [acme] (created)" in text
    assert app.app_key in text
    assert selectors.application_secret(app) in text
    token_line = next(line for line in text.splitlines() if line.startswith("Secret token:"))
    assert selectors.secret_token_authenticate(token_line.split()[-1]) is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "ops@acme.test"], "--name"),
        (["--name", "Acme"], "--email"),
        (["--name", "Acme", "--email", "not-an-email"], "email"),
        (["--name", "  ", "--email", "ops@acme.test"], "name"),
        (["--name", "Acme", "--email", "ops@acme.test", "--password", "123"], "password"),
    ],
)
def test_it_rejects_bad_arguments_and_creates_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("bootstrap_org", *args, "--json", stdout=io.StringIO())

    assert User.objects.count() == 0
    assert Organization.objects.count() == 0
