"""Long-poll behind a plain round-robin balancer: two server processes on one Redis.

A long-poll session lives in the process that opened it (its owner). A poll or a push
that the balancer sends to the other process is served there: that process reaches the
owner through the channel layer, as Phoenix reaches a session through PubSub. So the
stock npm `phoenix` LongPoll client works with no sticky routing and never reconnects.

The balancer here alternates between A and B, with one rotation for GETs and one for
POSTs: a plain rotation over all requests can settle into "every POST to A, every poll to
B" (the client's rhythm is POST, then poll), and each kind must land on both processes.
"""

import json
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.conftest import Tenant, session_jwt, trigger
from tests.e2e.test_longpoll_client import LongPollNode
from tests.support import live
from tests.support.proxy import HttpProxy

pytestmark = pytest.mark.e2e

WINDOW_MS = 1000
EVENTS = 30


class RoundRobinBalancer(HttpProxy):
    """An HTTP proxy that sends each GET, and each POST, to the next server in turn."""

    def __init__(self, servers: list[live.LiveServer]):
        self.servers = servers
        self.turns = {"GET": 0, "POST": 0, "OPTIONS": 0}
        self.routed: list[tuple[str, bool, int]] = []  # (method, with a token, server index)
        self._lock = threading.Lock()
        super().__init__()

    def route(self, request) -> live.LiveServer:
        with self._lock:
            index = self.turns[request.command] % len(self.servers)
            self.turns[request.command] += 1
            has_token = "token" in parse_qs(urlsplit(request.path).query)
            self.routed.append((request.command, has_token, index))
        return self.servers[index]

    def served(self, method: str, index: int) -> int:
        """How many requests of a session (with a token) went to server `index`."""
        return sum(1 for m, token, i in self.routed if m == method and token and i == index)


@pytest.fixture(scope="module")
def lp_redis_env(tmp_path_factory) -> live.ServerEnv:
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("e2e-lp-processes"),
        redis_url=url,
        EXPUSHER_LONGPOLL_WINDOW_MS=str(WINDOW_MS),
    )
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def lp_tenant(lp_redis_env) -> Tenant:
    return Tenant.create(lp_redis_env, "Balanced")


@pytest.fixture(scope="module")
def servers(lp_redis_env, lp_tenant):
    with live.LiveServer(lp_redis_env) as a, live.LiveServer(lp_redis_env) as b:
        yield [a, b]


@pytest.fixture
def balancer(servers):
    running = RoundRobinBalancer(servers)
    yield running
    running.close()


@pytest.fixture
def longpoll(phoenix):  # `phoenix` first: it skips without node or the npm package
    started: list[LongPollNode] = []

    def start(url: str, tenant: Tenant, jwt: str) -> LongPollNode:
        client = LongPollNode(
            {"url": f"{url}/socket", "params": {"app_key": tenant.app_key}, "authToken": jwt}
        )
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


def _jwt(server, tenant, **fields) -> str:
    return session_jwt(server, tenant, listen=["room:*"], publish=["room:*"], **fields)


def _assert_never_reconnected(client: LongPollNode) -> None:
    client._drain(0)
    trouble = [r for r in client.seen if r["type"] in ("error", "close", "fatal")]
    assert trouble == [], trouble
    assert [r["type"] for r in client.seen].count("open") == 1


def test_the_stock_client_works_through_a_round_robin_balancer(
    longpoll, balancer, servers, lp_tenant
):
    jwt = _jwt(servers[0], lp_tenant)
    client = longpoll(balancer.ws_url, lp_tenant, jwt)
    assert client.expect("open")["transport"] == "LongPoll"
    assert client.join("room:rr")["status"] == "ok"

    # Pushes over POST, half of them on the process that does not own the session.
    for n in range(6):
        assert client.push(f"p{n}", "room:rr", "said", {"n": n})["status"] == "ok"
    for n in range(6):
        assert client.expect("message", topic="room:rr", event="said")["payload"] == {"n": n}
    # Events triggered on both processes reach the session, through polls on both.
    for server in servers:
        status, body = trigger(server, lp_tenant, "hello", {"topic": "room:rr"}, bearer=jwt)
        assert status == 200, body
    client.expect("message", topic="room:rr", event="hello")
    client.expect("message", topic="room:rr", event="hello")

    for method in ("GET", "POST"):
        for index in (0, 1):
            assert balancer.served(method, index) >= 2, balancer.routed
    _assert_never_reconnected(client)


