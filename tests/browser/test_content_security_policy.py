"""Every kind of HTML page works in Chromium under expusher.csp's Content-Security-Policy:
no page breaks a rule of it (Chromium reports each violation on the console), the chat
demo connects, the Swagger UI renders the API, a copy button copies."""

import pytest

from tests.browser.conftest import PASSWORD, watch_for_errors

pytestmark = pytest.mark.browser

WAIT_MS = 15_000  # how long Playwright waits for an element state (a wait, not an assertion)


def test_the_pages_keep_to_the_policy(demo_server, browser):
    from playwright.sync_api import expect

    server, seeded = demo_server
    errors: list[str] = []
    page = browser.new_context(base_url=server.url).new_page()
    watch_for_errors(page, errors)
    try:
        for path in ("/", "/signup/", "/accounts/password_reset/", "/nope"):
            page.goto(path)
            assert page.locator("header.topbar").count() == 1, path  # styled by app.css

        page.goto("/accounts/login/")
        page.fill("#id_username", seeded["email"])
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").click()
        expect(page.get_by_role("link", name="Dashboard")).to_be_visible(timeout=WAIT_MS)

        org = seeded["organization"]
        for path in ("/dashboard/", f"/orgs/{org}/", f"/orgs/{org}/apps/{seeded['app_key']}/"):
            page.goto(path)
        page.goto("/demo/")
        expect(page.locator("#status")).to_have_text("connected", timeout=WAIT_MS)
        page.goto("/api/docs/")
        expect(page.locator(".opblock").first).to_be_visible(timeout=WAIT_MS)
        page.goto("/api/organizations")  # DRF's browsable API
        expect(page.locator("pre.prettyprint").first).to_be_visible(timeout=WAIT_MS)
        page.goto("/admin/login/")
        assert errors == []

        # The watch does see a violation: an image from elsewhere is refused.
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<img src=\"http://192.0.2.1/x.png\">')"
        )
        page.wait_for_timeout(500)
        assert errors and "img-src" in errors[-1]
    except BaseException:
        print(server.log_text())
        raise
