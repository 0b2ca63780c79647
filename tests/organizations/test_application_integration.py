"""An application's page: its Pusher credentials and copy-paste snippets with real values.

The snippets are read back out of the page as a reader copies them (see snippets.py);
tests/browser/test_app_snippets.py runs them against a live server.
"""

import pytest
from django.test import Client
from django.urls import reverse

from organizations.models import Application
from organizations.selectors import application_secret
from tests.organizations.snippets import page_snippets, page_value

PLACEHOLDER = "YOUR_APP_SECRET"

# The snippets that hold the app secret (a placeholder unless the page creates the app).
SECRET_SNIPPETS = ["laravel-env", "python", "node", "php", "ruby"]
ALL_SNIPPETS = {
    "pusher-js",
    "echo",
    "laravel-env",
    "python",
    "node",
    "php",
    "ruby",
    "phoenix-jwt",
    "phoenix-trigger",
    "phoenix-browser",
}

TLS = {"site_url": "https://push.example.com", "host": "push.example.com", "port": 443}
PLAIN = {"site_url": "http://127.0.0.1:8000", "host": "127.0.0.1", "port": 8000}


def _reached_at(site: dict, settings) -> dict:
    """Test client arguments for a request that reached the server at site["site_url"]:
    every URL on the page is the one the reader used (organizations.site)."""
    tls = site["site_url"].startswith("https")
    netloc = site["site_url"].split("://", 1)[1]
    settings.ALLOWED_HOSTS = [site["host"]]
    settings.SITE_URL = "http://elsewhere.example"  # the request wins over SITE_URL
    return {"HTTP_HOST": netloc, "secure": tls}


def _detail_url(organization, application) -> str:
    return reverse(
        "application_detail", kwargs={"org": organization.slug, "app_key": application.app_key}
    )


def _expected(application, *, host, port, tls, secret) -> dict[str, list[str]]:
    """Lines each snippet must hold, exactly as a reader copies them."""
    key, app_id = application.app_key, application.app_id
    js_true, py_true = ("true", "True") if tls else ("false", "False")
    scheme = "https" if tls else "http"
    browser = [
        f'  key: "{key}",',
        '  cluster: "mt1", // required by pusher-js 8, unused here: wsHost decides',
        f'  wsHost: "{host}",',
        f"  wsPort: {port},",
        f"  wssPort: {port},",
        f"  forceTLS: {js_true},",
        '  enabledTransports: ["ws", "wss"],',
        "  disableStats: true,",
    ]
    return {
        "pusher-js": [
            f'  const pusher = new Pusher("{key}", {{',
            *("  " + line for line in browser[1:]),
            '    channelAuthorization: { endpoint: "/pusher/auth" },',
        ],
        "echo": [
            "window.Pusher = Pusher;",
            '  broadcaster: "pusher",',
            *browser,
        ],
        "laravel-env": [
            f"PUSHER_APP_ID={app_id}",
            f"PUSHER_APP_KEY={key}",
            f"PUSHER_APP_SECRET={secret}",
            f"PUSHER_HOST={host}",
            f"PUSHER_PORT={port}",
            f"PUSHER_SCHEME={scheme}",
            "PUSHER_APP_CLUSTER=mt1",
        ],
        "python": [
            "pusher_client = pusher.Pusher(",
            f'    app_id="{app_id}",',
            f'    key="{key}",',
            f'    secret="{secret}",',
            f'    host="{host}",',
            f"    port={port},",
            f"    ssl={py_true},",
            'pusher_client.trigger("my-channel", "my-event", {"message": "hello world"})',
            "    return pusher_client.authenticate(channel=channel_name, socket_id=socket_id)",
        ],
        "node": [
            "const pusher = new Pusher({",
            f'  appId: "{app_id}",',
            f'  key: "{key}",',
            f'  secret: "{secret}",',
            f'  host: "{host}",',
            f'  port: "{port}",',
            f"  useTLS: {js_true},",
            '  .trigger("my-channel", "my-event", { message: "hello world" })',
            "  return pusher.authorizeChannel(socketId, channelName);",
        ],
        "php": [
            "$pusher = new Pusher\\Pusher(",
            f"    '{key}',",
            f"    '{secret}',",
            f"    '{app_id}',",
            f"        'host' => '{host}',",
            f"        'port' => {port},",
            f"        'scheme' => '{scheme}',",
            f"        'useTLS' => {js_true},",
            "$pusher->trigger('my-channel', 'my-event', ['message' => 'hello world']);",
        ],
        "ruby": [
            "pusher = Pusher::Client.new(",
            f'  app_id: "{app_id}",',
            f'  key: "{key}",',
            f'  secret: "{secret}",',
            f'  host: "{host}",',
            f"  port: {port},",
            f"  use_tls: {js_true}",
            'pusher.trigger("my-channel", "my-event", { message: "hello world" })',
        ],
    }


