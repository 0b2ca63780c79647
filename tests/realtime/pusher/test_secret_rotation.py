"""Rotating an application's secret: the new one signs and verifies at once, the old one
only for the grace period, on the Pusher HTTP API and on sockets (also on a socket that
connected before the rotation), in process."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from organizations import credentials
from realtime.pusher import signatures
from tests.realtime.pusher.conftest import PusherApi

pytestmark = pytest.mark.django_db(transaction=True)

rotate = database_sync_to_async(credentials.application_secret_rotate)


async def _trigger(app, secret: str) -> int:
    api = PusherApi(app, secret)
    return (await api.send(api.client.trigger.make_request("orders", "e", "{}"))).status


async def test_with_no_grace_the_old_secret_stops_at_once(alice_app_and_secret):
    app, old = alice_app_and_secret
    assert await _trigger(app, old) == 200  # this process now holds a snapshot of the app

    app, new = await rotate(application=app)

    assert new != old
    assert await _trigger(app, old) == 401
    assert await _trigger(app, new) == 200


async def test_during_the_grace_period_both_secrets_verify_then_only_the_new(
    alice_app_and_secret,
):
    app, old = alice_app_and_secret
    app, new = await rotate(application=app, grace_seconds=1)

    assert await _trigger(app, old) == 200
    assert await _trigger(app, new) == 200
    await asyncio.sleep(1.1)
    # The caches still hold the snapshot with both secrets: the expiry is checked on use.
    assert await _trigger(app, old) == 401
    assert await _trigger(app, new) == 200


async def _pusher_socket(app) -> tuple[WebsocketCommunicator, str]:
    from expusher.asgi import application

    ws = WebsocketCommunicator(application, f"/app/{app.app_key}?protocol=7")
    assert (await ws.connect())[0]
    established = json.loads(await ws.receive_from(timeout=2))
    return ws, json.loads(established["data"])["socket_id"]


async def _subscribe(ws, app, secret: str, socket_id: str, channel: str) -> str:
    signature = signatures.sign(secret, f"{socket_id}:{channel}")
    frame = {
        "event": "pusher:subscribe",
        "data": {"channel": channel, "auth": f"{app.app_key}:{signature}"},
    }
    await ws.send_to(text_data=json.dumps(frame))
    return json.loads(await ws.receive_from(timeout=2))["event"]


async def test_a_socket_connected_before_the_rotation_checks_with_the_new_secret(
    alice_app_and_secret,
):
    app, old = alice_app_and_secret
    ws, socket_id = await _pusher_socket(app)
    try:
        app, new = await rotate(application=app)

        refused = await _subscribe(ws, app, old, socket_id, "private-a")
        accepted = await _subscribe(ws, app, new, socket_id, "private-b")

        assert refused == "pusher:subscription_error"
        assert accepted == "pusher_internal:subscription_succeeded"
    finally:
        await ws.disconnect()


async def test_a_rotation_during_a_grace_period_keeps_only_the_last_two_secrets(
    alice_app_and_secret,
):
    app, first = alice_app_and_secret
    app, second = await rotate(application=app, grace_seconds=60)
    app, third = await rotate(application=app, grace_seconds=60)

    assert [await _trigger(app, s) for s in (first, second, third)] == [401, 200, 200]


async def test_the_grace_period_is_bounded(alice_app):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        await rotate(application=alice_app, grace_seconds=credentials.MAX_SECRET_GRACE_SECONDS + 1)
    with pytest.raises(ValidationError):
        await rotate(application=alice_app, grace_seconds=-1)
