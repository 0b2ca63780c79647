"""Who may open a socket, and sockets that lose their right to stay open."""

import base64
import logging

import pytest
from asgiref.sync import sync_to_async

from organizations import services
from realtime import tokens

pytestmark = pytest.mark.django_db(transaction=True)


def subprotocol_for(jwt: str) -> str:
    return "base64url.bearer.phx." + base64.urlsafe_b64encode(jwt.encode()).decode().rstrip("=")


async def test_it_accepts_the_jwt_as_param_alias_and_subprotocol(connect, alice_app, jwt_for):
    jwt = jwt_for(listen=["room:*"])
    for kwargs in ({"jwt": jwt}, {"guardian_token": jwt}):
        connected, _, a = await connect(alice_app.app_key, **kwargs)
        assert connected and (await a.join("room:1"))["status"] == "ok"
    connected, subprotocol, a = await connect(
        alice_app.app_key, subprotocols=["phoenix", subprotocol_for(jwt)]
    )
    assert connected and subprotocol == "phoenix"
    assert (await a.join("room:1"))["status"] == "ok"


@pytest.mark.parametrize("jwt", ["garbage", "a.b.c", "x" * 9000])
async def test_it_refuses_bad_tokens(connect, alice_app, jwt, caplog):
    caplog.set_level(logging.INFO)
    connected, _, _ = await connect(alice_app.app_key, jwt)
    assert not connected
    assert jwt[:20] not in caplog.text


async def test_it_refuses_unknown_and_archived_applications(connect, alice_app, jwt_for):
    assert not (await connect("nope", jwt_for()))[0]
    await sync_to_async(services.application_archive)(application=alice_app)
    from django.core.cache import cache

    await sync_to_async(cache.clear)()
    assert not (await connect(alice_app.app_key, jwt_for()))[0]


async def test_it_refuses_expired_revoked_and_foreign_tokens(
    connect, alice_app, alice_token_and_secret, charlie_app, jwt_for
):
    assert not (await connect(alice_app.app_key, jwt_for(ttl=-5)))[0]
    assert not (await connect(charlie_app.app_key, jwt_for()))[0]  # alice's JWT, charlie's app
    assert not (await connect(alice_app.app_key, jwt_for(apps=[])))[0]
    jwt = jwt_for()
    await sync_to_async(services.secret_token_revoke)(token=alice_token_and_secret[0])
    assert not (await connect(alice_app.app_key, jwt))[0]


async def test_it_checks_the_origin_against_the_application_list(connect, alice_app, jwt_for):
    await sync_to_async(services.application_update)(
        application=alice_app, allowed_origins=["https://good.example", "https://*.shop.example"]
    )
    ok = [(b"origin", b"https://good.example")]
    sub = [(b"origin", b"https://eu.shop.example")]
    bad = [(b"origin", b"https://good.example.evil.test")]
    assert (await connect(alice_app.app_key, jwt_for(), headers=ok))[0]
    assert (await connect(alice_app.app_key, jwt_for(), headers=sub))[0]
    assert not (await connect(alice_app.app_key, jwt_for(), headers=bad))[0]
    # No Origin (a server-side client) is fine with a JWT, not anonymously.
    assert (await connect(alice_app.app_key, jwt_for()))[0]
    assert not (await connect(alice_app.app_key))[0]


async def test_a_socket_is_closed_when_its_jwt_expires(connect, alice_app, jwt_for):
    connected, _, a = await connect(alice_app.app_key, jwt_for(ttl=1))
    assert connected
    assert await a.ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4009}


async def test_a_socket_is_closed_when_its_secret_token_is_revoked(
    connect, alice_app, alice_token_and_secret, jwt_for, settings
):
    settings.EXPUSHER_REVOCATION_CACHE_SECONDS = 1
    connected, _, a = await connect(alice_app.app_key, jwt_for())
    assert connected
    await sync_to_async(services.secret_token_revoke)(token=alice_token_and_secret[0])
    assert await a.ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4009}


async def test_archiving_an_application_closes_its_sockets_with_4003(
    layer, connect, alice_app, jwt_for, settings
):
    from tests.realtime.pusher.test_pusher_socket import PusherClient, established

    settings.EXPUSHER_REVOCATION_CACHE_SECONDS = 1
    settings.EXPUSHER_APP_CACHE_SECONDS = 1
    _, _, with_jwt = await connect(alice_app.app_key, jwt_for())
    _, _, anonymous = await connect(alice_app.app_key, headers=[(b"origin", b"https://x.test")])
    from channels.testing import WebsocketCommunicator

    from expusher.asgi import application

    ws = WebsocketCommunicator(application, f"/app/{alice_app.app_key}?protocol=7")
    assert (await ws.connect())[0]
    await established(PusherClient(ws))

    await sync_to_async(services.application_archive)(application=alice_app)
    for socket in (with_jwt.ws, anonymous.ws, ws):
        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}


