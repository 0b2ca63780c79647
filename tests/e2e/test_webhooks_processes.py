"""Webhooks from server processes sharing one Redis: each transition told exactly once.

Two daphne processes A and B (one ServerEnv, EXPUSHER_PRESENCE_TTL_SECONDS=3), official
pusher-js clients (Node) on each, and a real HTTP receiver on loopback in this test
process. The application's webhook settings are set through the management API (PATCH).
Every request received is checked with the PyPI `pusher` library's validate_webhook and
the npm `pusher` library's webhook().isValid(). A third process is SIGKILLed with members
and a topic of its own: they are removed and vacated once, after the TTL; a fourth one,
killed while its POST hangs, loses nothing it had taken: another process sends it again.
Skips without Redis or Node.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter

import pytest

from organizations.validators import WEBHOOK_EVENTS
from tests.e2e.pusher_support import PusherApp, unique
from tests.support import live
from tests.support.webhook_receiver import (
    WebhookReceiver,
    node_available,
    pusher_npm_valid,
    pusher_py_valid,
)

pytestmark = pytest.mark.e2e

TTL = 3
VACATE_DELAY = 1.0
TIMEOUT = 1.0  # EXPUSHER_WEBHOOK_TIMEOUT_SECONDS: a taken batch's lease is 2 × this + 5 s
SETTLE = 2 * VACATE_DELAY + 1  # after this, whatever was to be told has been
EVENTS = list(WEBHOOK_EVENTS)  # every kind, subscription_count too


def _env(tmp_path_factory, name: str) -> live.ServerEnv:
    url = live.redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL)")
    if not node_available():
        pytest.skip("node or the npm pusher package is missing")
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp(name),
        redis_url=url,
        EXPUSHER_PRESENCE_TTL_SECONDS=str(TTL),
        EXPUSHER_VACATE_DELAY_SECONDS=str(VACATE_DELAY),
        EXPUSHER_WEBHOOK_BATCH_SECONDS="0.2",
        EXPUSHER_WEBHOOK_TIMEOUT_SECONDS=str(TIMEOUT),
        EXPUSHER_WEBHOOK_ALLOW_PRIVATE="True",  # the receiver is on loopback
        EXPUSHER_APP_CACHE_SECONDS="1",
    )
    live.migrate(server_env)
    return server_env


def _configure(server: live.LiveServer, app: PusherApp, url: str) -> None:
    """PATCH the application's webhook settings through the management API."""
    status, _, body = server.request(
        "PATCH",
        f"/api/organizations/{app.organization}/applications/{app.key}",
        body={"webhook_url": url, "webhook_events": EVENTS},
        headers={"Authorization": f"Bearer {app.token}"},
    )
    assert status == 200, body
    assert json.loads(body)["webhook_events"] == EVENTS
    time.sleep(1.5)  # EXPUSHER_APP_CACHE_SECONDS + the process memo's second


@pytest.fixture(scope="module")
def webhook_env(tmp_path_factory) -> live.ServerEnv:
    return _env(tmp_path_factory, "webhooks")


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def server_a(webhook_env):
    with live.LiveServer(webhook_env) as running:
        yield running


@pytest.fixture(scope="module")
def server_b(webhook_env):
    with live.LiveServer(webhook_env) as running:
        yield running


@pytest.fixture(scope="module")
def app_a(server_a, receiver) -> PusherApp:
    app = PusherApp.bootstrap(server_a)
    _configure(server_a, app, receiver.url)
    return app


@pytest.fixture(scope="module")
def app_b(app_a, server_b) -> PusherApp:
    return dataclasses.replace(app_a, port=server_b.port)


def _client(pusher_js, app, user, *channels):
    client = pusher_js(app, user={"id": user, "info": {"name": user.title()}})
    client.connected()
    for channel in channels:
        client.subscribe(channel)
    return client


def _told(receiver, channel: str) -> Counter:
    """(name, user_id) -> how many times the receiver was told it about `channel`."""
    return Counter(
        (e["name"], e.get("user_id"))
        for e in receiver.events()
        if e["channel"] == channel and e["name"] != "subscription_count"
    )


