"""A Redis restart heals: two server processes on a PRIVATE Redis (never the shared one),
stock phoenix clients on both; Redis is SIGKILLed (it keeps nothing on disk) and started
again on the same port.

While it is away the HTTP APIs answer 503 with Retry-After at once and the sockets stay
open; after it returns every event answered 200 reaches every subscriber, and presence,
subscription counts and the connection quota are true again within a few seconds (each
process rewrites its share from its live connections, realtime.presence).
Skips without redis-server or Node.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import shutil
import signal
import socket
import subprocess
import time
import uuid
from urllib.parse import urlencode

import pytest
import websockets.sync.client as ws_client

from tests.e2e.conftest import (
    NODE,
    WAIT,
    Tenant,
    session_jwt,
    socket_path,
    trigger,
    upgrade_status,
    wait_until,
)
from tests.e2e.test_presence_processes import Tab, api_get
from tests.support import live

pytestmark = pytest.mark.e2e

REDIS_SERVER = shutil.which("redis-server")
RECONCILE = 1  # EXPUSHER_RECONCILE_SECONDS of these servers
HEALED_WITHIN = 15.0  # seconds after Redis is back (reconnect back-off, probes, reconcile)
FAST = 2.5  # seconds: an answer while Redis is away comes at least this fast


class PrivateRedis:
    """A throwaway redis-server on a free port that keeps nothing on disk."""

    def __init__(self) -> None:
        self.port = live.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis():
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    private = PrivateRedis()
    private.start()
    yield private
    private.kill()


@pytest.fixture(scope="module")
def restart_env(tmp_path_factory, redis) -> live.ServerEnv:
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("redis-restart"),
        redis_url=redis.url,
        EXPUSHER_PRESENCE_TTL_SECONDS="6",
        EXPUSHER_RECONCILE_SECONDS=str(RECONCILE),
        EXPUSHER_APP_CACHE_SECONDS="1",
    )
    live.migrate(server_env)
    return server_env


def pusher_trigger(server: live.LiveServer, tenant: Tenant, secret: str, channel: str, data):
    """POST /apps/{id}/events signed as the Pusher server libraries sign it."""
    path = f"/apps/{tenant.app_id}/events"
    raw = json.dumps({"name": "ev", "channel": channel, "data": json.dumps(data)}).encode()
    query = {
        "auth_key": tenant.app_key,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
        "body_md5": hashlib.md5(raw).hexdigest(),
    }
    to_sign = "\n".join(["POST", path, "&".join(f"{k}={v}" for k, v in sorted(query.items()))])
    query["auth_signature"] = hmac.new(
        secret.encode(), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    try:
        conn.request("POST", f"{path}?{urlencode(query)}", body=raw, headers=_JSON)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"null")
    finally:
        conn.close()


_JSON = {"Content-Type": "application/json"}


def _refused_fast(answer, started: float) -> None:
    status, headers, body = answer
    assert time.monotonic() - started < FAST, "the answer took too long"
    assert status == 503, body
    assert {k.lower(): v for k, v in headers.items()}.get("retry-after") == "1", headers
    assert body["error"]["code"] == "unavailable", body


def test_a_redis_restart_heals_delivery_presence_counts_and_quota(phoenix, redis, restart_env):
    if NODE is None:
        pytest.skip("node is not installed")
    creds = live.bootstrap(restart_env, "Acme", "ops@acme.test", app="Chat")
    tenant = Tenant(
        restart_env, creds["organization"], creds["token"], creds["app_key"], creds["app_id"]
    )
    topic = f"presence:room-{uuid.uuid4().hex[:6]}"
    with live.LiveServer(restart_env) as a, live.LiveServer(restart_env) as b:
        jwt = session_jwt(a, tenant, listen=["*"], publish=[])
        listeners = []
        for server in (a, b):
            listener = phoenix(
                server, params={"app_key": tenant.app_key}, authToken=jwt, lifetimeMs=90000
            )
            listener.expect_open()
            assert listener.join("room:1")["status"] == "ok"
            listeners.append(listener)
        tabs = []
        for server, user in ((a, "ann"), (b, "bob"), (b, "cid")):
            member_jwt = session_jwt(a, tenant, listen=["presence:*"], publish=[], user_id=user)
            tabs.append(Tab(server, tenant, member_jwt, topic).joined())
        watcher, bob, cid = tabs
        watcher.sees({"ann": 1, "bob": 1, "cid": 1})
        prober = phoenix(a, params={"app_key": tenant.app_key}, authToken=jwt)
        prober.expect_open()
        # Six sockets: the quota is full.
        status, _, body = a.request(
            "PATCH",
            f"/api/organizations/{tenant.organization}/applications/{tenant.app_key}",
            body={"max_connections": 6},
            headers={"Authorization": f"Bearer {tenant.token}"},
        )
        assert status == 200, body
        extra = socket_path(app_key=tenant.app_key, jwt=jwt, vsn="2.0.0")
        wait_until(lambda: upgrade_status(a, extra) == 403, what="the quota of 6 is full")

        redis.kill()
        started = time.monotonic()
        status, body = trigger(a, tenant, "ev", {"topic": "room:1", "n": "0"}, tenant.token)
        assert (status, body["error"]["code"]) == (503, "unavailable"), body
        assert time.monotonic() - started < FAST
        started = time.monotonic()
        _refused_fast(pusher_trigger(b, tenant, creds["app_secret"], "room:1", {"n": 0}), started)
        started = time.monotonic()
        status, headers, raw = a.post("/api/sessions", body={"token": tenant.token})
        _refused_fast((status, headers, json.loads(raw)), started)
        # A new socket is refused with the retryable answer (503 on a Phoenix upgrade).
        assert upgrade_status(a, extra) == 503
        # A frame that needs Redis closes its socket with 4100 (back off, reconnect).
        time.sleep(RECONCILE + 0.5)  # the process has seen Redis go
        prober.send("join", topic="room:2")
        assert prober.expect("close")["code"] == 4100
        cid.close()  # a member leaves while Redis is away

        redis.start()
        back = time.monotonic()
        acknowledged, seq = [], 0
        while len(acknowledged) < 10 and time.monotonic() - back < HEALED_WITHIN:
            seq += 1
            server = (a, b)[seq % 2]
            status, body = trigger(
                server, tenant, "ev", {"topic": "room:1", "n": str(seq)}, tenant.token
            )
            assert status in (200, 503), body
            if status == 200:
                acknowledged.append(str(seq))
            time.sleep(0.05)
        assert len(acknowledged) == 10, "triggers never succeeded after Redis came back"

        # Every event answered 200 reached both processes' subscribers.
        for listener in listeners:
            wait_until(
                lambda listener=listener: (
                    set(acknowledged) <= {m["n"] for m in listener.messages("room:1", "ev")}
                ),
                what="every acknowledged event",
            )
        # Presence, counts and the quota are the truth again, on both processes.
        for server in (a, b):
            wait_until(
                lambda server=server: (
                    api_get(server, tenant, f"topics/{topic}/presence")
                    == {"members": [_member("ann"), _member("bob")]}
                ),
                what="presence rewritten",
            )
            wait_until(
                lambda server=server: (
                    api_get(server, tenant, "topics/room:1")["subscription_count"] == 2
                ),
                what="subscription counts rewritten",
            )
        # The quota counts the four sockets left: two more get in, a seventh does not.
        with ws_client.connect(b.ws_url + extra), ws_client.connect(a.ws_url + extra):
            assert upgrade_status(b, extra) == 403
        # The leave during the outage was announced once Redis was back.
        watcher.sees({"ann": 1, "bob": 1})
        assert watcher.record("leave", key="cid")["remaining"] == 0
        # No socket was dropped, and a member who joined before the restart is seen to leave.
        assert not [r for r in watcher.records if r["type"] == "close"]
        bob.close()
        watcher.sees({"ann": 1})
        assert watcher.record("leave", key="bob")["remaining"] == 0
        for listener in listeners:
            assert not [r for r in listener.seen if r["type"] == "close"]


def _member(user: str) -> dict:
    return {"id": user, "info": {}, "connections": 1}