def _assert_snippets(page: str, application, *, host, port, tls, secret) -> dict[str, str]:
    snippets = page_snippets(page)
    # The getting-started guide's snippets (gs-*) have tests of their own.
    assert {name for name in snippets if not name.startswith("gs-")} == ALL_SNIPPETS
    expected = _expected(application, host=host, port=port, tls=tls, secret=secret)
    for name, lines in expected.items():
        text_lines = snippets[name].splitlines()
        for line in lines:
            assert line in text_lines, f"{name} snippet lacks {line!r}:\n{snippets[name]}"
    # As written, the Python snippet is valid Python (tests/browser runs it for real).
    compile(snippets["python"], "python snippet", "exec")
    return snippets


@pytest.mark.parametrize("site", [TLS, PLAIN], ids=["tls", "plain"])
def test_it_shows_members_the_pusher_credentials_and_snippets(
    bob_client, alice_org, alice_app_and_secret, settings, site
):
    application, secret = alice_app_and_secret
    tls = site["site_url"].startswith("https")

    response = bob_client.get(_detail_url(alice_org, application), **_reached_at(site, settings))

    assert response.status_code == 200
    page = response.content.decode()
    assert page_value(page, "app-id") == str(application.app_id)
    assert page_value(page, "app-key") == application.app_key
    assert page_value(page, "app-host") == site["host"]
    assert page_value(page, "app-port") == str(site["port"])
    assert page_value(page, "app-tls") == ("yes (https, wss)" if tls else "no (http, ws)")
    assert "it cannot be shown again" in page_value(page, "app-secret-note")
    snippets = _assert_snippets(
        page, application, host=site["host"], port=site["port"], tls=tls, secret=PLACEHOLDER
    )
    # The page says what the placeholder stands for; the secret itself is nowhere.
    assert f"show <code>{PLACEHOLDER}</code>" in page
    assert secret not in page
    # The Phoenix snippets stay.
    base = site["site_url"]
    assert f"{base}/api/sessions" in snippets["phoenix-jwt"]
    assert (
        f"{base}/api/organizations/{alice_org.slug}/applications/{application.app_key}"
        "/event/new_message?topic=chat-lobby" in snippets["phoenix-trigger"]
    )
    assert f'<script src="{base}/js/pusher.js"></script>' in snippets["phoenix-browser"]


def test_the_page_creating_the_application_fills_in_its_secret(alice_client, alice_org, settings):
    url = reverse("application_create", kwargs={"org": alice_org.slug})

    response = alice_client.post(url, {"name": "Scores"}, **_reached_at(PLAIN, settings))

    assert response.status_code == 200
    application = Application.objects.get(organization=alice_org, name="Scores")
    secret = application_secret(application)
    page = response.content.decode()
    assert page_value(page, "app-secret") == secret
    snippets = _assert_snippets(
        page, application, host=PLAIN["host"], port=PLAIN["port"], tls=False, secret=secret
    )
    assert PLACEHOLDER not in page
    for name in SECRET_SNIPPETS:
        assert secret in snippets[name], name
    # The browser snippets never hold the secret.
    for name in ("pusher-js", "echo", "phoenix-browser"):
        assert secret not in snippets[name], name


def test_snippets_escape_as_html_and_copy_as_text(bob_client, alice_org, alice_app):
    page = bob_client.get(_detail_url(alice_org, alice_app)).content.decode()

    # The markup inside a snippet is shown, not run, and copies back unchanged.
    assert '&lt;script src="https://js.pusher.com/8.4.0/pusher.min.js"&gt;' in page.replace(
        "&quot;", '"'
    )
    assert page_snippets(page)["pusher-js"].startswith(
        '<script src="https://js.pusher.com/8.4.0/pusher.min.js"></script>'
    )
    assert 'data-copy="#snippet-python"' in page


def test_outsiders_get_404_and_no_credentials(charlie_client, alice_org, alice_app):
    url = _detail_url(alice_org, alice_app)

    response = charlie_client.get(url)

    assert response.status_code == 404
    body = response.content.decode()
    assert alice_app.app_key not in body
    assert str(alice_app.app_id) not in body
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert alice_app.app_key not in anonymous.content.decode()
