"""Presence across two server processes sharing one Redis, seen by phoenix's Presence class.

One ServerEnv (one SQLite file, one Redis prefix, EXPUSHER_PRESENCE_TTL_SECONDS=3), two
daphne processes A and B, and "tabs": Node processes running the official phoenix client
with its Presence class (js/presence_client.js). The HTTP topic APIs are asked on both
processes. The last test SIGKILLs a third process with members on it, and the survivors
must drop them (each leave announced once) and heal their counts within 3 × TTL.
Skips without Redis or Node.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from tests.e2e.conftest import JS, NODE, WAIT, Tenant, session_jwt
from tests.support import live

pytestmark = pytest.mark.e2e

TTL = 3  # EXPUSHER_PRESENCE_TTL_SECONDS of these servers
REAPED_WITHIN = 3 * TTL  # seconds after a SIGKILL by which its members must be gone


class Tab:
    """One browser tab: a phoenix socket joined to one presence topic (a Node process)."""

    def __init__(self, server: live.LiveServer, tenant: Tenant, jwt: str, topic: str):
        config = {
            "url": f"{server.ws_url}/socket",
            "params": {"app_key": tenant.app_key},
            "authToken": jwt,
            "topic": topic,
        }
        self.process = subprocess.Popen(
            [NODE, str(JS / "presence_client.js"), json.dumps(config)],
            cwd=live.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.records: list[dict] = []
        self._incoming: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.strip():
                self._incoming.put(json.loads(line))

    def until(self, found: Callable[[list[dict]], object], what: str, timeout: float = WAIT):
        """Wait (at most `timeout` s) until found(records so far) is truthy; return it."""
        deadline = time.monotonic() + timeout
        while True:
            while not self._incoming.empty():
                self.records.append(self._incoming.get_nowait())
            value = found(self.records)
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {what} within {timeout}s; observed: {self.records}")
            try:
                self.records.append(self._incoming.get(timeout=min(remaining, 0.2)))
            except queue.Empty:
                pass

    def record(self, type: str, timeout: float = WAIT, **match) -> dict:
        def first(records):
            return next(
                (
                    r
                    for r in records
                    if r["type"] == type and all(r.get(k) == v for k, v in match.items())
                ),
                None,
            )

        return self.until(first, f"{type} {match}", timeout)

    def joined(self) -> Tab:
        assert self.record("join")["status"] == "ok", self.records
        return self

    def sees(self, members: dict[str, int], timeout: float = WAIT) -> None:
        """Wait until the latest Presence sync lists exactly these {user: tabs}."""

        def latest(records):
            syncs = [r["members"] for r in records if r["type"] == "sync"]
            return syncs and syncs[-1] == members

        self.until(latest, f"presence {members}", timeout)

    def diffs(self) -> list[dict]:
        return [r for r in self.records if r["type"] == "diff"]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write('{"cmd": "quit"}\n')
                self.process.stdin.flush()
                self.process.wait(timeout=5)
            except (BrokenPipeError, ValueError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture(scope="module")
def presence_env(tmp_path_factory) -> live.ServerEnv:
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("presence"),
        redis_url=url,
        EXPUSHER_PRESENCE_TTL_SECONDS=str(TTL),
    )
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def tenant(presence_env) -> Tenant:
    return Tenant.create(presence_env)


@pytest.fixture(scope="module")
def server_a(presence_env, tenant):
    with live.LiveServer(presence_env) as running:
        yield running


@pytest.fixture(scope="module")
def server_b(presence_env, tenant):
    with live.LiveServer(presence_env) as running:
        yield running


@pytest.fixture
def topic() -> str:
    return f"presence:room-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def open_tab(server_a, tenant, topic):
    """open_tab(server, user_id, **user_info) -> a joined Tab of that user on `topic`."""
    if NODE is None:
        pytest.skip("node is not installed")
    if not (live.ROOT / "node_modules" / "phoenix").exists():
        pytest.skip("run `npm install` for the phoenix client")
    tabs: list[Tab] = []

    def start(server: live.LiveServer, user_id: str, **info) -> Tab:
        jwt = session_jwt(
            server_a, tenant, listen=["presence:*"], publish=[], user_id=user_id, user_info=info
        )
        tab = Tab(server, tenant, jwt, topic)
        tabs.append(tab)
        return tab.joined()

    yield start
    for tab in tabs:
        tab.close()


def api_get(server: live.LiveServer, tenant: Tenant, path: str) -> dict:
    status, _, body = server.get(
        f"/api/organizations/{tenant.organization}/applications/{tenant.app_key}/{path}",
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    assert status == 200, body
    return json.loads(body)


def leaves_per_user(diffs: list[dict]) -> Counter:
    """How many metas (connections) each user lost, over these diffs."""
    counts: Counter = Counter()
    for diff in diffs:
        counts.update(diff["leaves"])
    return counts


def test_a_member_joining_on_a_appears_on_b(open_tab, server_a, server_b):
    watcher = open_tab(server_b, "watcher")
    watcher.sees({"watcher": 1})

    ann = open_tab(server_a, "ann", name="Ann")

    ann.sees({"watcher": 1, "ann": 1})  # the state sent by A holds B's member
    watcher.sees({"watcher": 1, "ann": 1})  # the diff from A reached B's socket
    assert watcher.record("diff", joins={"ann": 1}, leaves={})


def test_three_tabs_of_one_user_are_one_key_and_closing_one_keeps_it(open_tab, server_a, server_b):
    watcher = open_tab(server_a, "watcher")
    tabs = [open_tab(server_b, "tess") for _ in range(3)]
    watcher.sees({"watcher": 1, "tess": 3})

    tabs[0].close()

    watcher.sees({"watcher": 1, "tess": 2})
    assert watcher.record("leave", key="tess") == {
        "type": "leave",
        "key": "tess",
        "left": 1,
        "remaining": 2,
    }
    assert leaves_per_user(watcher.diffs()) == {"tess": 1}
    tabs[1].sees({"watcher": 1, "tess": 2})


def test_both_processes_answer_the_same_counts(open_tab, server_a, server_b, tenant, topic):
    watcher = open_tab(server_a, "ann", name="Ann")
    open_tab(server_a, "ann", name="Ann")
    open_tab(server_b, "bob", name="Bob")
    open_tab(server_b, "cid")
    watcher.sees({"ann": 2, "bob": 1, "cid": 1})

    for server in (server_a, server_b):
        assert api_get(server, tenant, f"topics?prefix={topic}") == {
            "topics": {topic: {"subscription_count": 4, "user_count": 3}}
        }
        assert api_get(server, tenant, f"topics/{topic}") == {
            "topic": topic,
            "occupied": True,
            "subscription_count": 4,
            "user_count": 3,
        }
        assert api_get(server, tenant, f"topics/{topic}/presence") == {
            "members": [
                {"id": "ann", "info": {"name": "Ann"}, "connections": 2},
                {"id": "bob", "info": {"name": "Bob"}, "connections": 1},
                {"id": "cid", "info": {}, "connections": 1},
            ]
        }


def test_a_disconnect_asked_on_a_closes_the_users_tabs_on_b(open_tab, server_a, server_b, tenant):
    watcher = open_tab(server_a, "watcher")
    dans = [open_tab(server_b, "dan") for _ in range(2)]
    eve = open_tab(server_b, "eve")
    watcher.sees({"watcher": 1, "dan": 2, "eve": 1})

    status, _, body = server_a.post(
        f"/api/organizations/{tenant.organization}/applications/{tenant.app_key}"
        "/users/dan/disconnect",
        headers={"Authorization": f"Bearer {tenant.token}"},
    )

    assert (status, json.loads(body)) == (200, {})
    for dan in dans:
        assert dan.record("close")["code"] == 4009
    watcher.sees({"watcher": 1, "eve": 1})
    eve.sees({"watcher": 1, "eve": 1})
    assert not [r for r in eve.records if r["type"] == "close"]


def test_a_killed_processs_members_leave_once_and_the_counts_heal(
    open_tab, presence_env, server_a, tenant, topic
):
    watcher = open_tab(server_a, "olga")
    open_tab(server_a, "amy")
    with live.LiveServer(presence_env) as doomed:
        open_tab(doomed, "amy")  # amy is on both processes: she must stay
        doomed_tabs = [open_tab(doomed, "bea"), open_tab(doomed, "bea"), open_tab(doomed, "ben")]
        watcher.sees({"olga": 1, "amy": 2, "bea": 2, "ben": 1})
        assert api_get(server_a, tenant, f"topics/{topic}")["subscription_count"] == 6
        before_kill = len(watcher.diffs())

        doomed.kill()  # SIGKILL: no cleanup at all
        killed_at = time.monotonic()

        for tab in doomed_tabs:
            tab.record("close")

        def left() -> float:
            return killed_at + REAPED_WITHIN - time.monotonic()

        watcher.sees({"olga": 1, "amy": 1}, timeout=left())

        def healed():
            counts = api_get(server_a, tenant, f"topics/{topic}")
            return counts["subscription_count"] == 2 and counts["user_count"] == 2

        watcher.until(lambda _: healed(), "healed counts", timeout=left())

    # A join after the reaping is a barrier: any leave announced twice would be before it.
    open_tab(server_a, "zed")
    watcher.record("diff", joins={"zed": 1}, leaves={})
    after_kill = watcher.diffs()[before_kill:]
    assert leaves_per_user(after_kill) == {"amy": 1, "bea": 2, "ben": 1}
    gone = [r["key"] for r in watcher.records if r["type"] == "leave" and r["remaining"] == 0]
    assert sorted(gone) == ["bea", "ben"]
    assert api_get(server_a, tenant, f"topics/{topic}/presence")["members"] == [
        {"id": "amy", "info": {}, "connections": 1},
        {"id": "olga", "info": {}, "connections": 1},
        {"id": "zed", "info": {}, "connections": 1},
    ]
