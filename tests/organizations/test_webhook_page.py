"""The application page's webhook panel: settings, last deliveries, "Send test webhook"."""

import pytest
from django.urls import reverse

from organizations import services
from organizations.webhook_log import webhook_delivery_record
from tests.support.webhook_receiver import WebhookReceiver, pusher_py_valid


def _page(client, app):
    kwargs = {"org": app.organization.slug, "app_key": app.app_key}
    url = reverse("application_detail", kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _test_url(app):
    return reverse(
        "application_webhook_test",
        kwargs={"org": app.organization.slug, "app_key": app.app_key},
    )


def test_the_page_shows_the_settings_and_the_last_deliveries(alice_client, alice_app):
    services.application_update(
        application=alice_app,
        webhook_url="https://hooks.example.com/a",
        webhook_extra_urls=["https://backup.example.com/b"],
        webhook_events=["member_added"],
    )
    webhook_delivery_record(
        alice_app.pk,
        {
            "at": 1764500000.0,
            "url": "https://hooks.example.com/a",
            "events": ["member_added", "member_added"],
            "status": 503,
            "attempts": 3,
            "error": "HTTP 503",
        },
        counted="failed",
    )
    page = _page(alice_client, alice_app)
    assert "https://backup.example.com/b" in page and "<code>member_added</code>" in page
    assert "0 sent, 1 failed attempts, 0 dropped" in page
    assert "2025-11-30 10:53:20" in page and "<td>503</td>" in page and "HTTP 503" in page
    assert "Send test webhook" in page


def test_members_see_the_panel_without_the_button_and_may_not_send(bob_client, alice_app):
    services.application_update(application=alice_app, webhook_url="https://hooks.example.com")
    page = _page(bob_client, alice_app)
    assert 'id="webhooks"' in page and "Send test webhook" not in page
    assert bob_client.post(_test_url(alice_app)).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_button_sends_a_signed_test_webhook_now_and_keeps_its_outcome(
    alice_client, alice_app_and_secret, settings
):
    settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = True
    app, secret = alice_app_and_secret
    with WebhookReceiver() as receiver:
        services.application_update(
            application=app, webhook_url=receiver.url, webhooks_enabled=False
        )
        response = alice_client.post(_test_url(app), follow=True)
        [request] = receiver.requests
    assert pusher_py_valid(app.app_id, app.app_key, secret, request)["events"] == [
        {"name": "channel_occupied", "channel": "expusher-webhook-test"},
        {"name": "channel_vacated", "channel": "expusher-webhook-test"},
    ]
    page = response.content.decode()
    assert f"Test webhook to {receiver.url}: HTTP 200." in page
    assert "1 sent, 0 failed attempts" in page


def test_a_refused_target_is_said_so(alice_client, alice_app, settings):
    settings.DEBUG, settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = False, False
    services.application_update(application=alice_app, webhook_url="http://127.0.0.1:9/x")
    page = alice_client.post(_test_url(alice_app), follow=True).content.decode()
    assert "failed: refused: 127.0.0.1 resolves to a private or reserved address" in page
