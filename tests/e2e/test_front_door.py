"""The lean HTTP/1.1 path for the Pusher HTTP API (expusher.front_door.py), on a live
daphne process, with raw sockets: what the official libraries do (keep-alive) works, and
what they do not do gets a clear answer or goes back to daphne.
"""

import json
import socket
import time
from pathlib import Path

import pytest

from realtime.pusher.signatures import body_md5, request_string, sign
from tests.e2e.pusher_support import PusherApp

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(server) -> PusherApp:
    return PusherApp.bootstrap(server, name="Fastpath")


def signed_trigger(app: PusherApp, channel="fast", name="e", keep_alive=True) -> bytes:
    body = json.dumps({"name": name, "channel": channel, "data": "{}"}).encode()
    path = f"/apps/{app.app_id}/events"
    params = {
        "auth_key": app.key,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
        "body_md5": body_md5(body),
    }
    params["auth_signature"] = sign(app.secret, request_string("POST", path, params))
    query = "&".join(f"{k}={v}" for k, v in params.items())
    connection = "" if keep_alive else "Connection: close\r\n"
    head = (
        f"POST {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{connection}\r\n"
    )
    return head.encode() + body


def connect(app: PusherApp) -> socket.socket:
    sock = socket.create_connection((app.host, app.port), timeout=5)
    return sock


def read_responses(sock: socket.socket, count: int) -> list[tuple[int, dict, bytes]]:
    """`count` HTTP responses (status, headers, body), read with Content-Length."""
    data, out = b"", []
    while len(out) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            lines = data[:end].split(b"\r\n")
            headers = {
                k.strip().lower().decode(): v.strip().decode()
                for k, _, v in (line.partition(b":") for line in lines[1:])
            }
            length = int(headers.get("content-length", "0"))
            if len(data) >= end + 4 + length:
                out.append((int(lines[0].split()[1]), headers, data[end + 4 : end + 4 + length]))
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return out


def test_a_kept_alive_connection_answers_request_after_request(app):
    with connect(app) as sock:
        for _ in range(3):
            sock.sendall(signed_trigger(app))
            [(status, headers, body)] = read_responses(sock, 1)
            assert (status, body) == (200, b"{}")
            assert headers["connection"] == "keep-alive"


def test_pipelined_requests_are_answered_in_order(app):
    with connect(app) as sock:
        sock.sendall(signed_trigger(app) + signed_trigger(app, name="bad name!"))
        first, second = read_responses(sock, 2)
        assert first[0] == 200
        assert second[0] == 400 and json.loads(second[2])["error"]["code"] == "invalid_event"


def test_a_request_that_arrives_byte_by_byte_is_answered(app):
    with connect(app) as sock:
        for byte in signed_trigger(app):
            sock.sendall(bytes([byte]))
        assert read_responses(sock, 1)[0][0] == 200


def test_connection_close_is_honoured(app):
    with connect(app) as sock:
        sock.sendall(signed_trigger(app, keep_alive=False))
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 200 and headers["connection"] == "close"
        assert sock.recv(10) == b""


def test_a_django_path_after_an_api_request_goes_back_to_daphne(app):
    with connect(app) as sock:
        sock.sendall(signed_trigger(app))
        assert read_responses(sock, 1)[0][0] == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        [(status, _, body)] = read_responses(sock, 1)
        assert status == 200 and json.loads(body)["status"] == "ok"


def test_the_api_after_a_django_request_is_still_served_by_daphne(app):
    with connect(app) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_responses(sock, 1)[0][0] == 200
        sock.sendall(signed_trigger(app))
        assert read_responses(sock, 1)[0][0] == 200


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"POST /apps/1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
        (b"POST /apps/1/events HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST /apps/1/events HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"POST /apps/1/events HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        (b"POST /apps/1/events HTTP/1.1\r\nX-Big: " + b"a" * 20000, 431),
    ],
)
def test_what_the_libraries_never_send_gets_a_clear_answer_and_a_close(app, request_bytes, status):
    with connect(app) as sock:
        sock.sendall(request_bytes)
        [(got, headers, _)] = read_responses(sock, 1)
        assert (got, headers["connection"]) == (status, "close")


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """A server with a 2-second head deadline and 5 half-open connections per address."""
    from tests.support import live

    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("front-door"),
        EXPUSHER_HEAD_TIMEOUT_SECONDS="2",
        EXPUSHER_HALF_OPEN_PER_ADDRESS="5",
    )
    live.migrate(server_env)
    with live.LiveServer(server_env) as running:
        yield running


def healthz(server) -> int:
    return server.get("/healthz")[0]


def test_a_head_that_dribbles_past_the_deadline_gets_408_and_a_close(strict_server):
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=8) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        for _ in range(3):  # a header line a second, never the end of the head
            time.sleep(1)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 5


def test_an_address_holds_only_so_many_half_open_connections(strict_server):
    held = [socket.create_connection(("127.0.0.1", strict_server.port)) for _ in range(5)]
    try:
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # heads never finished
        time.sleep(0.3)
        assert refused_without_an_answer(strict_server.port)
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert healthz(strict_server) == 200  # the slots came back


def refused_without_an_answer(port: int) -> bool:
    """The server aborts a refused connection, so its reset may reach any step of ours:
    even connect(), whose timeout makes it poll and then read the socket's error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return extra.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_the_server_raised_its_file_descriptor_limit(strict_server):
    import resource

    limits = Path(f"/proc/{strict_server.process.pid}/limits").read_text()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard == str(resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def test_a_path_that_only_looks_like_the_apis_goes_to_django(app):
    with connect(app) as sock:
        sock.sendall(
            b"POST /users/42/profile HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 404 and not headers["content-type"].startswith("application/json")


def test_expect_100_continue_is_answered_before_the_body(app):
    request = signed_trigger(app)
    head, _, body = request.partition(b"\r\n\r\n")
    with connect(app) as sock:
        sock.sendall(head + b"\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert read_responses(sock, 1)[0][0] == 200
