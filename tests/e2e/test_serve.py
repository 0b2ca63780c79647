"""scripts/serve on a port other than 8000, as a new user runs it from a fresh clone, and the
application page's snippets followed literally against it.

The clone is a copy of this working tree in a temporary directory (so its .env, database
and static files are its own) with a view of the test virtualenv as its .venv (stamped as
up to date, so scripts/setup installs nothing). Nothing sets SITE_URL: scripts/serve must
derive it from PORT, and every URL the server prints or shows must name that port.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.browser.test_app_snippets import Dashboard, Subscriber
from tests.organizations.snippets import page_snippets, page_value
from tests.support import live

pytestmark = pytest.mark.e2e

START_TIMEOUT = 120.0  # migrations, collectstatic, seed_demo and daphne, on a busy machine
TOKEN_PLACEHOLDER = 'export EXPUSHER_TOKEN="exps_…"'
SECRET_PLACEHOLDER = "YOUR_APP_SECRET"


def _clone(target: Path) -> None:
    """Copy the working tree's files (tracked, and new ones not ignored) into `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=live.ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = live.ROOT / name
        if name.startswith(("bench/", "node_modules")) or not source.is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)


def _venv_view(target: Path) -> None:
    """target/.venv: this interpreter and its site-packages, marked as installed for the
    clone's pyproject.toml, so scripts/setup has nothing to do (and writes nowhere else)."""
    venv = target / ".venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(Path(sys.prefix) / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    (venv / "lib").symlink_to(Path(sys.prefix) / "lib")
    digest = hashlib.sha256((target / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".expusher-pip-serve").write_text(digest + "\n")


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scripts/serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"scripts/serve did not answer within {START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, the output of scripts/serve so far) of a fresh clone served on a free port."""
    clone = tmp_path_factory.mktemp("clone")
    _clone(clone)
    _venv_view(clone)
    port = live.free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(clone),
        "LANG": "C.UTF-8",
        "PORT": str(port),
        "PYTHON": os.path.realpath(sys.executable),
        "PYTHONUNBUFFERED": "1",
    }
    log = clone / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["scripts/serve"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: daphne is stopped with it
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base_url, process, log)
        yield base_url, log.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _printed(output: str, label: str) -> str:
    return re.search(rf"^  {label}:\s+(\S+)", output, re.MULTILINE).group(1)


@pytest.fixture(scope="module")
def demo(served):
    """The demo application's page, read by the demo user, and what seed_demo printed."""
    base_url, output = served
    dashboard = Dashboard(base_url)
    after_login = dashboard.submit(
        "/accounts/login/",
        {"username": _printed(output, "Login"), "password": _printed(output, "Password")},
    )
    assert "Log out" in after_login
    app_key = _printed(output, "app_key")
    page = dashboard.get(f"/orgs/{_printed(output, 'Organization')}/apps/{app_key}/")
    return {
        "page": page,
        "app_key": app_key,
        "app_secret": _printed(output, "app_secret"),
        "token": _printed(output, "Secret token"),
    }


def test_serve_says_what_it_does_from_the_first_second_and_prints_its_own_port(served):
    base_url, output = served
    assert output.startswith("serve: checking the Python packages")
    assert f"Dashboard:     {base_url}/" in output
    assert f"Chat demo:     {base_url}/demo/" in output
    assert ":8000" not in output


def test_the_application_page_shows_the_served_host_and_port(served, demo):
    base_url, _ = served
    port = base_url.rsplit(":", 1)[1]
    assert page_value(demo["page"], "app-host") == "127.0.0.1"
    assert page_value(demo["page"], "app-port") == port
    for name, text in page_snippets(demo["page"]).items():
        assert ":8000" not in text and "port=8000" not in text, name


@pytest.fixture
def subscriber(served, demo):
    ws_url = served[0].replace("http://", "ws://")
    with connect(f"{ws_url}/app/{demo['app_key']}?protocol=7", open_timeout=10) as ws:
        yield Subscriber(ws)


def _bash(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )


def test_the_rest_snippets_work_as_shown(demo, subscriber, tmp_path):
    snippets = page_snippets(demo["page"])
    assert snippets["phoenix-jwt"].count(TOKEN_PLACEHOLDER) == 1
    get_jwt = snippets["phoenix-jwt"].replace(
        TOKEN_PLACEHOLDER, f'export EXPUSHER_TOKEN="{demo["token"]}"'
    )
    subscriber.subscribe("chat-lobby")

    # Pasted one after the other into one shell, as the page shows them.
    result = _bash(get_jwt + "\n" + snippets["phoenix-trigger"] + "\n", tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{}"
    event = subscriber.expect("new_message", "chat-lobby")
    assert json.loads(event["data"]) == {"text": "Hello from the server"}


def test_a_failing_step_shows_the_servers_error_not_a_traceback(demo, tmp_path):
    snippets = page_snippets(demo["page"])
    wrong = snippets["phoenix-jwt"].replace(
        TOKEN_PLACEHOLDER, 'export EXPUSHER_TOKEN="exps_not-a-real-token"'
    )

    result = _bash(wrong + '\necho "JWT=[$JWT]"\n' + snippets["phoenix-trigger"] + "\n", tmp_path)

    assert "Traceback" not in result.stderr
    assert "POST /api/sessions failed:" in result.stderr
    assert '"error"' in result.stderr  # the server's own answer
    assert "JWT=[]" in result.stdout
    # The trigger without a JWT prints the server's 401 answer, and curl fails.
    assert '"error"' in result.stdout and result.returncode != 0


def test_the_python_server_snippet_triggers_as_shown(demo, subscriber, tmp_path):
    snippet = page_snippets(demo["page"])["python"]
    assert snippet.count(SECRET_PLACEHOLDER) == 1
    source = tmp_path / "snippet.py"
    source.write_text(snippet.replace(SECRET_PLACEHOLDER, demo["app_secret"]))
    subscriber.subscribe("my-channel")

    result = subprocess.run(
        [sys.executable, str(source)], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stderr
    event = subscriber.expect("my-event", "my-channel")
    assert json.loads(event["data"]) == {"message": "hello world"}
