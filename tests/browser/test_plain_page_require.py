"""ExPusherLite's published integration, unchanged, in a plain Chromium page.

A customer's page (served here by a small HTTP server of the test, on another loopback
port) loads /js/pusher.js from a real daphne server and then, with no module loader of its
own, runs exactly ``var PusherLite = require("pusher_lite").default;`` (the ExPusherLite
bundle brought its own ``require``). The bundle provides that ``require``; the client it
returns connects to the server and joins a topic.
"""

import json

import pytest

from tests.support import live
from tests.support.site import HTML, loopback_site

pytestmark = pytest.mark.browser

WAIT_MS = 15_000  # how long the page may take to connect and join (a wait, not an assertion)

SNIPPET = 'var PusherLite = require("pusher_lite").default;'

# A plain page: the bundle, then ExPusherLite's snippet, then the usual client code.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>plain page</title></head>
<body>
<script id="config" type="application/json">{config}</script>
<script src="{server}/js/pusher.js"></script>
<script>{snippet}</script>
<script>
  var config = JSON.parse(document.getElementById("config").textContent);
  var pusher = new PusherLite(config.appKey, {{
    host: config.host, jwt: config.jwt, uniqueUserId: "robot",
  }});
  var channel = pusher.subscribe("general");
  pusher.joinAll().then(
    function () {{ window.joinResult = "joined"; }},
    function (error) {{ window.joinResult = "refused: " + JSON.stringify(error); }}
  );
</script>
</body></html>
"""


@pytest.fixture
def server_and_credentials(tmp_path):
    server_env = live.ServerEnv.create(tmp_path)
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Acme", "ops@acme.test", app="Acme Chat")
    with live.LiveServer(server_env) as server:
        status, _, body = server.post("/api/sessions", body={"token": creds["token"]})
        assert status == 201, body
        yield server, creds["app_key"], json.loads(body)["jwt"]


@pytest.fixture
def customer_site():
    """A plain HTTP server on loopback answering every GET with `pages["html"]`."""
    pages = {"html": ""}
    with loopback_site(lambda path: (200, HTML, pages["html"].encode())) as url:
        yield url, pages


def test_the_integration_snippet_runs_in_a_plain_page(
    server_and_credentials, customer_site, browser
):
    server, app_key, jwt = server_and_credentials
    site_url, pages = customer_site
    host = f"127.0.0.1:{server.port}"
    config = json.dumps({"appKey": app_key, "jwt": jwt, "host": host}).replace("<", "\\u003c")
    pages["html"] = PAGE.format(config=config, server=server.url, snippet=SNIPPET)
    errors: list[str] = []
    try:
        page = browser.new_context().new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site_url}/chat.html")
        assert errors == []
        state = page.evaluate(
            """() => ({
                requireType: typeof require,
                sameClass: PusherLite === window.PusherLite &&
                    PusherLite === require("pusher_lite").default,
                unknown: (() => {
                    try { require("phoenix"); return "no error"; }
                    catch (error) { return error.message; }
                })(),
            })"""
        )
        assert state["requireType"] == "function"
        assert state["sameClass"] is True
        assert '"phoenix"' in state["unknown"]
        page.wait_for_function("() => window.joinResult !== undefined", timeout=WAIT_MS)
        assert page.evaluate("window.joinResult") == "joined"
        assert page.evaluate("pusher.isConnected()") is True
        assert errors == []
    except BaseException:
        print(server.log_text())
        raise