def test_tokens_from_subprotocols_decode_padding_free_base64():
    from realtime.identity import token_from_subprotocols

    jwt, _ = tokens.issue(organization_id=1, token_id=1, apps=[], listen=[], publish=[], ttl=5)
    assert token_from_subprotocols(["phoenix", subprotocol_for(jwt)]) == jwt
    assert token_from_subprotocols(["phoenix"]) is None


async def test_connections_past_the_quota_are_refused_until_one_leaves(
    layer, connect, alice_app, jwt_for
):
    await sync_to_async(services.application_update)(application=alice_app, max_connections=2)
    first = await connect(alice_app.app_key, jwt_for())
    assert first[0] and (await connect(alice_app.app_key, jwt_for()))[0]
    assert not (await connect(alice_app.app_key, jwt_for()))[0]
    await first[2].ws.disconnect()
    assert (await connect(alice_app.app_key, jwt_for()))[0]


async def test_a_dead_redis_refuses_connections_without_crashing(
    connect, alice_app, jwt_for, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    connected, _, _ = await connect(alice_app.app_key, jwt_for())
    assert not connected


@pytest.mark.parametrize(
    "path", ["/nope", "/socket/websocket/x", "/app/", "/app/key/more", "/socket/longpoll"]
)
async def test_an_unknown_path_is_denied_with_404_or_closed(path):
    from channels.testing import ApplicationCommunicator, WebsocketCommunicator

    from expusher.asgi import application

    # A server without ASGI's denial-response extension: a close before accept (its 403).
    assert await WebsocketCommunicator(application, path).connect() == (False, 1000)
    # With it (daphne as expusher.server runs it): an HTTP 404.
    scope = {"type": "websocket", "path": path, "headers": [], "query_string": b""}
    scope["extensions"] = {"websocket.http.response": {}}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})
    start = await communicator.receive_output()
    assert (start["type"], start["status"]) == ("websocket.http.response.start", 404)
    body = await communicator.receive_output()
    assert body["type"] == "websocket.http.response.body" and not body.get("more_body")


ANONYMOUS = [(b"origin", b"https://page.example")]


async def test_anonymous_sockets_get_only_their_share_of_the_quota(
    layer, connect, alice_app, jwt_for, settings, caplog
):
    caplog.set_level(logging.INFO)
    settings.EXPUSHER_ANONYMOUS_CONNECTION_SHARE = 0.5
    await sync_to_async(services.application_update)(application=alice_app, max_connections=4)
    first = await connect(alice_app.app_key, headers=ANONYMOUS)
    assert first[0] and (await connect(alice_app.app_key, headers=ANONYMOUS))[0]
    assert not (await connect(alice_app.app_key, headers=ANONYMOUS))[0]  # 3 of 4 anonymous
    assert "anonymous connections may use at most 2 of the 4" in caplog.text
    # The other half is left for sockets with a JWT, up to the whole quota.
    assert (await connect(alice_app.app_key, jwt_for()))[0]
    assert (await connect(alice_app.app_key, jwt_for()))[0]
    assert not (await connect(alice_app.app_key, jwt_for()))[0]
    await first[2].ws.disconnect()
    assert (await connect(alice_app.app_key, headers=ANONYMOUS))[0]


@pytest.mark.parametrize("share, admitted", [(1, 3), (0, 0), (0.34, 1)])
async def test_the_anonymous_share_is_configurable(
    layer, connect, alice_app, settings, share, admitted
):
    settings.EXPUSHER_ANONYMOUS_CONNECTION_SHARE = share
    await sync_to_async(services.application_update)(application=alice_app, max_connections=3)
    results = [(await connect(alice_app.app_key, headers=ANONYMOUS))[0] for _ in range(4)]
    assert results == [True] * admitted + [False] * (4 - admitted)


async def test_without_a_quota_anonymous_sockets_are_not_capped(connect, alice_app, settings):
    settings.EXPUSHER_ANONYMOUS_CONNECTION_SHARE = 0
    for _ in range(3):
        assert (await connect(alice_app.app_key, headers=ANONYMOUS))[0]
