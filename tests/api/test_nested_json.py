"""JSON nested too deep to decode is a 400 with the API's error shape, never a 500."""

import pytest
from rest_framework.test import APIClient

DEEP = "[" * 100_000 + "]" * 100_000


def post(client: APIClient, path: str):
    return client.post(path, DEEP, content_type="application/json")


@pytest.mark.django_db
def test_sessions_refuse_deep_json_with_400():
    r = post(APIClient(), "/api/sessions")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_triggers_and_management_refuse_deep_json_with_400(alice_app, alice_secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice_secret}")
    org = alice_app.organization.slug
    for path in (
        f"/api/organizations/{org}/applications/{alice_app.app_key}/event/e",
        f"/api/organizations/{org}/applications/{alice_app.app_key}/events",
        f"/api/organizations/{org}/applications",
    ):
        r = post(client, path)
        assert r.status_code == 400, path
        assert r.json()["error"]["code"] == "parse_error"
