"""SIGTERM drains a process: its sockets close with 4200 spread over the drain window,
its presence leaves at once (seen from the other process), and it exits cleanly."""

import json
import time

import pytest

from tests.e2e.conftest import WAIT, Tenant, session_jwt
from tests.support import live

pytestmark = pytest.mark.e2e

CLIENTS = 4
DRAIN = 2.0


@pytest.fixture(scope="module")
def drain_env(tmp_path_factory):
    redis = live.redis_url()
    if redis is None:
        pytest.skip("no Redis")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("drain"), redis_url=redis, EXPUSHER_DRAIN_SECONDS=str(DRAIN)
    )
    live.migrate(server_env)
    return server_env


def members(server, tenant) -> list[str]:
    status, _, body = server.get(
        f"/api/organizations/{tenant.organization}/applications/{tenant.app_key}"
        "/topics/presence:room/presence",
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    assert status == 200, body
    return sorted(member["id"] for member in json.loads(body)["members"])


def test_sigterm_closes_with_4200_over_the_window_and_presence_leaves_at_once(phoenix, drain_env):
    tenant = Tenant.create(drain_env)
    with live.LiveServer(drain_env) as staying, live.LiveServer(drain_env) as leaving:
        clients = []
        for n in range(CLIENTS):
            jwt = session_jwt(staying, tenant, listen=["presence:room"], user_id=f"u{n}")
            client = phoenix(leaving, params={"app_key": tenant.app_key}, authToken=jwt)
            client.expect_open()
            assert client.join("presence:room")["status"] == "ok"
            clients.append(client)
        assert members(staying, tenant) == [f"u{n}" for n in range(CLIENTS)]

        started = time.monotonic()
        leaving.process.terminate()
        closed_at = []
        for client in clients:
            closed = client.expect("close", timeout=WAIT)
            assert closed["code"] == 4200
            closed_at.append(closed["received_at"] - started)
        # Spread over the window, not all in the same instant.
        assert max(closed_at) - min(closed_at) >= DRAIN / 2
        assert leaving.process.wait(timeout=DRAIN + 8) == 0
        # The other process saw them leave at once, not after the presence TTL.
        assert members(staying, tenant) == []
