"""Every management endpoint against every kind of caller.

Alice's secret token and Alice (admin) may do everything in Alice Corp; Bob (member) may
read it but not change it; Charlie, an outsider with a token and a session of his own,
finds nothing there (404, so he cannot tell what exists); nobody gets 401; and a realtime
JWT is not a management credential (401).
"""

import pytest

from tests.api.conftest import CALLERS
from tests.api.helpers import assert_error

ORG = "/api/organizations/{org}"
APP = ORG + "/applications/{app}"
TOKEN = ORG + "/tokens/{token}"

# (name, method, url, body, kind)
ENDPOINTS = [
    ("list_organizations", "get", "/api/organizations", None, "list"),
    ("create_organization", "post", "/api/organizations", {"name": "New Org"}, "create_org"),
    ("get_organization", "get", ORG, None, "read"),
    ("update_organization", "patch", ORG, {"name": "Renamed"}, "write"),
    ("archive_organization", "delete", ORG, None, "write"),
    ("list_applications", "get", ORG + "/applications", None, "read"),
    ("create_application", "post", ORG + "/applications", {"name": "New App"}, "create"),
    ("get_application", "get", APP, None, "read"),
    ("update_application", "patch", APP, {"client_publishing": False}, "write"),
    ("archive_application", "delete", APP, None, "write"),
    ("list_tokens", "get", ORG + "/tokens", None, "read"),
    ("create_token", "post", ORG + "/tokens", {"label": "deploy"}, "create"),
    ("get_token", "get", TOKEN, None, "read"),
    ("revoke_token", "delete", TOKEN, None, "write"),
]

OK, CREATED, FORBIDDEN, NOT_FOUND, UNAUTHENTICATED = 200, 201, 403, 404, 401

EXPECTED = {
    "list": dict.fromkeys(CALLERS, OK) | {"anonymous": 401, "alice_jwt": 401},
    "create_org": {
        "alice_secret": FORBIDDEN,
        "alice_session": CREATED,
        "bob_session": CREATED,
        "charlie_secret": FORBIDDEN,
        "charlie_session": CREATED,
        "anonymous": UNAUTHENTICATED,
        "alice_jwt": UNAUTHENTICATED,
    },
    "read": {
        "alice_secret": OK,
        "alice_session": OK,
        "bob_session": OK,
        "charlie_secret": NOT_FOUND,
        "charlie_session": NOT_FOUND,
        "anonymous": UNAUTHENTICATED,
        "alice_jwt": UNAUTHENTICATED,
    },
}
EXPECTED["write"] = EXPECTED["read"] | {"bob_session": FORBIDDEN}
EXPECTED["create"] = EXPECTED["write"] | {"alice_secret": CREATED, "alice_session": CREATED}

MATRIX = [
    pytest.param(method, url, body, caller, EXPECTED[kind][caller], id=f"{name}-{caller}")
    for name, method, url, body, kind in ENDPOINTS
    for caller in CALLERS
]


@pytest.mark.parametrize(("method", "url", "body", "caller", "expected"), MATRIX)
def test_it_answers_each_caller_as_expected(
    client_for, alice_org, alice_app, alice_token_and_secret, method, url, body, caller, expected
):
    token, _ = alice_token_and_secret
    url = url.format(org=alice_org.slug, app=alice_app.app_key, token=token.pk)
    client = client_for(caller)
    response = getattr(client, method)(url, body, format="json")
    if expected < 400:
        assert response.status_code == expected, response.content
    else:
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}[expected]
        assert_error(response, expected, code)


@pytest.mark.parametrize(
    "url", [ORG, ORG + "/applications", APP, ORG + "/tokens", TOKEN], ids=lambda u: u[18:]
)
def test_it_hides_alices_objects_from_charlie_by_id_too(
    client_for, alice_org, alice_app, alice_token_and_secret, url
):
    token, _ = alice_token_and_secret
    url = url.format(org=alice_org.pk, app=alice_app.app_id, token=token.pk)
    for caller in ("charlie_secret", "charlie_session"):
        assert_error(client_for(caller).get(url), 404, "not_found")


def test_it_does_not_reach_charlies_objects_through_alices_organization(
    client_for, alice_org, charlie_org, charlie_app
):
    charlie_token = charlie_org.secret_tokens.get()
    client = client_for("alice_secret")
    base = f"/api/organizations/{alice_org.slug}"
    assert_error(client.get(f"{base}/applications/{charlie_app.app_key}"), 404)
    assert_error(client.get(f"{base}/applications/{charlie_app.app_id}"), 404)
    assert_error(client.delete(f"{base}/tokens/{charlie_token.pk}"), 404)
    charlie_token.refresh_from_db()
    assert charlie_token.revoked is None


@pytest.mark.parametrize("ident", ["nope", "0", "99999999999999999999999", "²", "-1"])
def test_it_answers_404_for_unknown_identifiers(client_for, alice_org, ident):
    client = client_for("alice_session")
    assert_error(client.get(f"/api/organizations/{ident}"), 404, "not_found")
    base = f"/api/organizations/{alice_org.slug}"
    assert_error(client.get(f"{base}/applications/{ident}"), 404, "not_found")
    assert_error(client.get(f"{base}/tokens/{ident}"), 404, "not_found")


def test_it_rejects_an_invalid_secret_token_with_401(api, alice_org):
    api.credentials(HTTP_AUTHORIZATION="Bearer exps_not-a-real-token")
    assert_error(api.get("/api/organizations"), 401, "authentication_failed")


def test_a_jwt_cannot_manage_even_with_a_session(client_for, alice, alice_org, alice_jwt):
    # The JWT is ignored rather than trusted: the caller is whoever the session says.
    client = client_for("bob_session")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice_jwt}")
    r = client.patch(f"/api/organizations/{alice_org.slug}", {"name": "x"}, format="json")
    assert_error(r, 403, "permission_denied")


def test_it_answers_head_like_get(client_for, alice_org):
    response = client_for("alice_secret").head(f"/api/organizations/{alice_org.slug}")
    assert response.status_code == 200


def test_it_answers_405_with_allow_for_other_methods(client_for, alice_org):
    response = client_for("alice_secret").put(
        f"/api/organizations/{alice_org.slug}", {"name": "x"}, format="json"
    )
    assert_error(response, 405, "method_not_allowed")
    assert {"GET", "PATCH", "DELETE"} <= {m.strip() for m in response["Allow"].split(",")}
    alice_org.refresh_from_db()
    assert alice_org.name == "Alice Corp"
