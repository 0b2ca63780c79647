"""realtime.capacity: past what one process takes on, a connection is refused at once with
the retryable answer (Pusher 4100, Phoenix 503/403 on the upgrade, long-poll 500), and a
freed slot is taken again."""

import json
import resource

import pytest
from asgiref.sync import ThreadSensitiveContext
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from realtime import capacity

pytestmark = pytest.mark.django_db(transaction=True)


async def pusher_socket(app):
    from expusher.asgi import application

    ws = WebsocketCommunicator(application, f"/app/{app.app_key}?protocol=7")
    assert (await ws.connect())[0]  # Pusher accepts, then says why it closes
    return ws, json.loads(await ws.receive_from())


async def test_past_the_process_cap_pusher_gets_4100_until_a_slot_frees(layer, alice_app, settings):
    settings.EXPUSHER_MAX_CONNECTIONS_PER_PROCESS = 2
    first, established = await pusher_socket(alice_app)
    assert established["event"] == "pusher:connection_established"
    second, _ = await pusher_socket(alice_app)

    refused, error = await pusher_socket(alice_app)
    assert error["event"] == "pusher:error"
    assert error["data"] == {
        "code": 4100,
        "message": "server at capacity, retry later: this process holds its 2 connections",
    }
    assert (await refused.receive_output())["code"] == 4100

    await first.disconnect()
    again, established = await pusher_socket(alice_app)
    assert established["event"] == "pusher:connection_established"
    for ws in (second, again):
        await ws.disconnect()


async def test_past_the_pending_admissions_a_connect_is_refused_at_once(
    alice_app, connect, jwt_for, settings
):
    settings.EXPUSHER_MAX_PENDING_ADMISSIONS = 1
    with capacity.admission():  # one connection between its upgrade and its admission
        ok, code, _ = await connect(alice_app.app_key, jwt_for())
        assert not ok  # the test communicator has no denial responses: a close (403)
        _, error = await pusher_socket(alice_app)
        assert error["data"]["code"] == 4100
    ok, _, _ = await connect(alice_app.app_key, jwt_for())
    assert ok


async def test_a_long_poll_open_past_the_cap_is_500_which_phoenix_retries(
    alice_app, jwt_for, settings
):
    settings.EXPUSHER_MAX_CONNECTIONS_PER_PROCESS = 1
    client = AsyncClient()
    path = f"/socket/longpoll?vsn=2.0.0&app_key={alice_app.app_key}&jwt={jwt_for()}"
    async with ThreadSensitiveContext():
        with capacity.admission():
            assert (await client.get(path)).json()["status"] == 500
        assert (await client.get(path)).json()["status"] == 410  # opened


def test_by_default_the_cap_keeps_a_reserve_below_the_descriptor_limit(settings):
    settings.EXPUSHER_MAX_CONNECTIONS_PER_PROCESS = 0
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    expected = 0 if soft == resource.RLIM_INFINITY else max(soft - capacity.DESCRIPTOR_RESERVE, 1)
    assert capacity.max_connections() == expected
    settings.EXPUSHER_MAX_CONNECTIONS_PER_PROCESS = 7
    assert capacity.max_connections() == 7
