"""The dashboard in Chromium, against a real server with the demo account: copy buttons,
rotating an application's secret (checked with the official PyPI `pusher` library), restoring
an archived application, and an invited member who is pending until they sign in."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pusher
import pytest
from pusher.errors import PusherBadAuth

from tests.browser.conftest import PASSWORD
from tests.support import live

pytestmark = pytest.mark.browser

WAIT_MS = 15_000  # how long Playwright waits for an element state (a wait, not an assertion)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A live server with the demo account; its e-mails land in files under mail/."""
    directory = tmp_path_factory.mktemp("credentials-ui")
    server_env = live.ServerEnv.create(directory, EMAIL_URL=f"filemail:///{directory / 'mail'}")
    live.migrate(server_env)
    seeded = json.loads(live.manage(server_env, "seed_demo", "--json", "--password", PASSWORD))
    with live.LiveServer(server_env) as running:
        running.seeded = seeded
        running.mail = directory / "mail"
        yield running


@pytest.fixture
def page(server, browser):
    context = browser.new_context(
        base_url=server.url, permissions=["clipboard-read", "clipboard-write"]
    )
    yield context.new_page()
    context.close()


def _log_in(page, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible(timeout=WAIT_MS)


def _app_path(server) -> str:
    return f"/orgs/{server.seeded['organization']}/apps/{server.seeded['app_key']}/"


def _pusher(server, secret: str) -> pusher.Pusher:
    return pusher.Pusher(
        app_id=str(server.seeded["app_id"]),
        key=server.seeded["app_key"],
        secret=secret,
        host="127.0.0.1",
        port=server.port,
        ssl=False,
    )


def test_every_snippet_has_a_copy_button_that_copies_it_exactly(server, page):
    _log_in(page, server.seeded["email"], PASSWORD)
    page.goto(_app_path(server))
    # The getting-started guide keeps each stack's snippets in a <details>: open them all.
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    blocks = page.locator("pre > code")
    assert blocks.count() >= 10

    for i in range(blocks.count()):
        code = blocks.nth(i)
        button = page.locator(f'[data-copy="#{code.get_attribute("id")}"]')
        assert button.count() == 1, code.get_attribute("id")
        button.click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == code.text_content().strip(), code.get_attribute("id")
        assert button.text_content() == "Copied"


def test_a_rotated_secret_signs_at_once_and_the_old_one_stops_after_the_grace(server, page):
    from playwright.sync_api import expect

    old = server.seeded["app_secret"]
    _pusher(server, old).trigger("orders", "e", {})  # works before the rotation
    _log_in(page, server.seeded["email"], PASSWORD)
    page.goto(_app_path(server))
    page.get_by_role("link", name="Rotate secret").click()
    expect(page.get_by_role("link", name="Cancel")).to_be_visible()
    page.fill("#id_grace_seconds", "3")
    page.get_by_role("button", name="Rotate secret").click()

    new = page.locator("#app-secret").text_content().strip()
    rotated_at = time.monotonic()
    assert new and new != old
    assert "keeps working until" in page.locator("#rotation-note").text_content()
    assert new in page.locator("#snippet-python").text_content()
    _pusher(server, new).trigger("orders", "e", {})
    _pusher(server, old).trigger("orders", "e", {})  # still in its grace period
    page.goto(_app_path(server))
    expect(page.locator("#previous-secret-note")).to_be_visible()
    assert new not in page.content()  # shown once

    time.sleep(max(0.0, 3.2 - (time.monotonic() - rotated_at)))
    with pytest.raises(PusherBadAuth):
        _pusher(server, old).trigger("orders", "e", {})
    _pusher(server, new).trigger("orders", "e", {})
    server.seeded["app_secret"] = new  # for the tests below


def test_a_secret_rotated_through_the_rest_api_works_with_the_pusher_library(server):
    url = (
        f"{server.url}/api/organizations/{server.seeded['organization']}"
        f"/applications/{server.seeded['app_key']}/secret"
    )
    request = urllib.request.Request(
        url,
        data=b"{}",
        method="POST",
        headers={
            "Authorization": f"Bearer {server.seeded['token']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        new = json.loads(response.read())["app_secret"]

    _pusher(server, new).trigger("orders", "e", {})
    with pytest.raises(PusherBadAuth):
        _pusher(server, server.seeded["app_secret"]).trigger("orders", "e", {})
    server.seeded["app_secret"] = new


def test_an_admin_restores_an_archived_application(server, page):
    from playwright.sync_api import expect

    _log_in(page, server.seeded["email"], PASSWORD)
    page.goto(_app_path(server))
    page.get_by_role("link", name="Archive").click()
    page.fill("#id_confirm_name", "Demo Chat")
    page.get_by_role("button", name="Archive Demo Chat").click()
    expect(page.locator(".message.success")).to_contain_text("Archived")
    with pytest.raises(pusher.errors.PusherForbidden):
        _pusher(server, server.seeded["app_secret"]).trigger("orders", "e", {})

    page.goto(_app_path(server))
    page.get_by_role("link", name="Restore").click()
    page.get_by_role("button", name="Restore Demo Chat").click()

    expect(page.locator(".message.success")).to_contain_text("Restored")
    expect(page.locator("h1")).to_have_text("Demo Chat")
    _pusher(server, server.seeded["app_secret"]).trigger("orders", "e", {})


def _invitation_link(mail_dir, email: str) -> str:
    for path in sorted(mail_dir.glob("*.log")):
        text = path.read_text()
        if f"To: {email}" in text:
            return re.search(r"http://\S+/accounts/reset/\S+", text).group(0)
    raise AssertionError(f"no mail to {email} in {mail_dir}")


def test_an_invited_member_is_pending_until_they_sign_in(server, page, browser):
    from playwright.sync_api import expect

    _log_in(page, server.seeded["email"], PASSWORD)
    organization = f"/orgs/{server.seeded['organization']}/"
    page.goto(organization + "members/add/")
    page.fill("#id_email", "erin@example.org")
    page.get_by_role("button", name="Add").click()
    row = page.locator("#members tr", has_text="erin@example.org")
    expect(row.locator("[data-testid=pending]")).to_be_visible()

    # Erin follows the link in her invitation (it names this server), chooses a password
    # and signs in, in a browser of her own.
    link = _invitation_link(server.mail, "erin@example.org")
    assert link.startswith(server.url + "/")
    erin = browser.new_context(base_url=server.url).new_page()
    erin.goto(link)
    erin.fill("#id_new_password1", "erin's own passphrase")
    erin.fill("#id_new_password2", "erin's own passphrase")
    erin.locator("main button[type=submit]").click()
    _log_in(erin, "erin@example.org", "erin's own passphrase")
    erin.context.close()

    page.goto(organization)
    expect(row).to_be_visible()
    assert row.locator("[data-testid=pending]").count() == 0
