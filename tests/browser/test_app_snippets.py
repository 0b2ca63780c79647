"""The dashboard's Pusher snippets, run as written against a live server.

A real daphne server (its SITE_URL is where it answers) and a signed-in admin: the admin
creates an application through the dashboard, and the snippets are read back out of the
pages as a reader copies them. The page that creates the application fills in the secret,
so its Python snippet runs untouched; the application's own page shows YOUR_APP_SECRET,
which is the only thing replaced before its Node snippet runs. A raw WebSocket subscriber on
/app/{key} checks that the triggered event arrives, and each snippet's auth function signs a
private-channel subscription that the server accepts. The pusher-js page snippet runs in
Chromium on a customer site whose /pusher/auth runs the Python snippet: its trigger reaches
the page, and its pusher_auth signs the page's private subscription.
"""

from __future__ import annotations

import http.cookiejar
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.organizations.snippets import page_snippets, page_value
from tests.support import live
from tests.support.site import HTML, loopback_site

pytestmark = pytest.mark.e2e

NODE = shutil.which("node")
NODE_MODULES = live.ROOT / "node_modules"
PUSHER_JS = NODE_MODULES / "pusher-js" / "dist" / "web" / "pusher.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
PASSWORD = "snippet tester's passphrase"
PLACEHOLDER = "YOUR_APP_SECRET"
WAIT = 10.0  # seconds: the bound on any single expected observation
RUN_TIMEOUT = 30.0  # seconds for one snippet process


