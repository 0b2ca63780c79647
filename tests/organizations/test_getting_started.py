"""The application page's getting-started guide: per stack, Pusher and Phoenix client
code with the application's real key and this server's address, and no secret.

tests/browser/test_getting_started.py runs the snippets that can run here."""

import ast
import json

import pytest
from django.urls import reverse

from organizations.selectors import application_secret
from organizations.templatetags.getting_started import GUIDE
from tests.organizations.snippets import page_snippets

PARTS = [part for _, _, clients in GUIDE for _, parts in clients for part, _ in parts]
# Parts that only call code configured in another part of their stack.
NO_ADDRESS = {"laravel_pusher_server"}


@pytest.fixture
def guide(bob_client, alice_org, alice_app, settings):
    settings.ALLOWED_HOSTS = ["push.example.com"]
    settings.SITE_URL = "http://elsewhere.example"  # the request's host wins (organizations.site)
    url = reverse(
        "application_detail", kwargs={"org": alice_org.slug, "app_key": alice_app.app_key}
    )
    # A plain member sees it too.
    response = bob_client.get(url, HTTP_HOST="push.example.com", secure=True)
    assert response.status_code == 200
    page = response.content.decode()
    return page, {
        name[len("gs-") :]: text
        for name, text in page_snippets(page).items()
        if name.startswith("gs-")
    }


def test_every_stack_has_both_clients_with_the_real_key_and_host(guide, alice_app):
    page, snippets = guide
    assert set(snippets) == set(PARTS)
    for stack in ("html", "rails", "django", "laravel", "node"):
        assert f'id="getting-started-{stack}"' in page
        assert any(p.startswith(f"{stack}_pusher") for p in snippets)
        assert any(p.startswith(f"{stack}_phoenix") for p in snippets)
    for part, text in snippets.items():
        if part not in NO_ADDRESS:
            assert alice_app.app_key in text or "PUSHER_APP_KEY" in text, part
            assert "push.example.com" in text, part
        assert "127.0.0.1" not in text, part
        for unrendered in ("{{ application", "{{ endpoint", "{{ organization", "{% "):
            assert unrendered not in text, part


def test_no_secret_is_on_the_page(guide, alice_app):
    page, snippets = guide
    assert application_secret(alice_app) not in page
    assert "YOUR_APP_SECRET" in snippets["laravel_pusher_env"]


def test_the_python_and_json_parts_parse(guide):
    _, snippets = guide
    for part in ("django_pusher_server", "django_phoenix_server"):
        ast.parse(snippets[part])
    assert "wss://push.example.com/socket" in snippets["node_phoenix_browser"]
    assert "forceTLS: true" in snippets["html_pusher_page"]
    json.loads(snippets["html_pusher_send"].split("-d '", 1)[1].rstrip("'"))
