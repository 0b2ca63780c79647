"""The application page's statistics in headless Chromium, after real traffic.

A real server (embedded, figures flushed every half second), two Pusher sockets on one
channel and three events triggered through the PyPI `pusher` library: the signed-in
member's application page shows 9 messages today (3 publishes, 6 deliveries), and its
uPlot charts are drawn from that data: the messages chart has its line in the top half of
its canvas (its peak), the refused-connections chart (none) only along the bottom.
"""

import contextlib
import json

import pusher
import pytest
from websockets.sync.client import connect

from tests.browser.conftest import watch_for_errors
from tests.support import live

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
PASSWORD = "chart watcher's passphrase"
# Pixels of the series colour (#3b5bdb, or #c92a2a for refusals) in the top half of a
# figure's canvas: where the line goes only when the chart has data above zero.
TOP_HALF_LINE_PIXELS = """(figure) => {
  const canvas = figure.querySelector("canvas");
  const rows = Math.floor(canvas.height / 2);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, rows).data;
  let found = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b, a] = pixels.slice(i, i + 4);
    const blue = r < 120 && g < 150 && b > 150;
    const red = r > 150 && g < 90 && b < 90;
    if (a > 200 && (blue || red)) found++;
  }
  return found;
}"""


@pytest.fixture
def server(tmp_path):
    server_env = live.ServerEnv.create(tmp_path, EXPUSHER_STATS_FLUSH_SECONDS="0.5")
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Chartco", "ops@chartco.test", app="Chat", password=PASSWORD)
    with live.LiveServer(server_env) as running:
        yield running, creds


def _traffic(server, creds) -> None:
    url = f"{server.ws_url}/app/{creds['app_key']}?protocol=7"
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(url, open_timeout=10)) for _ in range(2)]
        for ws in sockets:
            assert json.loads(ws.recv(timeout=10))["event"] == "pusher:connection_established"
            ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": "news"}}))
            assert "subscription_succeeded" in json.loads(ws.recv(timeout=10))["event"]
        library = pusher.Pusher(
            app_id=str(creds["app_id"]),
            key=creds["app_key"],
            secret=creds["app_secret"],
            host="127.0.0.1",
            port=server.port,
            ssl=False,
        )
        for n in range(3):
            library.trigger("news", "headline", {"n": n})
        for ws in sockets:
            for _ in range(3):
                assert json.loads(ws.recv(timeout=10))["event"] == "headline"


def test_the_charts_are_drawn_from_the_traffic(server, browser):
    from playwright.sync_api import expect

    server, creds = server
    _traffic(server, creds)
    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    watch_for_errors(page, errors)
    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=username]", "ops@chartco.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/**")
    page.goto(f"{server.url}/orgs/{creds['organization']}/apps/{creds['app_key']}/")

    messages = page.locator("[data-chart=messages]")
    section = page.locator("#statistics")
    # The flusher writes every half second; the page fetches once: reload until it is in.
    for _ in range(20):
        expect(section).to_have_attribute("data-loaded", "true", timeout=WAIT_MS)
        if messages.get_attribute("data-total") == "9":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert messages.get_attribute("data-total") == "9"
    expect(page.locator("[data-figure='today.messages']")).to_have_text("9")
    expect(page.locator("[data-figure='today.api_requests']")).to_have_text("3")
    assert messages.locator("canvas").count() == 1
    assert messages.evaluate(TOP_HALF_LINE_PIXELS) > 0
    assert page.locator("[data-chart=refused]").evaluate(TOP_HALF_LINE_PIXELS) == 0
    page.click("button[data-span='3600']")
    assert messages.evaluate(TOP_HALF_LINE_PIXELS) > 0
    assert errors == []
