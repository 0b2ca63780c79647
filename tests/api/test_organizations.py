from organizations import services
from organizations.models import Membership, Organization, SecretToken
from tests.api.helpers import assert_error

URL = "/api/organizations"


def _slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [org["slug"] for org in response.json()]


def test_it_lists_the_organizations_a_user_belongs_to(client_for, alice, alice_org, charlie_org):
    second = services.organization_create(name="Alice Labs", owner=alice)
    assert _slugs(client_for("alice_session").get(URL)) == [alice_org.slug, second.slug]
    assert _slugs(client_for("bob_session").get(URL)) == [alice_org.slug]
    assert _slugs(client_for("charlie_session").get(URL)) == [charlie_org.slug]


def test_a_secret_token_lists_only_its_own_organization(client_for, alice, alice_org):
    services.organization_create(name="Alice Labs", owner=alice)
    response = client_for("alice_secret").get(URL)
    assert response.json() == [
        {
            "id": alice_org.pk,
            "name": "Alice Corp",
            "slug": alice_org.slug,
            "created": alice_org.created.isoformat().replace("+00:00", "Z"),
            "archived": False,
        }
    ]


def test_it_creates_an_organization_with_the_user_as_admin(client_for, bob):
    response = client_for("bob_session").post(URL, {"name": "  Bob's Bakery "}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    organization = Organization.objects.get(pk=body["id"])
    assert (organization.name, organization.slug) == ("Bob's Bakery", "bobs-bakery")
    assert body["slug"] == "bobs-bakery"
    membership = Membership.objects.get(organization=organization)
    assert (membership.user, membership.role) == (bob, Membership.Role.ADMIN)


def test_a_secret_token_cannot_create_organizations(client_for, alice_org):
    before = Organization.objects.count()
    response = client_for("alice_secret").post(URL, {"name": "Sneaky"}, format="json")
    error = assert_error(response, 403, "permission_denied")
    assert "dashboard" in error["message"]
    assert Organization.objects.count() == before


def test_it_rejects_a_missing_or_blank_name_with_400(client_for):
    client = client_for("alice_session")
    for body in ({}, {"name": "   "}, {"name": "x" * 101}):
        error = assert_error(client.post(URL, body, format="json"), 400, "invalid")
        assert list(error["fields"]) == ["name"]


def test_it_finds_an_organization_by_slug_and_by_id(client_for, alice_org):
    client = client_for("bob_session")
    by_slug = client.get(f"{URL}/{alice_org.slug}")
    by_id = client.get(f"{URL}/{alice_org.pk}")
    assert by_slug.status_code == by_id.status_code == 200
    assert by_slug.json() == by_id.json()
    assert by_id.json()["slug"] == alice_org.slug


def test_it_renames_an_organization_keeping_its_slug(client_for, alice_org):
    response = client_for("alice_session").patch(
        f"{URL}/{alice_org.pk}", {"name": "Alice Holdings"}, format="json"
    )
    assert response.status_code == 200, response.content
    alice_org.refresh_from_db()
    assert (alice_org.name, alice_org.slug) == ("Alice Holdings", "alice-corp")
    assert response.json()["name"] == "Alice Holdings"


def test_it_rejects_a_blank_new_name(client_for, alice_org):
    response = client_for("alice_secret").patch(
        f"{URL}/{alice_org.slug}", {"name": ""}, format="json"
    )
    assert "name" in assert_error(response, 400, "invalid")["fields"]
    alice_org.refresh_from_db()
    assert alice_org.name == "Alice Corp"


def test_a_member_cannot_rename_or_archive(client_for, alice_org):
    client = client_for("bob_session")
    assert_error(client.patch(f"{URL}/{alice_org.slug}", {"name": "Bob's"}, format="json"), 403)
    assert_error(client.delete(f"{URL}/{alice_org.slug}"), 403)
    alice_org.refresh_from_db()
    assert (alice_org.name, alice_org.archived) == ("Alice Corp", False)


def test_it_archives_an_organization(client_for, alice_org, alice_app, alice_secret):
    alice = client_for("alice_session")
    response = alice.delete(f"{URL}/{alice_org.slug}")
    assert response.status_code == 200, response.content
    assert response.json()["archived"] is True
    alice_org.refresh_from_db()
    assert alice_org.archived
    # Archived, not deleted: the rows remain.
    assert alice_org.applications.filter(pk=alice_app.pk).exists()
    assert SecretToken.objects.filter(organization=alice_org).exists()
    # ...but the organization is gone from the API, and its tokens no longer work.
    assert _slugs(alice.get(URL)) == []
    assert_error(alice.get(f"{URL}/{alice_org.slug}"), 404, "not_found")
    assert_error(client_for("alice_secret").get(URL), 401, "authentication_failed")


def test_a_secret_token_may_archive_its_own_organization(client_for, alice_org):
    response = client_for("alice_secret").delete(f"{URL}/{alice_org.pk}")
    assert response.status_code == 200, response.content
    alice_org.refresh_from_db()
    assert alice_org.archived
