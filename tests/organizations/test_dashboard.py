from django.urls import reverse

from organizations.models import Membership, Organization


def test_it_lists_only_my_active_organizations(alice_client, alice, alice_org, charlie_org):
    archived = Organization.objects.create(name="Old Corp", slug="old-corp", archived=True)
    Membership.objects.create(user=alice, organization=archived, role="admin")

    page = alice_client.get(reverse("dashboard")).content.decode()

    assert "Alice Corp" in page
    assert "Charlie Inc" not in page
    assert "Old Corp" not in page


def test_it_creates_another_organization(alice_client, alice):
    response = alice_client.post(reverse("organization_create"), {"name": "Side Project"})

    organization = Organization.objects.get(name="Side Project")
    assert response.status_code == 302
    assert response.url == reverse("organization_detail", args=[organization.slug])
    assert Membership.objects.get(user=alice, organization=organization).role == "admin"


def test_it_requires_an_organization_name(alice_client):
    response = alice_client.post(reverse("organization_create"), {"name": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]


def test_it_renames_an_organization(alice_client, alice_org):
    url = reverse("organization_update", args=[alice_org.slug])

    assert alice_client.post(url, {"name": "Alice Holdings"}).status_code == 302

    alice_org.refresh_from_db()
    assert alice_org.name == "Alice Holdings"


def test_it_requires_login(client, db):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=" + reverse("dashboard")
