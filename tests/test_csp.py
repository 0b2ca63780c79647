"""Every HTML page carries the Content-Security-Policy of expusher.csp; other responses do
not need one. (tests/browser/ checks that the pages still work under it in Chromium.)"""

import pytest
from django.test import Client

from expusher.csp import BROWSABLE_API_POLICY, POLICY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/signup/", "/accounts/login/", "/accounts/password_reset/", "/demo/", "/nope"]
)
def test_html_pages_send_the_strict_policy(client, path):
    response = client.get(path)
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == POLICY
    assert "'unsafe-inline'" not in POLICY and "'unsafe-eval'" not in POLICY
    assert "script-src 'self';" in POLICY and "default-src 'self'" in POLICY


def test_dashboard_pages_send_it_too(alice, alice_org, alice_app):
    client = Client()
    client.force_login(alice)
    app_page = f"/orgs/{alice_org.slug}/apps/{alice_app.app_key}/"
    for path in ("/dashboard/", f"/orgs/{alice_org.slug}/", app_page, "/api/docs/", "/admin/"):
        response = client.get(path, follow=True)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path


def test_json_and_assets_go_without(client, alice_token_and_secret):
    for response in (
        client.post("/api/sessions", {"token": alice_token_and_secret[1]}),
        client.get("/healthz"),
        client.get("/js/pusher.js"),
        client.get("/api/docs/?script="),
    ):
        assert "Content-Security-Policy" not in response, response["Content-Type"]


def test_drfs_browsable_api_may_use_inline_styles_but_not_scripts(alice, alice_org):
    client = Client()
    client.force_login(alice)
    response = client.get("/api/organizations", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == BROWSABLE_API_POLICY
    assert "script-src 'self';" in BROWSABLE_API_POLICY
