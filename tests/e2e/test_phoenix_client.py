"""The official npm `phoenix` client (Node) against one live daphne server.

One server (embedded in-memory layer) for the module. The JWT comes from POST
/api/sessions with the bootstrap secret token and listens on room:* and general, and
publishes on room:1 only.
"""

import base64

import pytest

from tests.e2e.conftest import session_jwt, socket_path, trigger, upgrade_status

pytestmark = pytest.mark.e2e

LISTEN, PUBLISH = ["room:*", "general"], ["room:1"]


@pytest.fixture(scope="module")
def jwt(server, tenant) -> str:
    return session_jwt(server, tenant, listen=LISTEN, publish=PUBLISH)


def _connect(phoenix, server, tenant, jwt, **config):
    """A phoenix client with the JWT as its authToken (a subprotocol, not in the URL)."""
    client = phoenix(server, params={"app_key": tenant.app_key}, authToken=jwt, **config)
    client.expect_open()
    return client


def test_it_joins_and_receives_an_event_triggered_over_rest(phoenix, server, tenant, jwt):
    client = _connect(phoenix, server, tenant, jwt)
    assert client.join("room:1")["status"] == "ok"

    status, body = trigger(
        server,
        tenant,
        "new_message",
        {"topic": "room:1", "name": "John", "message": "Hello"},
        bearer=jwt,
    )

    assert status == 200, body
    message = client.expect("message", topic="room:1", event="new_message")
    assert message["payload"] == {"name": "John", "message": "Hello"}


def test_it_refuses_a_join_outside_the_listen_claim(phoenix, server, tenant, jwt):
    client = _connect(phoenix, server, tenant, jwt)

    reply = client.join("secret:x")

    assert reply["status"] == "error"
    assert reply["response"]["reason"] == "unauthorized"
    # The socket is still fine for allowed topics.
    assert client.join("room:1")["status"] == "ok"


def test_it_refuses_a_push_without_a_publish_claim_and_delivers_nothing(
    phoenix, server, tenant, jwt
):
    sender = _connect(phoenix, server, tenant, jwt)
    listener = _connect(phoenix, server, tenant, jwt)
    for client in (sender, listener):
        assert client.join("room:2")["status"] == "ok"  # listen room:* allows the join

    reply = sender.push("p1", "room:2", "new_message", {"text": "not allowed"})

    assert reply["status"] == "error"
    assert reply["response"]["reason"] == "unauthorized"
    # The refusal was answered before anything could be sent; an event triggered after it
    # arrives, and the refused push never does.
    status, body = trigger(
        server, tenant, "marker", {"topic": "room:2", "n": "1"}, bearer=tenant.token
    )
    assert status == 200, body
    listener.expect("message", topic="room:2", event="marker")
    assert listener.messages("room:2", "new_message") == []


def test_a_push_reaches_a_second_phoenix_client(phoenix, server, tenant, jwt):
    sender = _connect(phoenix, server, tenant, jwt)
    receiver = _connect(phoenix, server, tenant, jwt)
    for client in (sender, receiver):
        assert client.join("room:1")["status"] == "ok"

    reply = sender.push("p1", "room:1", "new_message", {"name": "Ann", "message": "hi"})

    assert reply["status"] == "ok"
    for client in (receiver, sender):  # the sender is a subscriber too, as in Phoenix
        message = client.expect("message", topic="room:1", event="new_message")
        assert message["payload"] == {"name": "Ann", "message": "hi"}


def test_an_arraybuffer_push_arrives_as_an_arraybuffer(phoenix, server, tenant, jwt):
    sender = _connect(phoenix, server, tenant, jwt)
    receiver = _connect(phoenix, server, tenant, jwt)
    for client in (sender, receiver):
        assert client.join("room:1")["status"] == "ok"

    sender.send("push", id="b1", topic="room:1", event="blob", payload_b64="AAH/gA==")

    assert sender.expect("reply", id="b1")["status"] == "ok"
    message = receiver.expect("message", topic="room:1", event="blob")
    assert message["payload_b64"] == "AAH/gA=="


def test_serializer_v1_with_the_jwt_as_a_param(phoenix, server, tenant, jwt):
    sender = phoenix(server, params={"app_key": tenant.app_key, "jwt": jwt}, vsn="1.0.0")
    receiver = _connect(phoenix, server, tenant, jwt)  # v2 on the same topic
    sender.expect_open()
    for client in (sender, receiver):
        assert client.join("room:1")["status"] == "ok"

    reply = sender.push("p1", "room:1", "new_message", {"message": "from v1"})

    assert reply["status"] == "ok"
    for client in (sender, receiver):
        message = client.expect("message", topic="room:1", event="new_message")
        assert message["payload"] == {"message": "from v1"}
    assert sender.join("secret:x")["response"]["reason"] == "unauthorized"


def test_a_bad_jwt_never_opens_the_socket(phoenix, server, tenant, jwt):
    bad = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    client = phoenix(server, params={"app_key": tenant.app_key}, authToken=bad)

    error = client.expect("error")

    assert "403" in error["message"]
    assert not [r for r in client.seen if r["type"] == "open"]
    protocol = "base64url.bearer.phx." + _b64(bad)
    headers = {"Sec-WebSocket-Protocol": f"phoenix, {protocol}"}
    assert upgrade_status(server, socket_path(app_key=tenant.app_key), headers) == 403
    assert upgrade_status(server, socket_path(app_key=tenant.app_key, jwt=bad)) == 403
    # The good JWT passes the very same raw handshake.
    assert upgrade_status(server, socket_path(app_key=tenant.app_key, jwt=jwt)) == 101


def test_the_server_log_never_contains_a_jwt(phoenix, server, tenant):
    """Reliability #25: neither refused nor accepted tokens reach the log, in any position."""
    used = session_jwt(server, tenant, listen=LISTEN, publish=PUBLISH, user_id="u-25")
    refused = used[:-4] + ("AAAA" if not used.endswith("AAAA") else "BBBB")
    # Refused: as a subprotocol and in the query string.
    for config in (
        {"params": {"app_key": tenant.app_key}, "authToken": refused},
        {"params": {"app_key": tenant.app_key, "jwt": refused}},
    ):
        phoenix(server, **config).expect("error")
    # Accepted: as a subprotocol, in the query string (v1 and v2), on REST.
    for config in (
        {"params": {"app_key": tenant.app_key}, "authToken": used},
        {"params": {"app_key": tenant.app_key, "jwt": used}},
        {"params": {"app_key": tenant.app_key, "guardian_token": used}, "vsn": "1.0.0"},
    ):
        client = phoenix(server, **config)
        client.expect_open()
        assert client.join("room:1")["status"] == "ok"
        assert client.push("p", "room:1", "new_message", {"m": 1})["status"] == "ok"
        assert client.join("secret:x")["status"] == "error"
        client.close()
    assert trigger(server, tenant, "m", {"topic": "room:1"}, bearer=used)[0] == 200
    assert trigger(server, tenant, "m", {"topic": "room:1"}, bearer=refused)[0] == 401

    log = server.log_text()
    assert "WSREJECT" in log and "WSCONNECT" in log  # the log did record these sockets
    for token in (used, refused):
        assert token[:16] not in log
        assert token[-16:] not in log  # the signature, the part that differs
    assert tenant.token[:16] not in log


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")
