"""Churn leaves no ghosts: the stock phoenix client connects, joins a presence topic and a
plain one, and disconnects, as fast as one server process takes it, for some seconds; then
presence, subscription counts and the connection quota are the truth again within the
reconciliation bound (EXPUSHER_RECONCILE_SECONDS plus a beat), whatever cleanup failed or
was cancelled under the load (realtime.presence). Skips without Redis or Node.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid

import pytest
import websockets.sync.client as ws_client

from tests.e2e.conftest import JS, NODE, Tenant, session_jwt, socket_path, upgrade_status
from tests.e2e.test_presence_processes import Tab, api_get
from tests.support import live

pytestmark = pytest.mark.e2e

RECONCILE = 2  # EXPUSHER_RECONCILE_SECONDS of this server
CHURN_SECONDS = 20
CONCURRENCY = 200
USERS = 5
HEALED_WITHIN = RECONCILE * 3 + 5  # seconds after the churn stopped


@pytest.fixture(scope="module")
def churn_env(tmp_path_factory):
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    if NODE is None or not (live.ROOT / "node_modules" / "phoenix").exists():
        pytest.skip("node and the npm phoenix client are needed")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("churn"),
        redis_url=url,
        EXPUSHER_RECONCILE_SECONDS=str(RECONCILE),
        EXPUSHER_APP_CACHE_SECONDS="1",
    )
    live.migrate(server_env)
    return server_env


def churn(server: live.LiveServer, tenant: Tenant, tokens: list[str], topics: list[str]) -> dict:
    config = {
        "url": f"{server.ws_url}/socket",
        "params": {"app_key": tenant.app_key},
        "tokens": tokens,
        "topics": topics,
        "seconds": CHURN_SECONDS,
        "concurrency": CONCURRENCY,
    }
    result = subprocess.run(
        [NODE, str(JS / "churn_client.js"), json.dumps(config)],
        cwd=live.ROOT,
        capture_output=True,
        text=True,
        timeout=CHURN_SECONDS + 60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_churn_leaves_no_ghost_members_counts_or_quota(churn_env):
    tenant = Tenant.create(churn_env)
    topic = f"presence:churn-{uuid.uuid4().hex[:6]}"
    with live.LiveServer(churn_env) as server:
        watcher_jwt = session_jwt(
            server, tenant, listen=["presence:*"], publish=[], user_id="watcher"
        )
        watcher = Tab(server, tenant, watcher_jwt, topic).joined()
        tokens = [
            session_jwt(server, tenant, listen=["*"], publish=[], user_id=f"u{n}")
            for n in range(USERS)
        ]

        done = churn(server, tenant, tokens, [topic, "room:churn"])
        stopped = time.monotonic()
        assert done["joined"] > CHURN_SECONDS * 20, done  # it did churn

        def left() -> float:
            return max(stopped + HEALED_WITHIN - time.monotonic(), 0.1)

        def true_again():
            members = api_get(server, tenant, f"topics/{topic}/presence")["members"]
            counts = api_get(server, tenant, "topics")["topics"]
            return members == [{"id": "watcher", "info": {}, "connections": 1}] and counts == {
                topic: {"subscription_count": 1, "user_count": 1}
            }

        watcher.until(lambda _: true_again(), "presence and counts back to the truth", left())
        watcher.sees({"watcher": 1}, timeout=left())

        # The quota counts the one socket left: with 3 allowed, two more get in, not three.
        status, _, body = server.request(
            "PATCH",
            f"/api/organizations/{tenant.organization}/applications/{tenant.app_key}",
            body={"max_connections": 3},
            headers={"Authorization": f"Bearer {tenant.token}"},
        )
        assert status == 200, body
        time.sleep(1.5)  # EXPUSHER_APP_CACHE_SECONDS
        path = socket_path(app_key=tenant.app_key, jwt=tokens[0], vsn="2.0.0")
        with contextlib.ExitStack() as held:
            for _ in range(2):
                held.enter_context(ws_client.connect(server.ws_url + path))
            assert upgrade_status(server, path) == 403, "over the quota of 3"
