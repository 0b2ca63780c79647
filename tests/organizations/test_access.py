"""Who may reach every organization URL that names an object.

The routes are discovered from organizations.urls, so a new route is covered as soon as
it exists: the test fails until it has an entry in OWNER_POSTS below.
"""

import pytest
from django.test import Client
from django.urls import reverse

from organizations import services
from organizations import urls as organization_urls
from organizations.models import Application, Membership, SecretToken

# Token-protected account URLs, not objects of an organization.
NOT_ORGANIZATION_ROUTES = {"password_reset_confirm", "signup_confirm"}

ID_ROUTES = [
    route
    for route in organization_urls.urlpatterns
    if route.pattern.converters and route.name not in NOT_ORGANIZATION_ROUTES
]
ROUTE_NAMES = [route.name for route in ID_ROUTES]
# Routes naming an object of the organization besides the organization itself.
OBJECT_ROUTE_NAMES = [r.name for r in ID_ROUTES if set(r.pattern.converters) != {"org"}]

APPLICATION_SETTINGS = {
    "name": "Alice Chat v2",
    "allowed_origins": "https://alice.example",
    "anonymous_listen": "public:*",
    "anonymous_publish": "",
    "client_publishing": "on",
    "max_connections": "0",
    "max_presence_members": "100",
    "client_push_rate": "10",
    "webhook_url": "",
}

# A valid POST by an admin of the organization, and the status it answers.
# Read-only pages answer POST with 405.
OWNER_POSTS = {
    "organization_detail": ({}, 405),
    "organization_update": ({"name": "Alice Renamed"}, 302),
    "application_create": ({"name": "Another app"}, 200),
    "application_detail": ({}, 405),
    "application_update": (APPLICATION_SETTINGS, 302),
    "application_archive": ({"confirm_name": "Alice Chat"}, 302),
    "application_secret_rotate": ({"grace_seconds": "60"}, 200),
    # An application that is not archived: nothing changes.
    "application_unarchive": ({}, 302),
    "secret_token_create": ({"label": "deploy"}, 200),
    "secret_token_update": ({"label": "renamed", "description": "on the web servers"}, 302),
    "secret_token_revoke": ({}, 302),
    "member_add": ({"email": "dave@example.org", "role": "member"}, 302),
    "member_update": ({"role": "admin"}, 302),
    "member_remove": ({}, 302),
}


def test_every_route_has_an_owner_post():
    assert set(ROUTE_NAMES) == set(OWNER_POSTS)


def _url(route_name, *, organization, application, token, membership) -> str:
    route = next(r for r in ID_ROUTES if r.name == route_name)
    values = {
        "org": organization.slug,
        "app_key": application.app_key,
        "token_id": token.pk,
        "membership_id": membership.pk,
    }
    # A KeyError here means a new kind of URL argument: add its value above.
    return reverse(route_name, kwargs={name: values[name] for name in route.pattern.converters})


def _snapshot(organization) -> dict:
    """Everything a POST to an organization URL could change."""
    organization.refresh_from_db()
    return {
        "organization": (organization.name, organization.archived),
        "applications": sorted(
            Application.objects.filter(organization=organization).values_list(
                "app_key",
                "name",
                "archived",
                "allowed_origins",
                "anonymous_listen",
                "secret_encrypted",
            )
        ),
        "tokens": sorted(
            SecretToken.objects.filter(organization=organization).values_list(
                "pk", "revoked", "label", "description"
            )
        ),
        "memberships": sorted(
            Membership.objects.filter(organization=organization).values_list("user_id", "role")
        ),
    }


@pytest.fixture
def alice_objects(alice_org, alice_app, alice_token, bob_membership):
    return {
        "organization": alice_org,
        "application": alice_app,
        "token": alice_token,
        "membership": bob_membership,
    }


@pytest.fixture
def charlie_objects(charlie, charlie_org, charlie_app):
    token, _ = services.secret_token_create(organization=charlie_org, created_by=charlie)
    return {
        "organization": charlie_org,
        "application": charlie_app,
        "token": token,
        "membership": charlie_org.memberships.get(user=charlie),
    }


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_it_redirects_anonymous_visitors_to_login(client, alice_objects, route_name):
    url = _url(route_name, **alice_objects)
    before = _snapshot(alice_objects["organization"])

    for method in (client.get, client.post):
        response = method(url, OWNER_POSTS[route_name][0])
        assert response.status_code == 302, (method, url)
        assert response.url.startswith(reverse("login") + "?next=")

    assert _snapshot(alice_objects["organization"]) == before


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_it_answers_404_to_outsiders(charlie_client, alice_objects, route_name):
    url = _url(route_name, **alice_objects)
    before = _snapshot(alice_objects["organization"])

    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url, OWNER_POSTS[route_name][0]).status_code == 404

    assert _snapshot(alice_objects["organization"]) == before


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_it_lets_members_read_but_not_change(bob_client, alice_objects, route_name):
    url = _url(route_name, **alice_objects)
    before = _snapshot(alice_objects["organization"])

    assert bob_client.get(url).status_code == 200
    assert bob_client.post(url, OWNER_POSTS[route_name][0]).status_code == 403

    assert _snapshot(alice_objects["organization"]) == before


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_it_lets_the_owner_read_and_change(alice_client, alice_objects, route_name):
    url = _url(route_name, **alice_objects)
    data, expected_status = OWNER_POSTS[route_name]

    assert alice_client.get(url).status_code == 200
    response = alice_client.post(url, data)
    assert response.status_code == expected_status, response.content.decode()[:2000]
    if expected_status == 200:  # a "created" page, not the form again with errors
        assert "form" not in response.context
        # It shows a secret once: no browser or proxy may keep a copy.
        assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("route_name", OBJECT_ROUTE_NAMES)
def test_it_hides_other_organizations_objects_behind_your_own_url(
    alice_client, alice_objects, charlie_objects, route_name
):
    """Alice's organization slug with Charlie's application, token or membership ids."""
    mixed = {**charlie_objects, "organization": alice_objects["organization"]}
    url = _url(route_name, **mixed)
    before = _snapshot(charlie_objects["organization"])

    assert alice_client.get(url).status_code == 404
    # Read-only pages refuse every POST with 405, whether the object exists or not.
    post_status = 405 if OWNER_POSTS[route_name][1] == 405 else 404
    assert alice_client.post(url, OWNER_POSTS[route_name][0]).status_code == post_status

    assert _snapshot(charlie_objects["organization"]) == before


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_it_answers_404_for_an_archived_organization(alice_client, alice_objects, route_name):
    organization = alice_objects["organization"]
    organization.archived = True
    organization.save()
    url = _url(route_name, **alice_objects)

    assert alice_client.get(url).status_code == 404
    assert alice_client.post(url, OWNER_POSTS[route_name][0]).status_code == 404


def test_it_answers_404_for_an_unknown_organization(alice_client):
    assert alice_client.get(reverse("organization_detail", args=["nope"])).status_code == 404


def test_it_rejects_other_methods(alice_client, alice_objects):
    url = _url("application_update", **alice_objects)

    assert alice_client.delete(url).status_code == 405
    assert alice_client.put(url).status_code == 405
    assert Client().delete(url).status_code == 302
