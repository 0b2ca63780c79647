"""The Pusher protocol and HTTP API across server processes sharing one Redis.

One ServerEnv (one SQLite file, one Redis prefix, EXPUSHER_PRESENCE_TTL_SECONDS=3), two
daphne processes A and B, official pusher-js clients (Node) on each, and the PyPI `pusher`
server library pointed at one process or the other. The last test SIGKILLs a third process
holding presence members; the survivors' pusher-js clients must see each of them removed
once, within 3 × TTL. Skips without Redis or Node.

Member announcements are counted on the raw frames (the driver's "frames" option): pusher-js
itself hides a member_removed for a member it no longer lists.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter

import pytest

from tests.e2e.conftest import WAIT
from tests.e2e.pusher_support import PusherApp, unique
from tests.support import live

pytestmark = pytest.mark.e2e

TTL = 3  # EXPUSHER_PRESENCE_TTL_SECONDS of these servers
REAPED_WITHIN = 3 * TTL  # seconds after a SIGKILL by which its members must be gone
SEQUENCE = 20


@pytest.fixture(scope="module")
def presence_env(tmp_path_factory) -> live.ServerEnv:
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("pusher-processes"),
        redis_url=url,
        EXPUSHER_PRESENCE_TTL_SECONDS=str(TTL),
    )
    live.migrate(server_env)
    return server_env


@pytest.fixture(scope="module")
def server_a(presence_env):
    with live.LiveServer(presence_env) as running:
        yield running


@pytest.fixture(scope="module")
def server_b(presence_env):
    with live.LiveServer(presence_env) as running:
        yield running


@pytest.fixture(scope="module")
def app_a(server_a) -> PusherApp:
    """The application, reached through process A (WebSocket and HTTP API)."""
    return PusherApp.bootstrap(server_a)


@pytest.fixture(scope="module")
def app_b(app_a, server_b) -> PusherApp:
    """The same application, reached through process B."""
    return dataclasses.replace(app_a, port=server_b.port)


def _client(pusher_js, app, user, *channels, frames=True):
    client = pusher_js(app, user={"id": user, "info": {"name": user.title()}}, frames=frames)
    client.connected()
    for channel in channels:
        client.subscribe(channel)
    return client


def _announced(client, channel: str) -> Counter:
    """(event, user_id) -> how many member_added / member_removed frames came on the wire."""
    counts: Counter = Counter()
    for record in client.records("frame_in"):
        frame = json.loads(record["raw"])
        if frame.get("channel") == channel and frame["event"] in (
            "pusher_internal:member_added",
            "pusher_internal:member_removed",
        ):
            kind = frame["event"].split(":")[1]
            counts[(kind, json.loads(frame["data"])["user_id"])] += 1
    return counts


def _marker(library, channel: str, clients, n: str) -> None:
    """Triggers a marker through `library` and waits until every client received it."""
    library.trigger(channel, "marker", {"n": n})
    for client in clients:
        client.expect("event", channel=channel, event="marker", data={"n": n})


def _until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s (last: {value!r})")
        time.sleep(0.1)


def _subscriptions(library, channel: str) -> int:
    return library.channel_info(channel, ["subscription_count"])["subscription_count"]


def test_a_trigger_on_a_reaches_pusher_js_on_both_processes(pusher_js, pusher_py, app_a, app_b):
    channel = unique("orders-")
    on_a = _client(pusher_js, app_a, "ann", channel)
    on_b = _client(pusher_js, app_b, "bob", channel)

    for seq in range(SEQUENCE):
        pusher_py(app_a).trigger(channel, "tick", {"seq": seq})

    for client in (on_a, on_b):
        client.expect("event", channel=channel, event="tick", data={"seq": SEQUENCE - 1})
        assert [e["data"]["seq"] for e in client.events(channel, "tick")] == list(range(SEQUENCE))


def test_presence_is_announced_once_per_user_across_processes(pusher_js, pusher_py, app_a, app_b):
    channel = unique("presence-room-")
    watcher_a = _client(pusher_js, app_a, "wes", channel)
    watcher_b = _client(pusher_js, app_b, "wyn", channel)
    watcher_a.expect("member_added", channel=channel, user_id="wyn")
    lib_a, lib_b = pusher_py(app_a), pusher_py(app_b)

    amy_on_a = _client(pusher_js, app_a, "amy", channel)
    amy_on_b = _client(pusher_js, app_b, "amy")
    members = amy_on_b.subscribe(channel)["members"]
    assert members["count"] == 3 and set(members["hash"]) == {"wes", "wyn", "amy"}
    # Whatever either process announced about amy has come before these markers.
    _marker(lib_a, channel, [watcher_a, watcher_b], "a1")
    _marker(lib_b, channel, [watcher_a, watcher_b], "b1")
    for watcher in (watcher_a, watcher_b):
        assert _announced(watcher, channel)[("member_added", "amy")] == 1, watcher.seen
        assert watcher.records("member_added", channel=channel, user_id="amy")[0]["user_info"] == {
            "name": "Amy"
        }

    # amy leaves A but is still on B: she stays a member.
    amy_on_a.send("disconnect")
    amy_on_a.expect("close")
    _until(lambda: _subscriptions(lib_b, channel) == 3, "3 subscriptions after amy left A")
    _marker(lib_a, channel, [watcher_a, watcher_b], "a2")
    _marker(lib_b, channel, [watcher_a, watcher_b], "b2")
    for watcher in (watcher_a, watcher_b):
        assert _announced(watcher, channel)[("member_removed", "amy")] == 0, watcher.seen
    assert sorted(u["id"] for u in lib_a.users_info(channel)["users"]) == ["amy", "wes", "wyn"]

    # Her last connection anywhere leaves: now she is removed, once, on both processes.
    amy_on_b.send("unsubscribe", channel=channel)
    for watcher in (watcher_a, watcher_b):
        watcher.expect("member_removed", channel=channel, user_id="amy")
    _marker(lib_a, channel, [watcher_a, watcher_b], "a3")
    _marker(lib_b, channel, [watcher_a, watcher_b], "b3")
    for watcher in (watcher_a, watcher_b):
        assert _announced(watcher, channel)[("member_removed", "amy")] == 1, watcher.seen
        assert _announced(watcher, channel)[("member_added", "amy")] == 1, watcher.seen
    assert sorted(u["id"] for u in lib_b.users_info(channel)["users"]) == ["wes", "wyn"]


def test_both_processes_answer_the_same_counts(pusher_js, pusher_py, app_a, app_b):
    tag = unique()
    room, public = f"presence-{tag}", f"public-{tag}"
    _client(pusher_js, app_a, "ann", room, public)
    _client(pusher_js, app_a, "ann", room)  # ann twice: still one user
    _client(pusher_js, app_b, "bob", room, public)
    _client(pusher_js, app_b, "cid", public)

    for app in (app_a, app_b):
        library = pusher_py(app)
        everything = library.channels_info(attributes=["subscription_count"])["channels"]
        assert everything[room] == {"subscription_count": 3}, (app.port, everything)
        assert everything[public] == {"subscription_count": 3}, (app.port, everything)
        assert library.channels_info(room, ["user_count", "subscription_count"]) == {
            "channels": {room: {"user_count": 2, "subscription_count": 3}}
        }
        assert library.channel_info(room, ["user_count", "subscription_count"]) == {
            "occupied": True,
            "user_count": 2,
            "subscription_count": 3,
        }
        assert library.channel_info(public, ["subscription_count"]) == {
            "occupied": True,
            "subscription_count": 3,
        }
        users = library.users_info(room)["users"]
        assert sorted(u["id"] for u in users) == ["ann", "bob"]


def test_terminate_on_a_closes_the_users_connection_on_b(pusher_js, pusher_py, app_a, app_b):
    channel = unique("term-")
    dan_on_b = _client(pusher_js, app_b, "dan", channel)
    eve_on_b = _client(pusher_js, app_b, "eve", channel)
    for client in (dan_on_b, eve_on_b):
        client.send("signin")
        client.expect("signin_success")

    pusher_py(app_a).terminate_user_connections("dan")

    assert dan_on_b.expect("close")["code"] == 4009
    _marker(pusher_py(app_a), channel, [eve_on_b], "after")
    assert eve_on_b.records("close") == []
    dan_on_b.settle(1.0)
    assert len(dan_on_b.records("connected")) == 1  # pusher-js does not reconnect on 4009


def test_a_killed_processs_pusher_members_leave_once(
    pusher_js, pusher_py, presence_env, app_a, app_b
):
    channel = unique("presence-crash-")
    olga = _client(pusher_js, app_a, "olga", channel)
    vic = _client(pusher_js, app_b, "vic", channel)
    _client(pusher_js, app_a, "amy", channel)
    lib_a = pusher_py(app_a)
    with live.LiveServer(presence_env) as doomed:
        app_doomed = dataclasses.replace(app_a, port=doomed.port)
        doomed_clients = [
            _client(pusher_js, app_doomed, "amy", channel),  # amy is on A too: she stays
            _client(pusher_js, app_doomed, "bea", channel),
            _client(pusher_js, app_doomed, "bea", channel),
            _client(pusher_js, app_doomed, "ben", channel),
        ]
        _until(lambda: _subscriptions(lib_a, channel) == 7, "7 subscriptions")
        assert lib_a.channel_info(channel, ["user_count"])["user_count"] == 5

        doomed.kill()  # SIGKILL: no cleanup at all
        killed_at = time.monotonic()

        for client in doomed_clients:
            client.expect("close")
            client.close()  # pusher-js would keep trying to reconnect to the dead port

        def left() -> float:
            return max(0.1, killed_at + REAPED_WITHIN - time.monotonic())

        for watcher in (olga, vic):
            for user in ("bea", "ben"):
                watcher.expect("member_removed", channel=channel, user_id=user, timeout=left())

        def healed():
            info = lib_a.channel_info(channel, ["user_count", "subscription_count"])
            return info["user_count"] == 3 and info["subscription_count"] == 3

        _until(healed, "healed counts", timeout=left())
    print(f"members reaped {time.monotonic() - killed_at:.1f}s after the SIGKILL")

    # A join after the reaping is a barrier: a removal announced twice would be before it.
    _client(pusher_js, app_a, "zed", channel)
    for watcher in (olga, vic):
        watcher.expect("member_added", channel=channel, user_id="zed")
        removed = {
            user: n
            for (kind, user), n in _announced(watcher, channel).items()
            if kind == "member_removed"
        }
        assert removed == {"bea": 1, "ben": 1}, watcher.seen
    users = pusher_py(app_b).users_info(channel)["users"]
    assert sorted(u["id"] for u in users) == ["amy", "olga", "vic", "zed"]