def test_frames_buffered_on_the_owner_reach_polls_on_the_other_process_in_order(
    longpoll, balancer, servers, lp_tenant
):
    jwt = _jwt(servers[0], lp_tenant)
    client = longpoll(balancer.ws_url, lp_tenant, jwt)
    client.expect("open")
    assert client.join("room:seq")["status"] == "ok"

    # One process triggers them all (so they have an order), in bursts that the session
    # buffers between polls.
    for seq in range(EVENTS):
        status, body = trigger(
            servers[1], lp_tenant, "tick", {"topic": "room:seq", "seq": seq}, jwt
        )
        assert status == 200, body
        if seq % 10 == 9:
            time.sleep(0.3)

    client.expect("message", topic="room:seq", event="tick", payload={"seq": str(EVENTS - 1)})
    time.sleep(0.5)  # room for a duplicate to show up
    received = [int(p["seq"]) for p in client.messages("room:seq", "tick")]
    assert received == list(range(EVENTS))
    assert balancer.served("GET", 0) >= 2 and balancer.served("GET", 1) >= 2, balancer.routed
    _assert_never_reconnected(client)


class RawSession:
    """A long-poll session driven by hand: open on one server, then poll anywhere."""

    def __init__(self, tenant: Tenant, jwt: str):
        self.params = {"app_key": tenant.app_key, "vsn": "2.0.0", "jwt": jwt}
        self.token: str | None = None

    def path(self) -> str:
        query = {**self.params, **({"token": self.token} if self.token else {})}
        return "/socket/longpoll?" + urlencode(query)

    def open(self, server: live.LiveServer) -> None:
        body = self.get(server)
        assert body["status"] == 410 and body["token"], body
        self.token = body["token"]

    def get(self, server: live.LiveServer) -> dict:
        status, _, data = server.get(self.path(), timeout=30)
        assert status == 200, data
        return json.loads(data)

    def post(self, server: live.LiveServer, *frames: list) -> dict:
        status, _, data = server.post(
            self.path(),
            body="\n".join(json.dumps(frame) for frame in frames),
            headers={"Content-Type": "application/x-ndjson"},
            timeout=30,
        )
        assert status == 200, data
        return json.loads(data)


def test_a_session_polled_elsewhere_keeps_its_window_and_idle_timeout(servers, lp_tenant):
    a, b = servers
    session = RawSession(lp_tenant, _jwt(a, lp_tenant))
    session.open(a)

    # A poll on B waits the window on A's session and answers 204, keeping it alive.
    for _ in range(3):
        started = time.monotonic()
        assert session.get(b) == {"status": 204, "token": session.token, "messages": []}
        assert time.monotonic() - started >= WINDOW_MS / 1000 * 0.9
    assert session.post(b, ["1", "1", "room:idle", "phx_join", {}]) == {"status": 200}
    body = session.get(b)
    assert body["status"] == 200
    [reply] = [json.loads(m) for m in body["messages"]]
    assert reply[:4] == ["1", "1", "room:idle", "phx_reply"] and reply[4]["status"] == "ok"

    # Nobody polls for more than 1.5 windows: the session ends, and B says 410 too.
    time.sleep(2 * WINDOW_MS / 1000)
    assert session.get(b) == {"status": 410}
    assert session.get(a) == {"status": 410}


def test_a_session_whose_owner_died_answers_410_promptly_elsewhere(
    lp_redis_env, servers, lp_tenant
):
    b = servers[1]
    with live.LiveServer(lp_redis_env) as doomed:
        session = RawSession(lp_tenant, _jwt(doomed, lp_tenant))
        session.open(doomed)
        assert session.get(b)["status"] == 204  # B reaches the live owner
        doomed.kill()

    for ask in (
        lambda: session.get(b),
        lambda: session.post(b, [None, "1", "phoenix", "heartbeat", {}]),
    ):
        started = time.monotonic()
        assert ask() == {"status": 410}
        assert time.monotonic() - started < 5  # the owner timeout (2 s), not a hang


def test_a_forged_owner_in_a_token_is_refused(servers, lp_tenant):
    """The token is signed: an altered one is 410 at once and reaches no process."""
    a, b = servers
    session = RawSession(lp_tenant, _jwt(a, lp_tenant))
    session.open(a)
    session.token = session.token[:-2] + ("AA" if not session.token.endswith("AA") else "BB")
    started = time.monotonic()
    assert session.get(b) == {"status": 410}
    assert time.monotonic() - started < 2  # no wait for an owner
