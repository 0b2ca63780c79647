"""Fixtures and helpers for the Pusher-protocol e2e tests (official, unmodified clients).

* `pusher_app`: the Pusher credentials (app_id, key, secret) of an application bootstrapped
  on the module's live server (`server` from conftest.py), with where to reach it:
  WebSocket at ws://127.0.0.1:{port}/app/{key}, HTTP API at /apps/{app_id}/....
* `pusher_js(app, **config)`: a Node process driving the npm `pusher-js` client
  (js/pusher_client.js). Its channel and user auth are signed by the npm `pusher` server
  library inside that process, as a customer backend would (or asked of the test, with
  ``auth="ask"``).
* `echo_js(app, **config)`: the same for `laravel-echo` with the pusher broadcaster
  (js/echo_client.js).
* `pusher_node_backend(app, **config)`: a customer backend on the npm `pusher` server library
  (js/pusher_server.js): trigger, triggerBatch, get, terminateUserConnections, sendToUser...
* `pusher_py(app)`: the PyPI `pusher` server library pointed at the app.
* `pysher(app, **kwargs)`: a PyPI `Pysher` websocket client (a thread), see PysherClient.

All waits are bounded by WAIT, as in conftest.py. Channel names should be unique per test
(`unique`), because a module's tests share one application.

PUSHER_E2E_REFERENCE="host:port:app_id:key:secret" points `pusher_app` at another Pusher
server (e.g. soketi) instead of ExPusher, to check the tests and drivers themselves against a
reference implementation.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import JS, NODE, WAIT, PhoenixNode
from tests.support import live


def unique(prefix: str = "") -> str:
    """A channel name (or any name) no other test of the module uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class PusherApp:
    """Pusher credentials and where the server answers (WebSocket and HTTP API)."""

    app_id: str
    key: str
    secret: str
    host: str
    port: int
    organization: str | None = None  # ExPusher only
    token: str | None = None  # ExPusher only: the organization's secret token

    @classmethod
    def bootstrap(
        cls, server: live.LiveServer, name: str = "Pushco", password: str | None = None
    ) -> PusherApp:
        """A new organization (its admin: ops@{name}.test) with one application, "Chat"."""
        email = f"ops@{name.lower()}.test"
        creds = live.bootstrap(server.server_env, name, email, app="Chat", password=password)
        return cls(
            app_id=str(creds["app_id"]),
            key=creds["app_key"],
            secret=creds["app_secret"],
            host="127.0.0.1",
            port=server.port,
            organization=creds["organization"],
            token=creds["token"],
        )

    @classmethod
    def reference(cls, spec: str) -> PusherApp:
        host, port, app_id, key, secret = spec.split(":", 4)
        return cls(app_id=app_id, key=key, secret=secret, host=host, port=int(port))

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/app/{self.key}"

    def event_path(self, event: str) -> str:
        """ExPusher's own REST trigger for this application (token or JWT)."""
        return f"/api/organizations/{self.organization}/applications/{self.key}/event/{event}"

    def node_config(self, **config) -> dict:
        """The config of the Node drivers (the secret travels in the environment)."""
        return {
            "key": self.key,
            "appId": self.app_id,
            "wsHost": self.host,
            "wsPort": self.port,
            **config,
        }

    def server_library(self, **kwargs):
        """The PyPI `pusher` server library for this app."""
        import pusher

        return pusher.Pusher(
            app_id=self.app_id,
            key=self.key,
            secret=self.secret,
            host=self.host,
            port=self.port,
            ssl=False,
            timeout=WAIT,
            **kwargs,
        )


