"""What the REST triggers' async path does besides answering like Django
(test_fast_triggers.py): it publishes, in order; a warm trigger makes no thread hop (so it
reads no database row); revocations reach it within a second; last_used is still kept."""

import asyncio
import json
import time

import jwt as pyjwt
import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from api.fast_triggers import body_limit, trigger_application
from expusher.asgi import application, django_application, http_application
from organizations import local_cache, services
from organizations.models import SecretToken
from organizations.selectors import secret_token_cache_keys
from tests.api.fast_support import World, call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(alice_app, alice_token_and_secret, charlie_app, charlie_secret) -> World:
    token, secret = alice_token_and_secret
    return World(alice_app, secret, token, charlie_app, charlie_secret)


async def subscriber(world: World, topic: str) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(
        application,
        f"/socket/websocket?vsn=2.0.0&app_key={world.app.app_key}&jwt={world.jwt()}",
    )
    assert (await ws.connect())[0]
    await ws.send_to(text_data=json.dumps(["1", "1", topic, "phx_join", {}]))
    assert json.loads(await ws.receive_from())[4]["status"] == "ok"
    return ws


@pytest.fixture
def no_thread_hops(monkeypatch):
    """forbid() makes every sync_to_async (database_sync_to_async included) fail."""

    def forbid():
        def refuse(self, *args, **kwargs):
            raise AssertionError(f"a thread hop on the warm path: {self.func}")

        monkeypatch.setattr(SyncToAsync, "__call__", refuse)

    return forbid


async def test_single_events_and_batches_reach_subscribers_in_order(world):
    ws = await subscriber(world, "room:1")
    first = world.post(world.event_path("one"), bearer=world.secret, form={"topic": "room:1"})
    batch = {
        "events": [{"topic": "room:1", "event": f"b{i}", "payload": {"i": i}} for i in range(3)]
    }
    second = world.post(world.batch_path(), bearer=world.jwt(), json_body=batch)
    assert (await call(http_application, first)).body == b"{}"
    assert (await call(http_application, second)).json() == {"sent": 3}
    frames = [json.loads(await ws.receive_from()) for _ in range(4)]
    assert [f[3] for f in frames] == ["one", "b0", "b1", "b2"]
    assert frames[1][4] == {"i": 0}
    await ws.disconnect()


async def test_a_warm_trigger_makes_no_thread_hop(world, no_thread_hops):
    requests = [
        world.post(world.event_path(), bearer=world.secret, json_body={"a": 1}),
        world.post(world.batch_path(), bearer=world.jwt(), json_body={"events": [{"event": "e"}]}),
        world.preflight(world.event_path()),
    ]
    for request in requests:  # warms the memos
        assert (await call(http_application, request)).status == 200
    no_thread_hops()
    for request in requests:
        assert (await call(http_application, request)).status == 200


async def test_a_revocation_in_this_process_is_refused_at_once(world):
    request = world.post(world.event_path(), bearer=world.secret, json_body={})
    jwt_request = world.post(world.event_path(), bearer=world.jwt(), json_body={})
    assert (await call(http_application, request)).status == 200
    assert (await call(http_application, jwt_request)).status == 200
    await sync_to_async(services.secret_token_revoke)(token=world.token)
    assert (await call(http_application, request)).status == 401
    assert (await call(http_application, jwt_request)).status == 401


async def test_another_process_s_revocation_is_seen_within_a_second(world, monkeypatch):
    request = world.post(world.event_path(), bearer=world.secret, json_body={})
    assert (await call(http_application, request)).status == 200

    def revoked_elsewhere():  # what secret_token_revoke does in another process
        SecretToken.objects.filter(pk=world.token.pk).update(revoked="2026-01-01T00:00Z")
        cache.delete_many(secret_token_cache_keys(world.token))

    await sync_to_async(revoked_elsewhere)()
    assert (await call(http_application, request)).status == 200  # this process's memo
    later = time.monotonic() + local_cache.MAX_SECONDS + 0.01
    monkeypatch.setattr(local_cache, "_now", lambda: later)
    assert (await call(http_application, request)).status == 401


async def test_last_used_is_recorded_at_most_once_a_minute(world):
    request = world.post(world.event_path(), bearer=world.secret, json_body={})
    assert (await call(http_application, request)).status == 200
    token = await SecretToken.objects.aget(pk=world.token.pk)
    assert token.last_used is not None
    await SecretToken.objects.filter(pk=token.pk).aupdate(last_used=None)
    assert (await call(http_application, request)).status == 200
    assert (await SecretToken.objects.aget(pk=token.pk)).last_used is None


async def test_django_answers_what_it_is_handed_with_an_origin_on_a_cold_cache(world):
    """django-cors-headers asks api.cors from the event loop under ASGI; a cold application
    cache used to make that a SynchronousOnlyOperation, and the answer a 500."""
    origin = ("origin", "https://customer.example")
    multipart = world.post(
        world.event_path(),
        bearer=world.secret,
        body=b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xx--\r\n',
        headers=[("content-type", "multipart/form-data; boundary=xx"), origin],
    )
    refused = world.post(
        world.event_path(), bearer="exps_nope", body=b"--xx--", headers=multipart.headers[2:4]
    )
    for request, status in ((multipart, 200), (refused, 401)):
        await sync_to_async(cache.clear)()
        answer = await call(http_application, request)
        assert answer.status == status, answer.body
        assert answer.header("access-control-allow-origin") == "https://customer.example"


async def test_a_jwt_remembered_as_verified_is_still_refused_once_expired(world, monkeypatch):
    # exp is whole seconds: a 2 s JWT has at least one second left for the first request.
    jwt = world.jwt(ttl=2)
    expires_at = pyjwt.decode(jwt, options={"verify_signature": False})["exp"]
    request = world.post(world.event_path(), bearer=jwt, json_body={})
    assert (await call(http_application, request)).status == 200
    frozen = time.monotonic()
    monkeypatch.setattr(local_cache, "_now", lambda: frozen)  # memos never age
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)
    answer = await call(http_application, request)
    assert answer.status == 401 and answer.json()["error"]["message"] == "The JWT has expired."


async def test_more_body_than_the_head_announced_goes_to_django_whole(world):
    """Read past the lean path's limit, the body is replayed to Django with the rest."""
    handed = []

    async def to_django(scope, receive, send):
        handed.append(scope["path"])
        await django_application(scope, receive, send)

    fast = trigger_application(to_django)
    request = world.post(world.event_path(), bearer=world.secret, json_body={})
    request.headers = [(k, "2" if k == "content-length" else v) for k, v in request.headers]
    parts = [b'{"blob": "' + b"x" * (body_limit() + 1), b'"}']

    async def answer_of(app):
        queue = [{"type": "http.request", "body": p, "more_body": True} for p in parts]
        queue[-1]["more_body"] = False
        answer = {}

        async def receive():
            if queue:
                return queue.pop(0)
            await asyncio.Event().wait()

        async def send(message):
            answer.update(message)

        await app(request.scope(), receive, send)
        return answer["status"] if "status" in answer else answer

    assert await answer_of(fast) == await answer_of(django_application) == 413
    assert handed == [request.path]
