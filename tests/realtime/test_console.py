"""realtime.console: notices become rows on the application's reserved console topic,
only while a console of that application is open, within a per-second budget."""

import asyncio
import json
import time

import pytest

from realtime import notifications
from realtime.console import forward, registry
from realtime.console.rows import DATA_CHARS, RowBudget, row_of
from realtime.console.stream import ConsoleSubscriber
from realtime.hub import get_hub
from realtime.notifications import Notice
from realtime.topics import CONSOLE_TOPIC, topic_is_valid

pytestmark = pytest.mark.django_db(transaction=True)


class Credential:
    def __str__(self) -> str:
        return "secret token ci (exps_abc…)"


def test_a_row_cuts_payloads_names_credentials_and_keeps_unknown_kinds():
    notice = Notice(
        7,
        notifications.API_MESSAGE,
        {"topics": ["a", "b"], "event": "e", "data": "x" * 5000, "credential": Credential()},
    )
    row = row_of(notice, now=1.5)
    assert row["kind"] == "api_message" and row["at"] == 1500
    assert row["topics"] == ["a", "b"] and row["credential"] == "secret token ci (exps_abc…)"
    assert row["data"].startswith("x" * DATA_CHARS) and "4000 more characters" in row["data"]
    binary = row_of(Notice(7, notifications.CLIENT_EVENT, {"data": b"\x00" * 9}))
    assert binary["data"] == "(binary, 9 bytes)"
    unknown = row_of(Notice(7, "channel_occupied", {"topic": "lobby"}))
    assert unknown["kind"] == "channel_occupied" and unknown["topic"] == "lobby"
    json.dumps([row, binary, unknown])  # plain JSON values only


def test_the_budget_takes_rate_rows_a_second_and_reports_the_rest_once():
    budget = RowBudget(3)
    taken = [budget.take(1, 100.1) for _ in range(5)]
    assert taken == [(True, 0)] * 3 + [(False, 0)] * 2
    assert budget.take(2, 100.2) == (True, 0)  # each application has its own
    assert budget.overdue(1, 100.9) == 0  # that second is not over yet
    assert budget.overdue(1, 101.0) == 2
    assert budget.overdue(1, 101.1) == 0  # told once
    budget.take(1, 101.2), budget.take(1, 101.3), budget.take(1, 101.4), budget.take(1, 101.5)
    assert budget.take(1, 102.0) == (True, 1)  # or with the next row


def test_the_console_topic_is_outside_every_protocol_and_api():
    assert not topic_is_valid(CONSOLE_TOPIC)


async def _rows(subscriber: ConsoleSubscriber, timeout: float = 2.0) -> list[dict]:
    frame = await asyncio.wait_for(subscriber.frames.get(), timeout)
    assert frame.startswith("data: ") and frame.endswith("\n\n")
    return json.loads(frame[len("data: ") :])["rows"]


@pytest.fixture
async def console(alice_app):
    """A console subscriber of alice_app, open as a console view opens it."""
    subscriber = ConsoleSubscriber()
    hub = get_hub()
    await hub.join(subscriber, alice_app.id, CONSOLE_TOPIC)
    async with registry.console_open(alice_app.id):
        yield subscriber
    await hub.leave(subscriber, alice_app.id, CONSOLE_TOPIC)


async def test_the_console_does_not_listen_while_no_console_is_open(alice_app):
    # (Statistics listen all the time: realtime.stats.listener.)
    assert forward.on_notice not in notifications._listeners
    async with registry.console_open(alice_app.id):
        assert forward.on_notice in notifications._listeners
        assert alice_app.id in registry.open_apps
    assert forward.on_notice not in notifications._listeners


async def test_notices_of_the_application_reach_its_console(layer, alice_app, console):
    notifications.notify(alice_app.id + 1000, notifications.SUBSCRIBED, socket_id="1.1", topic="x")
    notifications.notify(alice_app.id, notifications.SUBSCRIBED, socket_id="1.2", topic="lobby")
    notifications.notify(alice_app.id, "webhook_sent", url="https://h.example", status=200)
    rows = await _rows(console)
    assert [(r["kind"], r.get("topic")) for r in rows] == [
        ("subscribed", "lobby"),
        ("webhook_sent", None),
    ]
    assert rows[0]["socket_id"] == "1.2"


async def test_a_busy_application_is_sampled_and_told_so(settings, alice_app, console):
    from realtime.console import forward

    settings.EXPUSHER_CONSOLE_ROWS_PER_SECOND = 3
    forward._consoles_changed(frozenset())  # a new budget with the new rate
    forward._consoles_changed(registry.open_apps)
    while time.time() % 1 > 0.8:  # all ten notices within one second
        await asyncio.sleep(0.05)
    for n in range(10):
        notifications.notify(alice_app.id, notifications.CLIENT_EVENT, event=f"e{n}", data="{}")
    rows = await _rows(console)
    assert [r["event"] for r in rows] == ["e0", "e1", "e2"]
    sampled = await _rows(console, timeout=3)
    assert [(r["kind"], r["dropped"]) for r in sampled] == [("sampled", 7)]


async def test_a_console_open_in_another_process_is_followed_through_redis(redis, alice_app):
    from realtime.presence import get_presence

    store = get_presence()
    key = f"{registry._key()}"
    await store.redis.zadd(key, {f"{alice_app.id}:elsewhere": time.time() + 5})
    registry.start_polling()
    try:
        for _ in range(40):
            if alice_app.id in registry.open_apps:
                break
            await asyncio.sleep(0.05)
        assert alice_app.id in registry.open_apps and forward.on_notice in notifications._listeners
        await store.redis.zrem(key, f"{alice_app.id}:elsewhere")
        for _ in range(40):
            if alice_app.id not in registry.open_apps:
                break
            await asyncio.sleep(0.05)
        assert alice_app.id not in registry.open_apps
        assert forward.on_notice not in notifications._listeners
    finally:
        await store.redis.delete(key)


async def test_no_socket_may_join_the_console_topic(alice_app, connect, jwt_for):
    from channels.testing import WebsocketCommunicator

    from expusher.asgi import application

    ok, _, phoenix = await connect(alice_app.app_key, jwt_for(listen=("*",)))
    assert ok
    reply = await phoenix.join(CONSOLE_TOPIC)
    assert reply["status"] == "error"
    pusher = WebsocketCommunicator(application, f"/app/{alice_app.app_key}?protocol=7")
    assert (await pusher.connect())[0]
    await pusher.receive_from()  # connection_established
    frame = {"event": "pusher:subscribe", "data": {"channel": CONSOLE_TOPIC}}
    await pusher.send_to(text_data=json.dumps(frame))
    assert json.loads(await pusher.receive_from())["event"] == "pusher:error"
    await pusher.disconnect()


def test_no_api_may_trigger_on_the_console_topic(alice_app, alice_secret):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice_secret}")
    url = f"/api/organizations/{alice_app.organization.slug}/applications/{alice_app.app_key}"
    response = client.post(f"{url}/event/e", {"topic": CONSOLE_TOPIC}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_topic"
