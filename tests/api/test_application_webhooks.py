"""PATCH .../applications/{app}: the webhook settings (URLs, event kinds, on/off)."""

import pytest

from organizations.models import Application
from realtime.applications import app_snapshot
from tests.api.helpers import assert_error


def _url(org, app) -> str:
    return f"/api/organizations/{org}/applications/{app}"


def test_the_webhook_settings_are_changed_and_reported(client_for, alice_org, alice_app):
    assert alice_app.webhooks_enabled and "subscription_count" not in alice_app.webhook_events
    body = {
        "webhook_url": "https://hooks.example.com/a",
        "webhook_extra_urls": ["http://backup.example.com/b"],
        "webhook_events": ["channel_occupied", "subscription_count"],
        "webhooks_enabled": False,
    }
    response = client_for("alice_secret").patch(
        _url(alice_org.slug, alice_app.app_key), body, format="json"
    )
    assert response.status_code == 200, response.content
    for field, value in body.items():
        assert response.json()[field] == value
    app = Application.objects.get(pk=alice_app.pk)
    assert app.webhook_urls == ["https://hooks.example.com/a", "http://backup.example.com/b"]
    assert not app.webhooks_enabled


def test_the_snapshot_carries_the_urls_only_while_webhooks_are_on(alice_app):
    alice_app.webhook_url = "https://hooks.example.com/a"
    alice_app.webhook_events = ["member_added"]
    alice_app.save()
    snapshot = app_snapshot(alice_app.app_key)
    assert snapshot.webhook_urls == ("https://hooks.example.com/a",)
    assert snapshot.wants_webhook("member_added")
    assert not snapshot.wants_webhook("channel_occupied")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("webhook_url", "ftp://hooks.example.com/a"),
        ("webhook_url", "javascript:alert(1)"),
        ("webhook_extra_urls", ["https://a.example/"] * 5),
        ("webhook_extra_urls", ["file:///etc/passwd"]),
        ("webhook_extra_urls", "https://a.example/"),
        ("webhook_events", ["channel_burned"]),
        ("webhooks_enabled", "perhaps"),
    ],
)
def test_bad_webhook_settings_are_refused_with_400(client_for, alice_org, alice_app, field, value):
    url = _url(alice_org.slug, alice_app.app_key)
    response = client_for("alice_secret").patch(url, {field: value}, format="json")
    assert field in assert_error(response, 400, "invalid")["fields"]