def _until(condition, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        time.sleep(0.1)
    return value


def _all_valid(receiver, app: PusherApp) -> None:
    requests = list(receiver.requests)
    for request in requests:
        assert request.headers["content-type"] == "application/json"
        assert pusher_py_valid(app.app_id, app.key, app.secret, request) is not None
    checked = pusher_npm_valid(app.app_id, app.key, app.secret, requests)
    assert [events for events in checked] == [r.events for r in requests]


def test_topics_members_and_client_events_are_told_once_across_processes(
    pusher_js, receiver, app_a, app_b
):
    room, cache = unique("presence-room-"), unique("cache-")
    ann_a = _client(pusher_js, app_a, "ann", room)
    ann_b = _client(pusher_js, app_b, "ann", room)  # ann twice: one member
    bob_b = _client(pusher_js, app_b, "bob", room, cache)
    ann_a.trigger(room, "client-typing", {"on": 1})
    _until(lambda: _told(receiver, room)[("client_event", "ann")], "the client event")
    _until(lambda: _told(receiver, cache)[("cache_miss", None)], "the cache miss")

    for client in (ann_a, ann_b, bob_b):
        client.send("disconnect")
    _until(lambda: _told(receiver, room)[("channel_vacated", None)], "vacated")
    _until(lambda: _told(receiver, cache)[("channel_vacated", None)], "cache vacated")
    time.sleep(SETTLE)

    assert _told(receiver, room) == {
        ("channel_occupied", None): 1,
        ("member_added", "ann"): 1,
        ("member_added", "bob"): 1,
        ("client_event", "ann"): 1,
        ("member_removed", "ann"): 1,
        ("member_removed", "bob"): 1,
        ("channel_vacated", None): 1,
    }
    assert _told(receiver, cache) == {
        ("channel_occupied", None): 1,
        ("cache_miss", None): 1,
        ("channel_vacated", None): 1,
    }
    [typed] = [e for e in receiver.events() if e["name"] == "client_event"]
    assert typed["event"] == "client-typing" and json.loads(typed["data"]) == {"on": 1}
    assert typed["socket_id"]
    counts = [
        e["subscription_count"]
        for e in receiver.events()
        if e["name"] == "subscription_count" and e["channel"] == room
    ]
    assert counts and set(counts) <= {0, 1, 2, 3}
    _all_valid(receiver, app_a)


def test_a_killed_processs_topics_and_members_are_vacated_and_removed_once(
    pusher_js, receiver, webhook_env, app_a, app_b
):
    room, alone = unique("presence-crash-"), unique("presence-alone-")
    olga = _client(pusher_js, app_a, "olga", room)
    with live.LiveServer(webhook_env) as doomed:
        app_doomed = dataclasses.replace(app_a, port=doomed.port)
        doomed_clients = [
            _client(pusher_js, app_doomed, "olga", room),  # olga is on A too: she stays
            _client(pusher_js, app_doomed, "bea", room, alone),
        ]
        _until(lambda: _told(receiver, alone)[("member_added", "bea")], "bea added")
        _until(lambda: _told(receiver, room)[("member_added", "bea")], "bea added")
        doomed.kill()  # SIGKILL: no cleanup at all
        for client in doomed_clients:
            client.expect("close")
            client.close()
        within = 3 * TTL + VACATE_DELAY + 2
        _until(lambda: _told(receiver, room)[("member_removed", "bea")], "bea removed", within)
        _until(lambda: _told(receiver, alone)[("channel_vacated", None)], "vacated", within)
    time.sleep(SETTLE)
    assert _told(receiver, room) == {
        ("channel_occupied", None): 1,
        ("member_added", "olga"): 1,
        ("member_added", "bea"): 1,
        ("member_removed", "bea"): 1,
    }
    assert _told(receiver, alone) == {
        ("channel_occupied", None): 1,
        ("member_added", "bea"): 1,
        ("member_removed", "bea"): 1,
        ("channel_vacated", None): 1,
    }
    olga.send("disconnect")
    _all_valid(receiver, app_a)


def test_a_batch_whose_sender_died_mid_post_is_sent_by_another_process(tmp_path_factory, pusher_js):
    server_env = _env(tmp_path_factory, "webhooks-lease")
    with WebhookReceiver() as receiver:
        receiver.hold = threading.Event()  # every POST hangs until released
        channel = unique("lost-")
        with live.LiveServer(server_env) as doomed:
            app = PusherApp.bootstrap(doomed)
            _configure(doomed, app, receiver.url)
            _client(pusher_js, app, "cid", channel)
            _until(lambda: receiver.requests, "the POST to arrive (and hang)")
            doomed.kill()
        receiver.hold.set()  # the dead process's POST is answered to nobody
        with live.LiveServer(server_env) as survivor:
            _client(pusher_js, dataclasses.replace(app, port=survivor.port), "dan")
            occupied = {"name": "channel_occupied", "channel": channel}

            def sent_twice():
                return [r for r in receiver.requests if occupied in r.events][1:]

            lease = 2 * TIMEOUT + 5
            [again] = _until(sent_twice, "the batch sent again", lease + 10)
        assert again.events == receiver.requests[0].events
        assert pusher_py_valid(app.app_id, app.key, app.secret, again) is not None
