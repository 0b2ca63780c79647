"""The REST triggers on the lean path of a live server (`python -m expusher.server`): a
backend's kept-alive connection is served by the front door (no `Server: daphne` header on
its answers), with a secret token and a JWT, and the stock npm `phoenix` client receives
every event in order; what the lean path leaves to Django (multipart) still works."""

import json
import socket
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import Tenant, session_jwt
from tests.e2e.test_front_door import read_responses

pytestmark = pytest.mark.e2e

EVENTS = 40


@pytest.fixture(scope="module")
def rest_tenant(live_env) -> Tenant:
    return Tenant.create(live_env, name="Lean")


@pytest.fixture(scope="module")
def jwt(server, rest_tenant) -> str:
    return session_jwt(server, rest_tenant, listen=["room:*"], publish=["room:*"])


def http_request(path: str, body: bytes, headers: dict, method: str = "POST") -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def trigger_request(tenant: Tenant, bearer: str, seq: int, form: bool = False) -> bytes:
    fields = {"topic": "room:lean", "seq": str(seq)}
    if form:
        body, kind = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body, kind = json.dumps(fields).encode(), "application/json"
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": kind}
    return http_request(tenant.event_path("tick"), body, headers)


def multipart_request(tenant: Tenant, bearer: str, seq: int) -> bytes:
    parts = [("topic", "room:lean"), ("seq", str(seq))]
    body = b"".join(
        f'--BOUNDARY\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in parts
    )
    body += b"--BOUNDARY--\r\n"
    headers = {
        "Authorization": f"Bearer {bearer}",
        "Content-Type": "multipart/form-data; boundary=BOUNDARY",
    }
    return http_request(tenant.event_path("tick"), body, headers)


def subscribed(phoenix, server, tenant, jwt):
    client = phoenix(server, params={"app_key": tenant.app_key}, authToken=jwt)
    client.expect_open()
    assert client.join("room:lean")["status"] == "ok"
    return client


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def test_triggers_on_one_kept_alive_connection_arrive_in_order(phoenix, server, rest_tenant, jwt):
    client = subscribed(phoenix, server, rest_tenant, jwt)
    with connect(server) as sock:
        for seq in range(EVENTS):
            bearer = rest_tenant.token if seq % 2 else jwt  # secret token and JWT alternately
            sock.sendall(trigger_request(rest_tenant, bearer, seq, form=seq % 3 == 0))
            [(status, headers, body)] = read_responses(sock, 1)
            assert (status, body) == (200, b"{}")
            assert headers["connection"] == "keep-alive"
            assert "server" not in headers  # the front door answered, not daphne
    client.expect("message", topic="room:lean", event="tick", payload={"seq": str(EVENTS - 1)})
    assert client.messages("room:lean", "tick") == [{"seq": str(i)} for i in range(EVENTS)]


def test_pipelined_triggers_and_refusals_are_answered_in_order(server, rest_tenant, jwt):
    batch = json.dumps({"events": [{"topic": "room:lean", "event": "b"}] * 2}).encode()
    batch_path = rest_tenant.event_path("x").rsplit("/event/", 1)[0] + "/events"
    with connect(server) as sock:
        sock.sendall(
            trigger_request(rest_tenant, jwt, 1)
            + trigger_request(rest_tenant, "exps_wrong", 2)
            + http_request(batch_path, batch, {"Authorization": f"Bearer {jwt}"} | JSON)
        )
        first, second, third = read_responses(sock, 3)
    assert first[0] == 200
    assert second[0] == 401 and second[1]["www-authenticate"] == 'Bearer realm="expusher"'
    assert json.loads(second[2])["error"]["code"] == "authentication_failed"
    assert (third[0], json.loads(third[2])) == (200, {"sent": 2})
    assert all("server" not in headers for _, headers, _ in (first, second, third))


JSON = {"Content-Type": "application/json"}


def test_a_multipart_trigger_goes_to_django_and_still_arrives(phoenix, server, rest_tenant, jwt):
    client = subscribed(phoenix, server, rest_tenant, jwt)
    with connect(server) as sock:
        sock.sendall(trigger_request(rest_tenant, jwt, 1))
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 200 and "server" not in headers
        # The lean path leaves multipart to Django: the connection goes back to daphne.
        sock.sendall(multipart_request(rest_tenant, rest_tenant.token, 2))
        [(status, headers, body)] = read_responses(sock, 1)
        assert (status, body) == (200, b"{}")
        assert headers["server"] == "daphne"
    with connect(server) as sock:  # and as a connection's first request
        sock.sendall(multipart_request(rest_tenant, jwt, 3))
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 200 and headers["server"] == "daphne"
    client.expect("message", topic="room:lean", event="tick", payload={"seq": "3"})
    assert client.messages("room:lean", "tick") == [{"seq": "1"}, {"seq": "2"}, {"seq": "3"}]


def test_a_cors_preflight_is_answered_on_the_lean_path(server, rest_tenant):
    headers = {
        "Origin": "https://customer.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with connect(server) as sock:
        sock.sendall(http_request(rest_tenant.event_path("tick"), b"", headers, "OPTIONS"))
        [(status, answer, _)] = read_responses(sock, 1)
    assert status == 200 and "server" not in answer
    assert answer["access-control-allow-origin"] == "https://customer.example"
    assert "authorization" in answer["access-control-allow-headers"]


def test_a_request_found_to_be_django_s_after_its_body_is_answered_by_django(server, rest_tenant):
    """A form with more fields than Django accepts is only seen once read: the lean path
    hands it to Django in process, which answers as daphne's own connection would."""
    body = urlencode({f"f{i}": "1" for i in range(1100)}).encode()
    headers = {
        "Authorization": f"Bearer {rest_tenant.token}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    request = http_request(rest_tenant.event_path("tick"), body, headers)
    answers = []
    for first in (b"", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"):
        with connect(server) as sock:  # first request: the lean path's, or daphne's
            sock.sendall(first + request + trigger_request(rest_tenant, rest_tenant.token, 9))
            *_, mine, after = read_responses(sock, 3 if first else 2)
            answers.append((mine[0], mine[2]))
            assert after[0] == 200  # the connection goes on
    lean, daphne = answers
    assert lean == daphne and lean[0] >= 400
