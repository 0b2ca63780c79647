"""Dashboard sessions carry cookies a browser sends on its own, so their writes need CSRF
tokens; secret tokens are sent deliberately in a header and need none."""

from rest_framework.test import APIClient

from organizations.models import Organization
from tests.api.helpers import assert_error
from tests.conftest import PASSWORD

CSRF = "a" * 32  # a well-formed CSRF secret, as the csrftoken cookie holds


def _session(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_session_writes_without_a_csrf_token_are_refused(alice, alice_org):
    client = _session(alice)
    url = f"/api/organizations/{alice_org.slug}"
    error = assert_error(client.patch(url, {"name": "Hijacked"}, format="json"), 403)
    assert "CSRF" in error["message"]
    assert_error(client.delete(url), 403)
    assert_error(client.post("/api/organizations", {"name": "X"}, format="json"), 403)
    alice_org.refresh_from_db()
    assert (alice_org.name, alice_org.archived) == ("Alice Corp", False)
    assert not Organization.objects.filter(name="X").exists()


def test_session_reads_need_no_csrf_token(alice, alice_org):
    assert _session(alice).get(f"/api/organizations/{alice_org.slug}").status_code == 200


def test_session_writes_with_a_csrf_token_are_accepted(alice, alice_org):
    client = _session(alice)
    client.cookies["csrftoken"] = CSRF
    response = client.patch(
        f"/api/organizations/{alice_org.slug}",
        {"name": "Alice Holdings"},
        format="json",
        HTTP_X_CSRFTOKEN=CSRF,
    )
    assert response.status_code == 200, response.content
    alice_org.refresh_from_db()
    assert alice_org.name == "Alice Holdings"


def test_secret_token_writes_need_no_csrf_token(alice_org, alice_secret):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice_secret}")
    response = client.post(
        f"/api/organizations/{alice_org.slug}/tokens", {"label": "ci"}, format="json"
    )
    assert response.status_code == 201, response.content
