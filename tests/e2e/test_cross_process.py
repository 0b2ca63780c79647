"""Two server processes sharing one Redis: events cross from one to the other.

One ServerEnv (one SQLite file, one Redis key prefix), two daphne processes A and B, and
official phoenix clients (Node) connected to each. Skips without Redis.
"""

import pytest

from tests.e2e.conftest import Tenant, session_jwt, trigger
from tests.support import live

pytestmark = pytest.mark.e2e

EVENTS_IN_SEQUENCE = 20


@pytest.fixture(scope="module")
def redis_tenant(redis_env) -> Tenant:
    return Tenant.create(redis_env)


@pytest.fixture(scope="module")
def server_a(redis_env, redis_tenant):
    with live.LiveServer(redis_env) as running:
        yield running


@pytest.fixture(scope="module")
def server_b(redis_env, redis_tenant):
    with live.LiveServer(redis_env) as running:
        yield running


@pytest.fixture(scope="module")
def jwt(server_a, redis_tenant) -> str:
    return session_jwt(server_a, redis_tenant, listen=["general"], publish=["general"])


def _client(phoenix, server, tenant, jwt):
    client = phoenix(server, params={"app_key": tenant.app_key}, authToken=jwt)
    client.expect_open()
    assert client.join("general")["status"] == "ok"
    return client


def test_a_rest_event_on_b_reaches_a_client_on_a(phoenix, server_a, server_b, redis_tenant, jwt):
    on_a = _client(phoenix, server_a, redis_tenant, jwt)

    status, body = trigger(
        server_b, redis_tenant, "new_message", {"message": "via B"}, bearer=redis_tenant.token
    )

    assert status == 200, body
    message = on_a.expect("message", topic="general", event="new_message")
    assert message["payload"] == {"message": "via B"}


def test_client_pushes_cross_between_processes(phoenix, server_a, server_b, redis_tenant, jwt):
    on_a = _client(phoenix, server_a, redis_tenant, jwt)
    on_b = _client(phoenix, server_b, redis_tenant, jwt)

    assert on_b.push("1", "general", "chat", {"from": "b"})["status"] == "ok"
    assert on_a.push("2", "general", "chat", {"from": "a"})["status"] == "ok"

    for client in (on_a, on_b):
        assert client.expect("message", event="chat", payload={"from": "b"})
        assert client.expect("message", event="chat", payload={"from": "a"})


def test_a_sequence_triggered_on_a_arrives_on_b_in_order(
    phoenix, server_a, server_b, redis_tenant, jwt
):
    on_b = _client(phoenix, server_b, redis_tenant, jwt)

    for seq in range(EVENTS_IN_SEQUENCE):
        status, body = trigger(
            server_a, redis_tenant, "tick", {"seq": str(seq)}, bearer=redis_tenant.token
        )
        assert status == 200, body

    on_b.expect("message", event="tick", payload={"seq": str(EVENTS_IN_SEQUENCE - 1)})
    received = [int(p["seq"]) for p in on_b.messages("general", "tick")]
    assert received == list(range(EVENTS_IN_SEQUENCE))


def test_a_user_disconnected_through_b_stays_out_of_a_and_b(
    phoenix, server_a, server_b, redis_tenant
):
    from tests.e2e.conftest import socket_path, upgrade_status

    dave = session_jwt(server_a, redis_tenant, listen=["general"], user_id="dave")
    client = _client(phoenix, server_a, redis_tenant, dave)

    status, _, body = server_b.post(
        f"/api/organizations/{redis_tenant.organization}/applications/"
        f"{redis_tenant.app_key}/users/dave/disconnect",
        headers={"Authorization": f"Bearer {redis_tenant.token}"},
    )
    assert status == 200, body
    assert client.expect("close")["code"] == 4009

    # The stock client keeps trying with the same JWT; no process lets it back in.
    with pytest.raises(AssertionError):
        client.expect("open", timeout=3)
    for server in (server_a, server_b):
        path = socket_path(app_key=redis_tenant.app_key, jwt=dave, vsn="2.0.0")
        assert upgrade_status(server, path) == 403
    # A newly issued JWT for dave gets in.
    fresh = session_jwt(server_b, redis_tenant, listen=["general"], user_id="dave")
    _client(phoenix, server_b, redis_tenant, fresh)


def test_a_keeps_delivering_after_b_is_killed(phoenix, server_a, server_b, redis_tenant, jwt):
    on_a = _client(phoenix, server_a, redis_tenant, jwt)
    on_b = _client(phoenix, server_b, redis_tenant, jwt)

    server_b.kill()  # SIGKILL: no cleanup, as in a crash

    on_b.expect("close")  # B's client notices its server is gone
    status, body = trigger(
        server_a, redis_tenant, "after_crash", {"n": "1"}, bearer=redis_tenant.token
    )
    assert status == 200, body
    on_a.expect("message", event="after_crash", payload={"n": "1"})
    assert on_a.push("3", "general", "chat", {"from": "a, alone"})["status"] == "ok"
    on_a.expect("message", event="chat", payload={"from": "a, alone"})
