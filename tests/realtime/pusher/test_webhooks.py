"""Webhooks in process: real sockets (the ASGI application), the real sender, a real HTTP
receiver on loopback, and the official libraries' validators (PyPI and npm `pusher`)."""

import asyncio
import logging
import threading

import pytest
from asgiref.sync import sync_to_async

from organizations import services
from organizations.webhook_log import webhook_deliveries_recent, webhook_delivery_counts
from realtime import notifications
from realtime.pusher import webhook_events, webhooks
from tests.support.webhook_receiver import (
    WebhookReceiver,
    node_available,
    pusher_npm_valid,
    pusher_py_valid,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
async def sending(settings):
    settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.EXPUSHER_WEBHOOK_BATCH_SECONDS = 0.05
    settings.EXPUSHER_VACATE_DELAY_SECONDS = 0.2
    settings.EXPUSHER_APP_CACHE_SECONDS = 0
    stop = webhooks.install()
    yield
    stop()
    await webhooks.shutdown()


@pytest.fixture
def told():
    notices = []

    def hear(notice):
        if notice.kind in (notifications.WEBHOOK_SENT, notifications.WEBHOOK_FAILED):
            notices.append(notice)

    stop = notifications.listen(hear)
    yield notices
    stop()


async def configure(app, **changes):
    await sync_to_async(services.application_update)(application=app, **changes)


async def wait_for(condition, timeout=10.0, what="a condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := condition()):
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)
    return value


def names(events):
    return [event["name"] for event in events]


async def test_a_phoenix_presence_session_becomes_pusher_webhooks_both_libraries_accept(
    layer, sending, receiver, connect, alice_app_and_secret, jwt_for
):
    app, secret = alice_app_and_secret
    await configure(app, webhook_url=receiver.url)
    _, _, tab1 = await connect(app.app_key, jwt_for(user_id="u1"))
    _, _, tab2 = await connect(app.app_key, jwt_for(user_id="u1"))  # a second tab: no news
    assert (await tab1.join("presence:room"))["status"] == "ok"
    assert (await tab2.join("presence:room"))["status"] == "ok"
    ref = await tab1.push("presence:room", "typing", {"on": True}, join_ref="1")
    assert (await tab1.reply(ref))["status"] == "ok"
    await tab1.ws.disconnect()
    await tab2.ws.disconnect()
    await wait_for(lambda: "channel_vacated" in names(receiver.events()), what="vacated")

    events = receiver.events()
    assert events[:2] == [
        {"name": "channel_occupied", "channel": "presence:room"},
        {"name": "member_added", "channel": "presence:room", "user_id": "u1"},
    ]
    [pushed] = [e for e in events if e["name"] == "client_event"]
    assert pushed["channel"] == "presence:room" and pushed["event"] == "typing"
    assert pushed["user_id"] == "u1" and pushed["socket_id"]
    assert '"on":true' in pushed["data"].replace(" ", "")
    assert names(events) == [
        "channel_occupied",
        "member_added",
        "client_event",
        "member_removed",
        "channel_vacated",
    ]
    for request in receiver.requests:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-pusher-key"] == app.app_key
        assert pusher_py_valid(app.app_id, app.app_key, secret, request) is not None
        assert pusher_py_valid(app.app_id, app.app_key, "wrong-secret", request) is None
    if node_available():
        checked = await asyncio.to_thread(
            pusher_npm_valid, app.app_id, app.app_key, secret, receiver.requests
        )
        assert [e for batch in checked for e in batch] == events
        forged = await asyncio.to_thread(
            pusher_npm_valid, app.app_id, app.app_key, "wrong", receiver.requests
        )
        assert forged == [None] * len(receiver.requests)


async def test_only_the_chosen_events_are_sent_and_none_when_switched_off(
    sending, receiver, connect, alice_app, jwt_for
):
    await configure(alice_app, webhook_url=receiver.url, webhook_events=["client_event"])
    _, _, socket = await connect(alice_app.app_key, jwt_for(user_id="u1"))
    await socket.join("room")
    await socket.reply(await socket.push("room", "one", {}, join_ref="1"))
    await wait_for(receiver.events, what="the client event")
    await configure(alice_app, webhooks_enabled=False)
    await socket.reply(await socket.push("room", "two", {}, join_ref="1"))
    await socket.ws.disconnect()
    await asyncio.sleep(0.5)  # vacated is due after 0.2 s, batches after 0.05 s
    assert [(e["name"], e["event"]) for e in receiver.events()] == [("client_event", "one")]


async def test_a_socket_never_waits_for_a_webhook(sending, receiver, connect, alice_app, jwt_for):
    await configure(alice_app, webhook_url=receiver.url)
    receiver.hold = threading.Event()  # the receiver answers nothing until released
    try:
        _, _, socket = await connect(alice_app.app_key, jwt_for(user_id="u1"))
        assert (await socket.join("room"))["status"] == "ok"
        await wait_for(lambda: receiver.requests, what="the occupied POST to arrive")
        # The POST hangs; the socket goes on: joins, pushes and their replies.
        assert (await socket.join("other"))["status"] == "ok"
        ref = await socket.push("room", "typing", {}, join_ref="1")
        assert (await socket.reply(ref))["status"] == "ok"
        assert len(receiver.requests) == 1
    finally:
        receiver.hold.set()


async def test_a_failed_post_is_retried_and_its_outcomes_told_and_kept(
    sending, receiver, told, connect, alice_app, jwt_for
):
    await configure(alice_app, webhook_url=receiver.url, webhook_events=["channel_occupied"])
    receiver.statuses = [500, 200]
    _, _, socket = await connect(alice_app.app_key, jwt_for(user_id="u1"))
    await socket.join("room")
    await wait_for(lambda: len(receiver.requests) == 2, what="the retry")
    first, second = receiver.requests
    assert first.events == second.events  # the same batch (signed again: time_ms is new)
    await wait_for(lambda: len(told) == 2, what="both outcomes told")
    assert [(n.kind, n.fields["status"], n.fields["attempts"]) for n in told] == [
        ("webhook_failed", 500, 1),
        ("webhook_sent", 200, 2),
    ]
    assert told[0].fields["events"] == ["channel_occupied"] and told[0].fields["url"]
    deliveries = await sync_to_async(webhook_deliveries_recent)(alice_app.id)
    assert [(d["status"], d["attempts"]) for d in deliveries] == [(200, 2), (500, 1)]
    counts = await sync_to_async(webhook_delivery_counts)(alice_app.id)
    assert counts == {"sent": 1, "failed": 1, "dropped": 0}


async def test_a_batch_still_failing_when_the_budget_ends_is_dropped_with_a_log_line(
    settings, sending, receiver, connect, alice_app, jwt_for, caplog
):
    settings.EXPUSHER_WEBHOOK_RETRY_SECONDS = 1.5  # attempts at 0 s and 1 s; the next, 3 s
    await configure(alice_app, webhook_url=receiver.url, webhook_events=["channel_occupied"])
    receiver.statuses = [503]
    _, _, socket = await connect(alice_app.app_key, jwt_for(user_id="u1"))
    with caplog.at_level(logging.WARNING, logger="realtime.pusher.webhooks"):
        await socket.join("room")
        counts = sync_to_async(webhook_delivery_counts)
        await wait_for(lambda: len(receiver.requests) == 2, what="the second attempt")
        for _ in range(100):
            if (await counts(alice_app.id))["dropped"]:
                break
            await asyncio.sleep(0.05)
    assert await counts(alice_app.id) == {"sent": 0, "failed": 2, "dropped": 1}
    assert "dropped after 2 attempts" in caplog.text
    await asyncio.sleep(1.5)
    assert len(receiver.requests) == 2


async def test_redirects_are_not_followed(sending, receiver, told, connect, alice_app, jwt_for):
    await configure(alice_app, webhook_url=receiver.url, webhook_events=["channel_occupied"])
    receiver.statuses = [302, 200]
    receiver.extra_headers = {"Location": receiver.url + "/elsewhere"}
    _, _, socket = await connect(alice_app.app_key, jwt_for(user_id="u1"))
    await socket.join("room")
    await wait_for(lambda: told, what="the outcome")
    assert told[0].kind == "webhook_failed" and told[0].fields["status"] == 302
    assert [r.path for r in receiver.requests] == ["/hooks"]


async def test_every_url_gets_the_batch_and_only_a_failed_one_is_retried(
    sending, receiver, connect, alice_app, jwt_for
):
    with WebhookReceiver() as failing:
        failing.statuses = [500, 200]
        await configure(
            alice_app,
            webhook_url=receiver.url,
            webhook_extra_urls=[failing.url],
            webhook_events=["channel_occupied"],
        )
        _, _, socket = await connect(alice_app.app_key, jwt_for(user_id="u1"))
        await socket.join("room")
        await wait_for(lambda: len(failing.requests) == 2, what="the retry")
        await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1


def test_subscription_counts_are_coalesced_to_the_last_per_channel():
    events = [
        {"name": "subscription_count", "channel": "a", "subscription_count": 1},
        {"name": "channel_occupied", "channel": "a"},
        {"name": "subscription_count", "channel": "b", "subscription_count": 1},
        {"name": "subscription_count", "channel": "a", "subscription_count": 2},
    ]
    assert webhook_events.coalesced(events) == events[1:]
