"""A new customer signs up in a real browser and ends up with working credentials."""

import base64
import json
import re
import urllib.request
from pathlib import Path

import pytest


def _create_session(base_url: str, token: str, app_key: str) -> tuple[int, dict]:
    body = json.dumps({"token": token, "apps": [app_key]}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/sessions",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def _jwt_claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _signup_link(mailbox: Path, address: str) -> str:
    for mail in sorted(mailbox.glob("*.log")):
        text = mail.read_text()
        if f"To: {address}" in text:
            return re.search(r"http://\S+/signup/confirm/\S+/", text).group(0)
    raise AssertionError(f"no sign-up message to {address} in {mailbox}")


@pytest.fixture
def page(browser, daphne_server):
    return browser.new_page(base_url=daphne_server)


@pytest.mark.browser
def test_it_signs_up_and_gets_working_credentials(page, daphne_server, daphne_mailbox):
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("#id_email", "erin@example.org")
    page.fill("#id_password1", "erin's long passphrase")
    page.fill("#id_password2", "erin's long passphrase")
    page.fill("#id_organization_name", "Erin Studio")
    page.get_by_role("button", name="Create my account").click()
    page.get_by_text("Check your e-mail").first.wait_for()
    # The account exists once the link in the message is followed and confirmed.
    page.goto(_signup_link(daphne_mailbox, "erin@example.org"))
    page.get_by_role("button", name="Create my account").click()

    first_token = page.locator("#secret-token").inner_text().strip()
    assert first_token.startswith("exps_")
    page.get_by_role("link", name="Continue to Erin Studio").click()

    page.get_by_role("link", name="New application").click()
    page.fill("#id_name", "Erin Chat")
    page.get_by_role("button", name="Create application").click()
    app_key = page.locator("#app-key").inner_text().strip()
    app_id = page.locator("#app-id").inner_text().strip()
    app_secret = page.locator("#app-secret").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{20}", app_key)
    assert re.fullmatch(r"\d{7}", app_id)
    assert re.fullmatch(r"[0-9a-f]{40}", app_secret)

    # Shown once: the application's own page has the key and id, never the secret.
    page.get_by_role("link", name="Go to Erin Chat").click()
    assert app_key in page.content()
    assert app_secret not in page.content()

    page.get_by_role("link", name="Erin Studio").click()
    page.get_by_role("link", name="New secret token").click()
    page.fill("#id_label", "browser test")
    page.get_by_role("button", name="Create secret token").click()
    second_token = page.locator("#secret-token").inner_text().strip()
    assert second_token.startswith("exps_")
    assert second_token != first_token

    page.get_by_role("link", name="Back to Erin Studio").click()
    assert "browser test" in page.content()
    assert second_token not in page.content()

    for token in (first_token, second_token):
        status, body = _create_session(daphne_server, token, app_key)
        assert status == 201
        assert _jwt_claims(body["jwt"])["apps"] == [app_key]
