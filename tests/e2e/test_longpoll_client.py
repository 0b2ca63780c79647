"""The official npm `phoenix` client over LONG-POLL (its LongPoll transport, in Node)
against a live daphne server, alongside WebSocket clients.

The server runs with a 1 s poll window, so a client that stops polling is reaped within
1.5 s and its presence leave is announced. The fallback tests put a proxy in front of the
server that forwards plain HTTP but blocks WebSocket upgrades, as some corporate proxies
do, and let phoenix's own `longPollFallbackMs` logic switch transports.
"""

import threading
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import PhoenixNode, Tenant, session_jwt, trigger, wait_until
from tests.support import live
from tests.support.proxy import HttpProxy

pytestmark = pytest.mark.e2e

LISTEN, PUBLISH = ["room:*", "presence:*"], ["room:*"]
WINDOW_MS = "1000"


@pytest.fixture(scope="module")
def lp_env(tmp_path_factory) -> live.ServerEnv:
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("e2e-longpoll"), EXPUSHER_LONGPOLL_WINDOW_MS=WINDOW_MS
    )
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def lp_tenant(lp_env) -> Tenant:
    return Tenant.create(lp_env, "Pollers")


@pytest.fixture(scope="module")
def lp_server(lp_env, lp_tenant) -> Iterator[live.LiveServer]:
    with live.LiveServer(lp_env) as running:
        yield running


class LongPollNode(PhoenixNode):
    """A Node process driving phoenix's LongPoll transport; see js/longpoll_client.js."""

    script = "longpoll_client.js"


@pytest.fixture
def longpoll(phoenix):  # `phoenix` first: it skips without node or the npm package
    started: list[LongPollNode] = []

    def start(server: live.LiveServer, tenant: Tenant, jwt: str | None, **config):
        config.setdefault("url", f"{server.ws_url}/socket")
        config.setdefault("params", {"app_key": tenant.app_key})
        if jwt is not None:
            config.setdefault("authToken", jwt)
        client = LongPollNode(config)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


def _jwt(server, tenant, **fields) -> str:
    return session_jwt(server, tenant, listen=LISTEN, publish=PUBLISH, **fields)


def test_it_joins_and_receives_an_event_triggered_over_rest(longpoll, lp_server, lp_tenant):
    jwt = _jwt(lp_server, lp_tenant)
    client = longpoll(lp_server, lp_tenant, jwt)
    assert client.expect("open")["transport"] == "LongPoll"
    assert client.join("room:1")["status"] == "ok"

    status, body = trigger(
        lp_server, lp_tenant, "new_message", {"topic": "room:1", "text": "hello"}, bearer=jwt
    )

    assert status == 200, body
    message = client.expect("message", topic="room:1", event="new_message")
    assert message["payload"] == {"text": "hello"}


def test_pushes_cross_between_long_poll_and_websocket_clients(
    longpoll, phoenix, lp_server, lp_tenant
):
    jwt = _jwt(lp_server, lp_tenant)
    poller = longpoll(lp_server, lp_tenant, None, params={"app_key": lp_tenant.app_key, "jwt": jwt})
    socket = phoenix(lp_server, params={"app_key": lp_tenant.app_key}, authToken=jwt)
    poller.expect("open")
    socket.expect_open()
    for client in (poller, socket):
        assert client.join("room:2")["status"] == "ok"

    assert poller.push("p1", "room:2", "from_poll", {"n": 1})["status"] == "ok"
    assert socket.push("p2", "room:2", "from_socket", {"n": 2})["status"] == "ok"

    for client in (poller, socket):
        assert client.expect("message", topic="room:2", event="from_poll")["payload"] == {"n": 1}
        assert client.expect("message", topic="room:2", event="from_socket")["payload"] == {"n": 2}
    # The JWT rode in the query string of every poll; daphne's access log shows the path.
    log = lp_server.log_text()
    assert '"GET /socket/longpoll"' in log
    assert jwt.split(".")[1] not in log and jwt.split(".")[2] not in log


def test_presence_over_long_poll_with_phoenix_presence_class(
    longpoll, phoenix, lp_server, lp_tenant
):
    topic = "presence:lobby"
    ann = longpoll(lp_server, lp_tenant, _jwt(lp_server, lp_tenant, user_id="ann"))
    bob = longpoll(lp_server, lp_tenant, _jwt(lp_server, lp_tenant, user_id="bob"))
    ann.expect("open")
    assert ann.join(topic)["status"] == "ok"
    ann.expect("sync", topic=topic, members={"ann": 1})
    bob.expect("open")
    assert bob.join(topic)["status"] == "ok"

    bob.expect("sync", topic=topic, members={"ann": 1, "bob": 1})
    ann.expect("sync", topic=topic, members={"ann": 1, "bob": 1})

    # A long-poll client that goes away says nothing; the server notices that nobody polls
    # (1.5 windows) and announces the leave.
    bob.close()
    ann.expect("sync", topic=topic, members={"ann": 1})


def test_a_refused_long_poll_client_is_told_403_and_stops(longpoll, lp_server, lp_tenant):
    jwt = _jwt(lp_server, lp_tenant)
    bad = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    client = longpoll(lp_server, lp_tenant, bad)

    assert client.expect("error")["message"] == "403"
    assert client.expect("close")["code"] == 1008  # phoenix's "forbidden": no reconnect
    assert not [r for r in client.seen if r["type"] == "open"]
    log = lp_server.log_text()
    assert bad.split(".")[1] not in log and bad.split(".")[2] not in log


class WebSocketBlockingProxy(HttpProxy):
    """Forwards plain HTTP to a live server; refuses or swallows WebSocket upgrades."""

    def __init__(self, server: live.LiveServer, upgrades: str):
        self.server, self.upgrades = server, upgrades
        self.upgrades_seen = 0
        self.paths: list[str] = []
        self.released = threading.Event()
        super().__init__()

    def route(self, request) -> live.LiveServer | None:
        self.paths.append(request.path)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return self.server
        self.upgrades_seen += 1
        if self.upgrades == "refuse":
            request.send_error(403, "WebSockets are blocked here")
        else:  # "hang": no answer until the test is over
            self.released.wait(30)
        return None

    def close(self) -> None:
        self.released.set()
        super().close()


@pytest.mark.parametrize("upgrades", ["hang", "refuse"])
def test_phoenix_falls_back_to_long_poll_when_websockets_are_blocked(
    upgrades, longpoll, lp_server, lp_tenant
):
    proxy = WebSocketBlockingProxy(lp_server, upgrades)
    try:
        jwt = _jwt(lp_server, lp_tenant)
        client = longpoll(
            lp_server, lp_tenant, jwt, url=f"ws://127.0.0.1:{proxy.port}/socket", fallbackMs=500
        )

        assert client.expect("open")["transport"] == "LongPoll"
        assert proxy.upgrades_seen >= 1  # phoenix did try the WebSocket first
        assert any(
            r["type"] == "log" and "falling back to LongPoll" in r["msg"] for r in client.seen
        )
        assert client.join("room:3")["status"] == "ok"
        status, body = trigger(lp_server, lp_tenant, "ping", {"topic": "room:3"}, bearer=jwt)
        assert status == 200, body
        client.expect("message", topic="room:3", event="ping")
        wait_until(lambda: any(p.startswith("/socket/longpoll?") for p in proxy.paths))
    finally:
        proxy.close()
