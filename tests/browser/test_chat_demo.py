"""The /demo/ chat page in two real Chromium pages against a real daphne server.

Each page connects with /js/pusher.js (the PusherLite bundle) and its own demo JWT.
A message pushed on the socket by one page and a message sent through the REST API
by the other both reach both pages. Each page's online list (presence on
"presence:demo") shows both visitors, one item per user with its number of tabs, and
forgets a visitor whose page closed.
"""

import pytest

from tests.browser.conftest import watch_for_errors

pytestmark = pytest.mark.browser

WAIT_MS = 15_000  # how long Playwright waits for an element state (a wait, not an assertion)


def _open_demo(browser, url: str, errors: list[str]):
    # One context per page: two visitors, each with their own JWT and storage.
    page = browser.new_context().new_page()
    watch_for_errors(page, errors)  # script errors and Content-Security-Policy violations
    page.goto(url)
    return page


def _send(page, name: str, message: str, *, through_api: bool) -> None:
    page.fill("#name", name)
    page.fill("#message", message)
    page.set_checked("#through-api", through_api)
    page.click("#send")


def test_it_delivers_socket_and_api_messages_to_both_pages(demo_server, browser):
    from playwright.sync_api import expect

    server, seeded = demo_server
    errors: list[str] = []
    try:
        first = _open_demo(browser, f"{server.url}/demo/", errors)
        second = _open_demo(browser, f"{server.url}/demo/", errors)
        for page in (first, second):
            expect(page.locator("#status")).to_have_text("connected", timeout=WAIT_MS)
        config = first.evaluate("JSON.parse(document.getElementById('demo-config').textContent)")
        assert config["appKey"] == seeded["app_key"]

        _send(first, "Ann", "hello over the socket", through_api=False)
        for page in (first, second):
            messages = page.locator("#messages .message")
            expect(messages).to_have_count(1, timeout=WAIT_MS)
            expect(messages.nth(0)).to_have_text("Ann hello over the socket")

        _send(second, "Bob", "hello through the API", through_api=True)
        for page in (first, second):
            messages = page.locator("#messages .message")
            expect(messages).to_have_count(2, timeout=WAIT_MS)
            expect(messages.nth(1)).to_have_text("Bob hello through the API")
            expect(page.locator("#status")).to_have_text("connected")
        assert errors == []
    except BaseException:
        print(server.log_text())
        raise


def _user_id(page) -> str:
    return page.evaluate("JSON.parse(document.getElementById('demo-config').textContent)")[
        "uniqueUserId"
    ]


def test_each_page_lists_who_is_online_and_forgets_a_closed_page(demo_server, browser):
    from playwright.sync_api import expect

    server, _ = demo_server
    errors: list[str] = []
    try:
        first = _open_demo(browser, f"{server.url}/demo/", errors)
        second = _open_demo(browser, f"{server.url}/demo/", errors)
        ids = {page: _user_id(page) for page in (first, second)}
        assert ids[first] != ids[second]
        for page in (first, second):
            expect(page.locator("#status")).to_have_text("connected", timeout=WAIT_MS)
            online = page.locator("#online li")
            expect(online).to_have_count(2, timeout=WAIT_MS)
            for user_id in ids.values():
                expect(page.locator(f'#online li[data-user-id="{user_id}"]')).to_have_count(1)
            expect(page.locator(f'#online li[data-user-id="{ids[page]}"]')).to_have_text(
                f"{ids[page]} (you): 1 tab"
            )

        # A second tab of the first visitor: the same user id (the JWT's sub) on a
        # second socket, so still one item, now with two tabs.
        first.evaluate(
            """() => {
                const config = JSON.parse(document.getElementById("demo-config").textContent);
                const tab = new PusherLite(config.appKey, {
                    jwt: config.jwt, uniqueUserId: config.uniqueUserId,
                });
                tab.subscribe("presence:demo");
                return tab.joinAll().then(() => true);
            }"""
        )
        for page in (first, second):
            item = page.locator(f'#online li[data-user-id="{ids[first]}"]')
            expect(item).to_have_attribute("data-tabs", "2", timeout=WAIT_MS)
            expect(page.locator("#online li")).to_have_count(2)
        expect(second.locator(f'#online li[data-user-id="{ids[first]}"]')).to_have_text(
            f"{ids[first]}: 2 tabs"
        )

        second.context.close()

        online = first.locator("#online li")
        expect(online).to_have_count(1, timeout=WAIT_MS)
        expect(online).to_have_attribute("data-user-id", ids[first])
        assert errors == []
    except BaseException:
        print(server.log_text())
        raise
