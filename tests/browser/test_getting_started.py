"""The getting-started guide's snippets, run as written against a live server.

The plain-HTML pages (pusher-js and the Phoenix client) run in Chromium as a customer's
page on another origin (pusher-js's CDN file is served from node_modules). Then every
snippet that sends runs as a reader would run it: the curl commands (with the reader's
secret token pasted in), the Node scripts and the Django views (with PUSHER_APP_SECRET
and EXPUSHER_TOKEN in the environment, as the snippets ask). Each page shows one row per
event: three for the pusher-js page (curl, Node, Django), three for the Phoenix page.
Rails and Laravel snippets are not run here (no Ruby or PHP on the test machines).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.test_console import PASSWORD, signed_in_page
from tests.organizations.snippets import page_snippets
from tests.support import live
from tests.support.site import loopback_site
from tests.support.site import pages as site_pages

pytestmark = pytest.mark.browser

NODE = shutil.which("node")
PUSHER_JS = live.ROOT / "node_modules" / "pusher-js" / "dist" / "web" / "pusher.min.js"
WAIT_MS = 15_000
RUN_TIMEOUT = 30


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = live.free_port()
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("guide"), SITE_URL=f"http://127.0.0.1:{port}"
    )
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Guide", "ops@guide.test", app="Chat", password=PASSWORD)
    with live.LiveServer(server_env, port=port) as server:
        yield server, creds


def _guide(browser, server, creds) -> dict[str, str]:
    errors: list[str] = []
    page = signed_in_page(browser, server, "ops@guide.test", errors)
    page.goto(f"/orgs/{creds['organization']}/apps/{creds['app_key']}/")
    snippets = page_snippets(page.content())
    page.context.close()
    return {name[3:]: text for name, text in snippets.items() if name.startswith("gs-")}


def _customer_page(browser, url: str, errors: list[str]):
    page = browser.new_context().new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: print("console:", message.text))  # shown on failure
    page.route(
        "https://js.pusher.com/**",
        lambda route: route.fulfill(path=str(PUSHER_JS), content_type="application/javascript"),
    )
    page.goto(url)
    return page


def _run(command: list[str], tmp_path: Path, **env: str) -> str:
    environment = {**os.environ, "NODE_PATH": str(live.ROOT / "node_modules"), **env}
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


DJANGO_HARNESS = """
import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"])
django.setup()
exec(open("views.py").read())
"""


def _django(views: str, calls: str, tmp_path: Path, **env: str) -> str:
    (tmp_path / "views.py").write_text(views)
    return _run([sys.executable, "-c", DJANGO_HARNESS + calls], tmp_path, **env)


def _wait_for_rows(page, count: int) -> list[dict]:
    from playwright.sync_api import expect

    expect(page.locator("#events li")).to_have_count(count, timeout=WAIT_MS)
    return [json.loads(text) for text in page.locator("#events li").all_inner_texts()]


def test_the_plain_pages_receive_what_every_sending_snippet_sends(browser, served, tmp_path):
    if NODE is None:
        pytest.skip("node is not installed")
    server, creds = served
    snippets = _guide(browser, server, creds)
    errors: list[str] = []
    pages = {
        "/pusher.html": snippets["html_pusher_page"],
        "/phoenix.html": snippets["html_phoenix_page"],
    }
    with loopback_site(site_pages(pages)) as site:
        pusher_page = _customer_page(browser, f"{site}/pusher.html", errors)
        phoenix_page = _customer_page(browser, f"{site}/phoenix.html", errors)
        _send_from_every_snippet(pusher_page, phoenix_page, snippets, creds, tmp_path)
    assert errors == []


def _send_from_every_snippet(pusher_page, phoenix_page, snippets, creds, tmp_path) -> None:
    secrets = {"EXPUSHER_TOKEN": creds["token"], "PUSHER_APP_SECRET": creds["app_secret"]}
    # `pusher` is each page's own top-level const.
    pusher_page.wait_for_function("pusher.connection.state === 'connected'", timeout=WAIT_MS)
    joined = "pusher.channels.get('public:lobby').phx.state === 'joined'"
    phoenix_page.wait_for_function(joined, timeout=WAIT_MS)

    for client in ("pusher", "phoenix"):
        curl = snippets[f"html_{client}_send"].replace(
            "export EXPUSHER_TOKEN=exps_...", f"export EXPUSHER_TOKEN={creds['token']}"
        )
        _run(["bash", "-ec", curl], tmp_path)
    (tmp_path / "send.js").write_text(snippets["node_pusher_server"])
    assert "sent: 200" in _run([NODE, "send.js"], tmp_path, **secrets)
    (tmp_path / "expusher.js").write_text(snippets["node_phoenix_server"])
    assert "sent" in _run([NODE, "expusher.js"], tmp_path, **secrets)
    jwt = _run(
        [NODE, "-e", 'require("./expusher.js").jwtFor(42).then((jwt) => console.log(jwt))'],
        tmp_path,
        **secrets,
    )
    assert jwt.count(".") == 2
    _django(
        snippets["django_pusher_server"],
        "from django.test import RequestFactory\n"
        "print(send(RequestFactory().post('/send', {'message': 'hello world'})).content)",
        tmp_path,
        **secrets,
    )
    printed = _django(
        snippets["django_phoenix_server"],
        "trigger('public:lobby', 'my-event', {'message': 'hello world'})\nprint(jwt_for(7))",
        tmp_path,
        **secrets,
    )
    assert printed.strip().count(".") == 2

    assert _wait_for_rows(pusher_page, 3) == [{"message": "hello world"}] * 3
    assert _wait_for_rows(phoenix_page, 3) == [{"message": "hello world"}] * 3
