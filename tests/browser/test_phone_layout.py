"""Every dashboard page on a 390-pixel-wide phone screen (an iPhone 12 to 15): the page
itself never scrolls sideways; long snippets and tables scroll inside their own box. Each
page is also kept as a screenshot at that width (in the test's temporary directory)."""

import pytest

from tests.browser.conftest import PASSWORD, watch_for_errors

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000

# The widest thing on the page (an element sticking out of the viewport), to say which.
WIDEST = """() => {
  let widest = null, right = 0;
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect().right;
    if (r > right) { right = r; widest = el; }
  }
  return widest ? `${widest.tagName.toLowerCase()}.${widest.className} ${Math.round(right)}px` : "";
}"""


def _pages(seeded) -> list[str]:
    org, app = seeded["organization"], seeded["app_key"]
    return [
        "/",
        "/accounts/login/",
        "/signup/",
        "/dashboard/",
        f"/orgs/{org}/",
        f"/orgs/{org}/settings/",
        f"/orgs/{org}/apps/new/",
        f"/orgs/{org}/apps/{app}/",
        f"/orgs/{org}/apps/{app}/settings/",
        f"/orgs/{org}/apps/{app}/archive/",
        f"/orgs/{org}/apps/{app}/rotate-secret/",
        f"/orgs/{org}/tokens/new/",
        f"/orgs/{org}/members/add/",
        "/demo/",
    ]


def test_no_page_scrolls_sideways_on_a_phone(demo_server, browser, tmp_path):
    from playwright.sync_api import expect

    server, seeded = demo_server
    context = browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    watch_for_errors(page, errors)
    page.goto("/accounts/login/")
    page.fill("#id_username", seeded["email"])
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible(timeout=WAIT_MS)

    too_wide = {}
    for n, path in enumerate(_pages(seeded)):
        page.goto(path)
        shot = tmp_path / f"{n:02d}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = f"{width}px wide; widest: {page.evaluate(WIDEST)}"

    assert too_wide == {}, f"screenshots in {tmp_path}"
    assert errors == []
    context.close()
