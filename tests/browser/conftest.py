"""A real ExPusher server (daphne) on loopback, for tests that drive a browser.

pytest-django's live_server is a threaded WSGI server and ExPusher is ASGI-only, so the
server runs as a subprocess with its own temporary SQLite database: the test database
of pytest-django is invisible to it, and the browser tests need none.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY_TIMEOUT = 30.0  # seconds for daphne to answer its first request


def _test_env_defaults() -> dict[str, str]:
    values = {}
    for line in (ROOT / "tests" / "test.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(process: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        try:
            urllib.request.urlopen(base_url + "/", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"daphne did not answer within {READY_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def daphne_server(daphne):
    """The base URL of a freshly migrated ExPusher served by daphne."""
    return daphne[0]


@pytest.fixture(scope="module")
def daphne_mailbox(daphne) -> Path:
    """The directory where that server writes the e-mails it sends, one file each."""
    return daphne[1]


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    """Yield (base URL, mail directory) of a freshly migrated ExPusher served by daphne."""
    tmp = tmp_path_factory.mktemp("daphne")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **_test_env_defaults(),
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "SITE_URL": base_url,
        # Hermetic: no developer .env, and the embedded (in-process) cache and layer, so
        # cached token states cannot leak in from other servers sharing a Redis.
        "EXPUSHER_ENV_FILE": str(tmp / "no.env"),
        "DEBUG": "False",
        "EXPUSHER_HTTPS": "False",
        "EMAIL_URL": f"filemail:///{tmp / 'mail'}",  # an absolute path after ///
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = tmp / "daphne.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "expusher.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, base_url, log)
        yield base_url, tmp / "mail"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def demo_server(tmp_path):
    """A real server (python -m expusher.server) with the demo account seeded."""
    from tests.support import live

    server_env = live.ServerEnv.create(tmp_path)
    live.migrate(server_env)
    seeded = json.loads(live.manage(server_env, "seed_demo", "--json", "--password", PASSWORD))
    with live.LiveServer(server_env) as server:
        yield server, seeded


PASSWORD = "demo's long passphrase"  # of the seeded demo@example.org


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def watch_for_errors(page, errors: list[str]) -> None:
    """Collect the page's uncaught script errors and every Content-Security-Policy
    violation (Chromium reports each on the console: "Refused to ... because it violates
    the following Content Security Policy directive")."""
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