class Dashboard:
    """A signed-in browser session on the dashboard, over plain HTTP (urllib + cookies)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=WAIT) as response:
            return response.read().decode()

    def submit(self, path: str, fields: dict) -> str:
        """GET the form at `path`, POST it back with `fields` and its CSRF token."""
        form = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        with self.opener.open(self.base_url + path, data=data, timeout=WAIT) as response:
            return response.read().decode()


@dataclass
class CreatedApp:
    key: str
    app_id: str
    secret: str
    created_page: str  # the one page that shows the secret
    detail_page: str  # the application's own page, with the placeholder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = live.free_port()
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("snippets"), SITE_URL=f"http://127.0.0.1:{port}"
    )
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Snipco", "ops@snipco.test", password=PASSWORD)
    with live.LiveServer(server_env, port=port) as running:
        running.organization = creds["organization"]
        yield running


@pytest.fixture(scope="module")
def app(server) -> CreatedApp:
    dashboard = Dashboard(server.url)
    after_login = dashboard.submit(
        "/accounts/login/", {"username": "ops@snipco.test", "password": PASSWORD}
    )
    assert "Log out" in after_login
    created = dashboard.submit(f"/orgs/{server.organization}/apps/new/", {"name": "Snippets"})
    key = page_value(created, "app-key")
    detail = dashboard.get(f"/orgs/{server.organization}/apps/{key}/")
    return CreatedApp(
        key=key,
        app_id=page_value(created, "app-id"),
        secret=page_value(created, "app-secret"),
        created_page=created,
        detail_page=detail,
    )


class Subscriber:
    """A raw Pusher protocol 7 client on /app/{key} (the `websockets` library)."""

    def __init__(self, ws):
        self.ws = ws
        established = self.expect("pusher:connection_established")
        self.socket_id = json.loads(established["data"])["socket_id"]

    def expect(self, event: str, channel: str | None = None) -> dict:
        """The next frame with this event (and channel); fails after WAIT seconds."""
        seen = []
        while True:
            try:
                frame = json.loads(self.ws.recv(timeout=WAIT))
            except TimeoutError:
                pytest.fail(f"no {event} on {channel} within {WAIT}s; saw {seen}")
            seen.append(frame)
            if frame.get("event") == event and (channel is None or frame["channel"] == channel):
                return frame

    def subscribe(self, channel: str, auth: str | None = None) -> None:
        data = {"channel": channel, **({"auth": auth} if auth else {})}
        self.ws.send(json.dumps({"event": "pusher:subscribe", "data": data}))
        self.expect("pusher_internal:subscription_succeeded", channel)


@pytest.fixture
def subscriber(server, app):
    url = f"{server.ws_url}/app/{app.key}?protocol=7&client=snippet-test&version=1.0"
    with connect(url, open_timeout=WAIT) as ws:
        yield Subscriber(ws)


def _run(command: list[str], tmp_path: Path) -> str:
    """Run a snippet process; return its stdout, fail with its output on a non-zero exit."""
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


def _python(source: str, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "snippet.py"
    path.write_text(source)
    return _run([sys.executable, str(path), *args], tmp_path)


def _node(source: str, tmp_path: Path, *args: str) -> str:
    if NODE is None:
        pytest.skip("node is not installed")
    path = tmp_path / "snippet.js"
    path.write_text(source)
    return _run([NODE, str(path), *args], tmp_path)


def test_the_python_snippet_triggers_and_signs_as_written(app, subscriber, tmp_path):
    snippet = page_snippets(app.created_page)["python"]
    assert app.secret in snippet and PLACEHOLDER not in snippet
    subscriber.subscribe("my-channel")

    # pusher raises on any answer but 200, so a clean exit means the trigger got its 200.
    _python(snippet, tmp_path)

    event = subscriber.expect("my-event", "my-channel")
    assert json.loads(event["data"]) == {"message": "hello world"}

    # Its auth function, as the customer's endpoint would call it, signs a subscription
    # the server accepts.
    call = "\nimport json, sys\nprint(json.dumps(pusher_auth(sys.argv[1], sys.argv[2])))\n"
    out = _python(snippet + call, tmp_path, subscriber.socket_id, "private-my-channel")
    subscriber.subscribe("private-my-channel", auth=json.loads(out)["auth"])


def test_the_node_snippet_triggers_and_signs_as_written(app, subscriber, tmp_path):
    snippet = page_snippets(app.detail_page)["node"]
    assert snippet.count(PLACEHOLDER) == 1 and app.secret not in snippet
    snippet = snippet.replace(PLACEHOLDER, app.secret)
    subscriber.subscribe("my-channel")

    out = _node(snippet, tmp_path)

    assert out.strip() == "triggered: 200"
    event = subscriber.expect("my-event", "my-channel")
    assert json.loads(event["data"]) == {"message": "hello world"}

    call = (
        "\nconsole.log(JSON.stringify(pusherAuth(process.argv[2], process.argv[3])));\n"
        "process.exit(0); // the trigger above is not awaited here\n"
    )
    out = _node(snippet + call, tmp_path, subscriber.socket_id, "private-my-channel")
    subscriber.subscribe("private-my-channel", auth=json.loads(out.splitlines()[0])["auth"])


def test_both_pages_show_the_same_snippets_but_for_the_secret(app):
    created = page_snippets(app.created_page)
    # Less the getting-started guide (gs-*), on the application's own page only.
    detail = {n: t for n, t in page_snippets(app.detail_page).items() if not n.startswith("gs-")}

    assert set(created) == set(detail)
    for name, text in detail.items():
        assert text.replace(PLACEHOLDER, app.secret) == created[name], name


@pytest.fixture
def customer_site(app, tmp_path):
    """The customer's site: a page holding the pusher-js snippet as written, and its
    /pusher/auth answered by running the Python snippet (which also triggers my-event)
    and printing its pusher_auth(socket_id, channel_name)."""
    python_snippet = page_snippets(app.created_page)["python"]
    page = "<!doctype html><html><body>\n" + page_snippets(app.detail_page)["pusher-js"]
    signer = tmp_path / "signer.py"
    signer.write_text(
        python_snippet
        + "\nimport json, sys\nprint(json.dumps(pusher_auth(sys.argv[1], sys.argv[2])))\n"
    )
    auth_calls: list[dict] = []

    def sign(path: str, body: bytes):
        form = urllib.parse.parse_qs(body.decode())
        call = {"socket_id": form["socket_id"][0], "channel_name": form["channel_name"][0]}
        auth_calls.append(call)
        out = _run([sys.executable, str(signer), call["socket_id"], call["channel_name"]], tmp_path)
        return 200, "application/json", out.splitlines()[-1].encode()

    with loopback_site(lambda path: (200, HTML, page.encode()), sign) as url:
        yield url, auth_calls


@pytest.mark.browser
def test_the_pusher_js_snippet_receives_events_in_a_page(customer_site):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    site_url, auth_calls = customer_site
    messages: list = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_context().new_page()
            # The snippet loads pusher-js from Pusher's CDN; the test has no Internet, so the
            # same library comes from node_modules.
            page.route(
                "https://js.pusher.com/**",
                lambda route: route.fulfill(
                    path=str(PUSHER_JS), content_type="application/javascript"
                ),
            )
            page.on("console", lambda message: messages.append(message))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{site_url}/index.html")
            page.wait_for_function(
                "() => pusher.connection.state === 'connected'"
                " && pusher.channel('my-channel')?.subscribed",
                timeout=WAIT * 1000,
            )
            assert not _console_messages(messages, "my-event")

            # A private subscription goes through /pusher/auth, where the Python snippet runs
            # whole: it triggers my-event on my-channel, then its pusher_auth signs.
            page.evaluate("() => { window.priv = pusher.subscribe('private-my-channel'); }")
            page.wait_for_function("() => window.priv.subscribed", timeout=WAIT * 1000)
            assert auth_calls == [
                {
                    "socket_id": page.evaluate("pusher.connection.socket_id"),
                    "channel_name": "private-my-channel",
                }
            ]

            message = _wait_for_console(page, messages, "my-event")
            assert message.args[1].json_value() == {"message": "hello world"}
            assert errors == []
        finally:
            chromium.close()


def _console_messages(messages: list, first_arg: str) -> list:
    return [m for m in messages if m.args and m.args[0].json_value() == first_arg]


def _wait_for_console(page, messages: list, first_arg: str):
    """The first console.log(first_arg, ...) of the page; waits up to WAIT seconds."""
    for _ in range(int(WAIT / 0.05)):
        found = _console_messages(messages, first_arg)
        if found:
            return found[0]
        page.wait_for_timeout(50)
    pytest.fail(f"no console.log({first_arg!r}, ...) within {WAIT}s: {[m.text for m in messages]}")
