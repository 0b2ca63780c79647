"""Fixtures for end-to-end tests against real server processes on loopback.

* `live_env`: one ServerEnv (own SQLite file, embedded in-memory layer) with a migrated
  database and a bootstrapped organization; module-scoped, because migrating and starting
  daphne are the slow parts.
* `redis_env`: the same on Redis with a unique key prefix; skips when no Redis answers.
* `phoenix`: starts Node processes driving the official npm `phoenix` client
  (tests/e2e/js/phoenix_client.js) and stops them after the test.

Every wait here is bounded; a wait that runs out fails with what was observed so far.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support import live

JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
WAIT = 10.0  # seconds: the bound on any single expected observation


@dataclass
class Tenant:
    """A bootstrapped organization with one application, on one ServerEnv."""

    server_env: live.ServerEnv
    organization: str
    token: str  # the organization's secret token (plaintext)
    app_key: str
    app_id: int

    @classmethod
    def create(cls, server_env: live.ServerEnv, name: str = "Acme") -> Tenant:
        creds = live.bootstrap(server_env, name, f"ops@{name.lower()}.test", app="Chat")
        return cls(
            server_env, creds["organization"], creds["token"], creds["app_key"], creds["app_id"]
        )

    def event_path(self, event: str) -> str:
        return f"/api/organizations/{self.organization}/applications/{self.app_key}/event/{event}"


def session_jwt(server: live.LiveServer, tenant: Tenant, **fields) -> str:
    """POST /api/sessions with the secret token; returns the JWT."""
    status, _, body = server.post("/api/sessions", body={"token": tenant.token, **fields})
    assert status == 201, body
    return json.loads(body)["jwt"]


def trigger(server: live.LiveServer, tenant: Tenant, event: str, fields: dict, bearer: str):
    """A form-encoded REST trigger; returns (status, decoded body)."""
    status, _, body = server.post(
        tenant.event_path(event),
        body=urlencode(fields),
        headers={
            "Authorization": f"Bearer {bearer}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    return status, json.loads(body or b"null")


def socket_path(**params) -> str:
    return "/socket/websocket?" + urlencode(params)


def upgrade_status(server: live.LiveServer, path: str, headers: dict | None = None) -> int:
    """The HTTP status of a raw WebSocket upgrade request (101 when accepted)."""
    status, _, _ = server.get(
        path,
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            **(headers or {}),
        },
        timeout=WAIT,
    )
    return status


def wait_until(condition: Callable[[], object], timeout: float = WAIT, what: str = "") -> object:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)


def metric(server: live.LiveServer, name: str) -> float:
    status, _, body = server.get("/metrics")
    assert status == 200, body
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics:\n{body.decode()}")


def _env(tmp_path_factory, name: str, **kwargs) -> live.ServerEnv:
    server_env = live.ServerEnv.create(tmp_path_factory.mktemp(name), **kwargs)
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def live_env(tmp_path_factory) -> live.ServerEnv:
    """A migrated ServerEnv on SQLite and the in-memory channel layer."""
    return _env(tmp_path_factory, "e2e")


@pytest.fixture(scope="module")
def redis_env(tmp_path_factory) -> live.ServerEnv:
    """A migrated ServerEnv on Redis (fresh key prefix); skips when there is no Redis."""
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    return _env(tmp_path_factory, "e2e-redis", redis_url=url)


@pytest.fixture(scope="module")
def tenant(live_env) -> Tenant:
    return Tenant.create(live_env)


@pytest.fixture(scope="module")
def server(live_env, tenant) -> Iterator[live.LiveServer]:
    with live.LiveServer(live_env) as running:
        yield running


class PhoenixNode:
    """One Node process driving the official phoenix client; see js/phoenix_client.js."""

    script = "phoenix_client.js"

    def __init__(self, config: dict):
        self.config = config
        self.process = subprocess.Popen(
            [NODE, str(JS / self.script), json.dumps(config)],
            cwd=live.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.seen: list[dict] = []  # everything observed, in order
        self._unclaimed: list[dict] = []
        self._incoming: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            line = line.strip()
            if line:
                record = json.loads(line)
                record["received_at"] = time.monotonic()  # when it came, not when expected
                self._incoming.put(record)
        self._incoming.put(None)

    def _drain(self, timeout: float) -> bool:
        """Move arrived records to `seen`; False when the process has ended its output."""
        try:
            record = self._incoming.get(timeout=timeout)
        except queue.Empty:
            return True
        while True:
            if record is None:
                return False
            self.seen.append(record)
            self._unclaimed.append(record)
            try:
                record = self._incoming.get_nowait()
            except queue.Empty:
                return True

    def send(self, cmd: str, **fields) -> None:
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.process.stdin.flush()

    def expect(self, type: str, timeout: float = WAIT, **match) -> dict:
        """The first not yet expected record of this type with these fields; waits for it."""
        deadline = time.monotonic() + timeout
        alive = True
        while True:
            for record in self._unclaimed:
                if record["type"] == type and all(record.get(k) == v for k, v in match.items()):
                    self._unclaimed.remove(record)
                    return record
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not alive:
                why = f"within {timeout}s" if alive else "before the client exited"
                raise AssertionError(
                    f"no {type} {match} {why}; observed: {self.seen}"
                    f"\nstderr: {self.stderr_text() if not alive else '(running)'}"
                )
            alive = self._drain(min(remaining, 0.2))

    def expect_open(self) -> None:
        self.expect("open")

    def join(self, topic: str) -> dict:
        self.send("join", topic=topic)
        return self.expect("join", topic=topic)

    def push(self, id: str, topic: str, event: str, payload: dict) -> dict:
        self.send("push", id=id, topic=topic, event=event, payload=payload)
        return self.expect("reply", id=id)

    def messages(self, topic: str, event: str) -> list[dict]:
        """Payloads of the broadcasts received so far (after draining what has arrived)."""
        self._drain(0)
        return [
            r["payload"]
            for r in self.seen
            if r["type"] == "message" and r["topic"] == topic and r["event"] == event
        ]

    def stderr_text(self) -> str:
        """What the client wrote on stderr; call it only once its stdout has ended."""
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "(still running)"
        return f"exit {self.process.returncode}: {self.process.stderr.read()}"

    def close(self) -> int:
        if self.process.poll() is None:
            try:
                self.send("quit")
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


@pytest.fixture
def phoenix() -> Iterator[Callable[..., PhoenixNode]]:
    """phoenix(server, **config) starts a phoenix client process for `server`."""
    if NODE is None:
        pytest.skip("node is not installed")
    if not (live.ROOT / "node_modules" / "phoenix").exists():
        pytest.skip("run `npm install` for the phoenix client")
    started: list[PhoenixNode] = []

    def start(server: live.LiveServer, **config) -> PhoenixNode:
        config.setdefault("url", f"{server.ws_url}/socket")
        client = PhoenixNode(config)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


# The Pusher-protocol fixtures (official pusher-js, laravel-echo, npm and PyPI `pusher`,
# Pysher) live in pusher_support.py; imported here so that every e2e module sees them.
from tests.e2e.pusher_support import (  # noqa: E402, F401
    echo_js,
    pusher_app,
    pusher_js,
    pusher_node_backend,
    pusher_py,
    pysher,
)