class PusherNode(PhoenixNode):
    """One Node process driving a Pusher-protocol client; see js/pusher_client.js."""

    script = "pusher_client.js"

    def __init__(self, config: dict, secret: str | None = None):
        self.config = config
        env = dict(os.environ)
        if secret is not None:
            env["PUSHER_APP_SECRET"] = secret
        self.process = subprocess.Popen(
            [NODE, str(JS / self.script), json.dumps(config)],
            cwd=live.ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.seen = []
        self._unclaimed = []
        self._incoming = queue.Queue()
        self._calls = 0
        threading.Thread(target=self._read, daemon=True).start()

    # -- connection ---------------------------------------------------------------------

    def connected(self, timeout: float = WAIT) -> str:
        """Waits for the connection; returns the socket_id."""
        return self.expect("connected", timeout=timeout)["socket_id"]

    # -- channels -----------------------------------------------------------------------

    def subscribe(self, channel: str, **options) -> dict:
        """Subscribes and waits for pusher:subscription_succeeded; returns its record."""
        self.send("subscribe", channel=channel, **options)
        return self.expect_subscribed(channel)

    def expect_subscribed(self, channel: str, timeout: float = WAIT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for record in self._unclaimed:
                if record.get("channel") == channel and record["type"] in (
                    "subscription_succeeded",
                    "subscription_error",
                ):
                    self._unclaimed.remove(record)
                    assert record["type"] == "subscription_succeeded", record
                    return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no subscription_succeeded on {channel} within {timeout}s; "
                    f"observed: {self.seen}"
                )
            if not self._drain(min(remaining, 0.2)):
                raise AssertionError(
                    f"client exited before subscribing {channel}; observed: {self.seen}\n"
                    f"stderr: {self.stderr_text()}"
                )

    def trigger(self, channel: str, event: str, data) -> dict:
        """A client event through channel.trigger; returns the "triggered" record."""
        self.send("trigger", channel=channel, event=event, data=data)
        return self.expect("triggered", channel=channel, event=event)

    def events(self, channel: str, event: str | None = None) -> list[dict]:
        """The "event" records received so far on `channel` (after draining)."""
        self._drain(0)
        return [
            r
            for r in self.seen
            if r["type"] == "event"
            and r["channel"] == channel
            and (event is None or r["event"] == event)
        ]

    def records(self, type: str, **match) -> list[dict]:
        """Every record of this type seen so far (claimed or not), after draining."""
        self._drain(0)
        return [
            r
            for r in self.seen
            if r["type"] == type and all(r.get(k) == v for k, v in match.items())
        ]

    def settle(self, seconds: float) -> None:
        """Collects whatever arrives during `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._drain(min(remaining, 0.05)):
                time.sleep(remaining)  # the process has ended; nothing more will come
                return

    def no_record(self, type: str, wait: float = 0.5, **match) -> None:
        """Asserts nothing of this type arrives within `wait` seconds."""
        self.settle(wait)
        found = self.records(type, **match)
        assert not found, f"unexpected {type} {match}: {found}"

    # -- the customer backend inside the process (npm `pusher`) -------------------------

    def call(self, method: str, *args, timeout: float = WAIT) -> dict:
        """Calls the npm `pusher` library in the Node process; returns the result record."""
        self._calls += 1
        call_id = f"c{self._calls}"
        self.send("call", id=call_id, method=method, args=list(args))
        return self.expect("result", id=call_id, timeout=timeout)

    def answer_auth(self, request: dict, auth: dict | None = None, error: str | None = None):
        """Answers an auth_request (config auth="ask")."""
        if error is not None:
            self.send("auth_response", id=request["id"], error=error)
        else:
            self.send("auth_response", id=request["id"], auth=auth)


class EchoNode(PusherNode):
    """One Node process driving laravel-echo (pusher broadcaster); see js/echo_client.js."""

    script = "echo_client.js"

    def open(self, kind: str, name: str, **options) -> dict:
        """echo.channel / private / join / encryptedPrivate; waits for .subscribed()."""
        self.send(kind, name=name, **options)
        full = {"channel": name, "private": f"private-{name}", "join": f"presence-{name}"}.get(
            kind, f"private-encrypted-{name}"
        )
        return self.expect("subscribed", channel=full)


class BackendNode(PusherNode):
    """A customer backend on the npm `pusher` server library; see js/pusher_server.js."""

    script = "pusher_server.js"


def _node_factory(cls):
    if NODE is None:
        pytest.skip("node is not installed")
    for package in ("pusher-js", "pusher", "laravel-echo"):
        if not (live.ROOT / "node_modules" / package).exists():
            pytest.skip(f"run `npm install` for the {package} package")
    started: list[PusherNode] = []

    def start(app: PusherApp, **config) -> PusherNode:
        node = cls(app.node_config(**config), secret=app.secret)
        started.append(node)
        return node

    return start, started


@pytest.fixture(scope="module")
def pusher_app(request) -> PusherApp:
    """A fresh application on the module's live server (or PUSHER_E2E_REFERENCE)."""
    reference = os.environ.get("PUSHER_E2E_REFERENCE")
    if reference:
        return PusherApp.reference(reference)
    return PusherApp.bootstrap(request.getfixturevalue("server"))


@pytest.fixture
def pusher_js() -> Iterator[Callable[..., PusherNode]]:
    """pusher_js(app, **config) starts a pusher-js client process (js/pusher_client.js)."""
    start, started = _node_factory(PusherNode)
    yield start
    for node in started:
        node.close()


@pytest.fixture
def echo_js() -> Iterator[Callable[..., EchoNode]]:
    """echo_js(app, **config) starts a Laravel Echo client process (js/echo_client.js)."""
    start, started = _node_factory(EchoNode)
    yield start
    for node in started:
        node.close()


@pytest.fixture
def pusher_node_backend() -> Iterator[Callable[..., BackendNode]]:
    """pusher_node_backend(app) starts an npm `pusher` backend process (js/pusher_server.js)."""
    start, started = _node_factory(BackendNode)

    def start_ready(app: PusherApp, **config) -> BackendNode:
        node = start(app, **config)
        node.expect("ready")
        return node

    yield start_ready
    for node in started:
        node.close()


@pytest.fixture
def pusher_py():
    """pusher_py(app, **kwargs): the PyPI `pusher` server library for `app`."""
    return lambda app, **kwargs: app.server_library(**kwargs)


class PysherClient:
    """A PyPI `Pysher` client: a websocket thread; callbacks feed a queue of records.

    Records are dicts like the Node drivers': {"type": "connected", "socket_id"},
    {"type": "ping"} (the server pinged; Pysher answers), {"type": "pusher_error", "data"},
    {"type": "subscription_succeeded" | "subscription_error", "channel", "data"},
    {"type": "member_added" | "member_removed", "channel", "data"}, {"type": "event",
    "channel", "event", "data"} (data as Pysher passes it: the string from the wire).
    Events reach "event" records through Pysher's own channel.bind callbacks.
    """

    INTERNAL = {
        "pusher_internal:subscription_succeeded": "subscription_succeeded",
        "pusher:subscription_error": "subscription_error",
        "pusher_internal:member_added": "member_added",
        "pusher_internal:member_removed": "member_removed",
        "pusher:cache_miss": "cache_miss",
    }

    def __init__(self, app: PusherApp, user_data: dict | None = None, signed: bool = True):
        import pysher

        client = self

        class Observed(pysher.Pusher):
            # Pysher hands channel frames to channel objects that subscribe() creates only
            # after sending pusher:subscribe, so a fast reply can beat any channel.bind; the
            # protocol's own replies are therefore observed here, before Pysher's handling.
            def _connection_handler(self, event_name, data, channel_name):
                if event_name in client.INTERNAL:
                    client._put(
                        {
                            "type": client.INTERNAL[event_name],
                            "channel": channel_name,
                            "data": data,
                        }
                    )
                super()._connection_handler(event_name, data, channel_name)

        self.seen: list[dict] = []
        self._incoming: queue.Queue = queue.Queue()
        self._unclaimed: list[dict] = []
        self.pusher = Observed(
            app.key,
            secure=False,
            custom_host=app.host,
            port=app.port,
            secret=app.secret if signed else "",
            user_data=user_data,
            log_level=logging.WARNING,
            reconnect_interval=1,
        )
        self.pusher.connection.bind("pusher:connection_established", self._connected)
        self.pusher.connection.bind(
            "pusher:error", lambda data: self._put({"type": "pusher_error", "data": data})
        )
        # Pysher answers the server's pings itself; this only records that one came.
        self.pusher.connection.bind("pusher:ping", lambda data: self._put({"type": "ping"}))
        self.pusher.connect()

    def _put(self, record: dict) -> None:
        self._incoming.put(record)

    def _connected(self, data) -> None:
        self._put({"type": "connected", "socket_id": json.loads(data)["socket_id"]})

    def connected(self, timeout: float = WAIT) -> str:
        return self.expect("connected", timeout=timeout)["socket_id"]

    def subscribe(self, channel: str, events: list[str] = ()) -> dict:
        """Subscribes (auth signed by Pysher with the secret) and waits for success."""
        subscription = self.pusher.subscribe(channel)
        for event in events:
            subscription.bind(
                event,
                lambda data, event=event: self._put(
                    {"type": "event", "channel": channel, "event": event, "data": data}
                ),
            )
        reply = self.expect(("subscription_succeeded", "subscription_error"), channel=channel)
        assert reply["type"] == "subscription_succeeded", reply
        return reply

    def expect(self, type: str | tuple[str, ...], timeout: float = WAIT, **match) -> dict:
        """The first not yet expected record of this type (or types); waits for it."""
        types = (type,) if isinstance(type, str) else type
        deadline = time.monotonic() + timeout
        while True:
            while True:
                try:
                    record = self._incoming.get_nowait()
                except queue.Empty:
                    break
                self.seen.append(record)
                self._unclaimed.append(record)
            for record in self._unclaimed:
                if record["type"] in types and all(record.get(k) == v for k, v in match.items()):
                    self._unclaimed.remove(record)
                    return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"Pysher: no {type} {match} within {timeout}s; observed: {self.seen}"
                )
            try:
                record = self._incoming.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            self.seen.append(record)
            self._unclaimed.append(record)

    def close(self) -> None:
        # The socket closes at once; websocket-client's loop may not notice for a while
        # (a poll on the closed socket), so the daemon thread is not waited for long.
        self.pusher.disconnect(timeout=1)


@pytest.fixture
def pysher() -> Iterator[Callable[..., PysherClient]]:
    """pysher(app, **kwargs) starts a Pysher client; disconnected after the test."""
    try:
        import pysher as _  # noqa: F401
    except ImportError:
        pytest.skip("Pysher is not installed (pip install -e '.[test]')")
    started: list[PysherClient] = []

    def start(app: PusherApp, **kwargs) -> PysherClient:
        client = PysherClient(app, **kwargs)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()
