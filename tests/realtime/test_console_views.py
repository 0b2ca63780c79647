"""The dashboard's console endpoints: who may open the stream and send, what they get.

The stream is read through Django's async test client here (its first events); the
browser tests (tests/browser/test_console.py) read it through a real socket.
"""

import asyncio
import json

import pytest
from django.test import AsyncClient

from realtime import notifications
from realtime.console import forward

pytestmark = pytest.mark.django_db(transaction=True)


def _url(app, what: str) -> str:
    return f"/orgs/{app.organization.slug}/apps/{app.app_key}/console/{what}"


async def _client(user=None, **kwargs) -> AsyncClient:
    client = AsyncClient(**kwargs)
    if user is not None:
        await client.aforce_login(user)
    return client


async def _first_rows(response) -> list[dict]:
    """The rows of the stream's first event; then the client goes away, and Django
    cancels the stream while it waits for more (as its ASGI handler does)."""
    chunks = aiter(response.streaming_content)
    while True:
        text = (await anext(chunks)).decode()
        data = [line for line in text.splitlines() if line.startswith("data: ")]
        if data:
            break
    waiting = asyncio.ensure_future(anext(chunks))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    return json.loads(data[0][len("data: ") :])["rows"]


async def test_a_member_streams_the_log_and_it_starts_with_an_opened_row(alice_app, bob):
    client = await _client(bob)  # a plain member may read
    response = await client.get(_url(alice_app, "stream"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    rows = await _first_rows(response)
    assert rows[0]["kind"] == "console_opened"
    assert forward.on_notice not in notifications._listeners  # closed with the stream


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
async def test_others_get_404_for_the_stream_and_the_creator(who, alice_app, charlie):
    client = await _client(charlie if who == "outsider" else None)
    assert (await client.get(_url(alice_app, "stream"))).status_code == 404
    response = await client.post(_url(alice_app, "send"), {"channel": "a", "event": "e"})
    assert response.status_code == 404


async def test_the_creator_sends_through_the_api_path(alice, alice_app, connect, jwt_for):
    ok, _, subscriber = await connect(alice_app.app_key, jwt_for())
    assert ok
    await subscriber.join("lobby")
    heard = []
    stop = notifications.listen(heard.append)
    try:
        client = await _client(alice)
        response = await client.post(
            _url(alice_app, "send"),
            {"channel": "lobby", "event": "greeting", "data": '{"text": "hi"}'},
        )
    finally:
        stop()
    assert response.status_code == 200, response.content
    frame = await subscriber.recv()
    assert frame[2:] == ["lobby", "greeting", {"text": "hi"}]
    message = next(n for n in heard if n.kind == "api_message")
    assert message.fields["api"] == "dashboard"
    assert str(message.fields["credential"]) == alice.email


@pytest.mark.parametrize(
    "fields, status, code",
    [
        ({"channel": "lobby", "event": "e", "data": "[1]"}, 400, "invalid_payload"),
        ({"channel": "lobby", "event": "e", "data": "{nope"}, 400, "invalid_payload"),
        ({"channel": "#console", "event": "e", "data": "{}"}, 400, "invalid_topic"),
        ({"channel": "lobby", "event": "pusher:x", "data": "{}"}, 400, "invalid_event"),
        ({"channel": "lobby", "event": "e", "data": json.dumps({"x": "y" * 20000})}, 413, None),
    ],
)
async def test_bad_input_gets_a_clear_error(alice, alice_app, fields, status, code):
    client = await _client(alice)
    response = await client.post(_url(alice_app, "send"), fields)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == (code or "payload_too_large") and error["message"]


async def test_a_plain_member_may_not_send_and_csrf_is_checked(alice, alice_app, bob):
    client = await _client(bob)
    response = await client.post(_url(alice_app, "send"), {"channel": "a", "event": "e"})
    assert response.status_code == 403
    strict = await _client(alice, enforce_csrf_checks=True)
    response = await strict.post(_url(alice_app, "send"), {"channel": "a", "event": "e"})
    assert response.status_code == 403
