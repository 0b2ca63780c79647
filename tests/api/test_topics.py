"""Topic and presence queries, and user disconnects, against live sockets.

Sockets are real (WebsocketCommunicator over expusher.asgi) and run on the in-memory
store and layer and on Redis. The API calls go through the Django test client in a
worker thread, as under an ASGI server: the views' async_to_sync then runs on the test's
event loop, where the sockets and their Redis clients live.
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from rest_framework.test import APIClient

from realtime import presence

# Socket fixtures shared with tests/realtime; test arguments of the same names use them.
# ruff: noqa: F811
from tests.realtime.conftest import connect, jwt_for, layer  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def base(app, org=None) -> str:
    return f"/api/organizations/{org or app.organization.slug}/applications/{app.app_key}"


def client(bearer: str | None = None) -> APIClient:
    api = APIClient()
    if bearer is not None:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer}")
    return api


async def get(path: str, bearer: str | None = None):
    return await sync_to_async(client(bearer).get)(path)


async def post(path: str, bearer: str | None = None):
    return await sync_to_async(client(bearer).post)(path)


async def joined(open_socket, app, jwt, *topics):
    connected, _, socket = await open_socket(app.app_key, jwt)
    assert connected
    for topic in topics:
        assert (await socket.join(topic))["status"] == "ok", topic
    return socket


async def closed_with(socket) -> int:
    """The close code the server sent, skipping the frames before it.

    Then the transport's part, as daphne does once the close handshake is over: tell the
    application the socket is gone (that is when it leaves its topics).
    """
    for _ in range(20):
        output = await socket.ws.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            await socket.ws.disconnect()
            return output["code"]
    raise AssertionError("the socket was not closed")


@pytest.fixture
async def room(layer, connect, alice_app, jwt_for):
    """Alice in two tabs and Bob on presence:room; Bob and Carol on general."""
    alice = jwt_for(user_id="alice", info={"name": "Alice"})
    sockets = {
        "alice-1": await joined(connect, alice_app, alice, "presence:room"),
        "alice-2": await joined(connect, alice_app, alice, "presence:room"),
        "bob": await joined(connect, alice_app, jwt_for(user_id="bob"), "presence:room", "general"),
        "carol": await joined(connect, alice_app, jwt_for(user_id="carol"), "general"),
    }
    return sockets


async def test_it_lists_occupied_topics_with_counts(room, alice_app, alice_secret):
    r = await get(f"{base(alice_app)}/topics", alice_secret)

    assert r.status_code == 200, r.content
    assert r.json() == {
        "topics": {
            "general": {"subscription_count": 2},
            "presence:room": {"subscription_count": 3, "user_count": 2},
        }
    }


async def test_it_counts_a_process_without_presence_topics(
    layer,
    connect,
    alice_app,
    alice_secret,
    jwt_for,
):
    # Nobody here joined a presence topic: the process must still count as a live node.
    for _ in range(2):
        await joined(connect, alice_app, jwt_for(), "general")

    r = await get(f"{base(alice_app)}/topics", alice_secret)

    assert r.json() == {"topics": {"general": {"subscription_count": 2}}}


async def test_it_filters_topics_by_prefix(room, alice_app, alice_secret):
    r = await get(f"{base(alice_app)}/topics?prefix=presence:", alice_secret)
    assert list(r.json()["topics"]) == ["presence:room"]

    r = await get(f"{base(alice_app)}/topics?prefix=nothing-here", alice_secret)
    assert r.json() == {"topics": {}}


async def test_it_forgets_topics_once_their_sockets_leave(room, alice_app, alice_secret):
    await room["bob"].ws.disconnect()
    await room["carol"].ws.disconnect()

    r = await get(f"{base(alice_app)}/topics", alice_secret)

    assert r.json() == {"topics": {"presence:room": {"subscription_count": 2, "user_count": 1}}}


async def test_it_counts_one_topic(room, alice_app, alice_secret):
    r = await get(f"{base(alice_app)}/topics/presence:room", alice_secret)
    assert r.status_code == 200, r.content
    assert r.json() == {
        "topic": "presence:room",
        "occupied": True,
        "subscription_count": 3,
        "user_count": 2,
    }

    r = await get(f"{base(alice_app)}/topics/general", alice_secret)
    assert r.json() == {
        "topic": "general",
        "occupied": True,
        "subscription_count": 2,
        "user_count": 0,
    }


async def test_an_empty_topic_is_not_occupied(room, alice_app, alice_secret):
    r = await get(f"{base(alice_app)}/topics/presence:empty", alice_secret)

    assert r.status_code == 200
    assert r.json() == {
        "topic": "presence:empty",
        "occupied": False,
        "subscription_count": 0,
        "user_count": 0,
    }


async def test_it_lists_presence_members_with_info_and_connections(room, alice_app, alice_secret):
    r = await get(f"{base(alice_app)}/topics/presence:room/presence", alice_secret)

    assert r.status_code == 200, r.content
    assert r.json() == {
        "members": [
            {"id": "alice", "info": {"name": "Alice"}, "connections": 2},
            {"id": "bob", "info": {}, "connections": 1},
        ]
    }


async def test_counts_are_per_application(room, alice_app, alice_org, alice_secret):
    from organizations import services

    other, _ = await sync_to_async(services.application_create)(
        organization=alice_org, name="Other"
    )

    r = await get(f"{base(other)}/topics", alice_secret)
    assert r.json() == {"topics": {}}
    r = await get(f"{base(other)}/topics/presence:room/presence", alice_secret)
    assert r.json() == {"members": []}


async def test_a_jwt_sees_only_the_topics_it_may_listen_to(room, alice_app, jwt_for):
    jwt = jwt_for(listen=["presence:*"])

    r = await get(f"{base(alice_app)}/topics", jwt)
    assert r.status_code == 200, r.content
    assert list(r.json()["topics"]) == ["presence:room"]

    r = await get(f"{base(alice_app)}/topics/presence:room/presence", jwt)
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["members"]] == ["alice", "bob"]

    for path in ("topics/general", "topics/presence-other/presence"):
        r = await get(f"{base(alice_app)}/{path}", jwt)
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "forbidden"


async def test_a_jwt_for_other_applications_is_forbidden(alice_app, jwt_for):
    r = await get(f"{base(alice_app)}/topics", jwt_for(apps=["some-other-key"]))
    assert r.status_code == 403


async def test_it_refuses_bad_topics_and_prefixes(alice_app, alice_secret):
    for path in (
        "topics/bad%20topic",
        "topics/" + "a" * 201,
        "topics/bad%20topic/presence",
        "topics?prefix=bad%20prefix",
    ):
        r = await get(f"{base(alice_app)}/{path}", alice_secret)
        assert r.status_code == 400, path
        assert set(r.json()["error"]) == {"code", "message"}


async def test_presence_of_a_plain_topic_is_refused(alice_app, alice_secret):
    r = await get(f"{base(alice_app)}/topics/general/presence", alice_secret)

    assert r.status_code == 400
    assert r.json()["error"]["code"] == "not_presence_topic"


async def test_other_organizations_apps_are_not_found(alice_app, charlie_app, charlie_secret):
    paths = ["topics", "topics/general", "topics/presence:room/presence"]
    for path in paths:
        r = await get(f"{base(alice_app)}/{path}", charlie_secret)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"
    r = await post(f"{base(alice_app)}/users/alice/disconnect", charlie_secret)
    assert r.status_code == 404
    # Charlie's own app under Alice's organization: not found either.
    r = await get(f"{base(charlie_app, org=alice_app.organization.slug)}/topics", charlie_secret)
    assert r.status_code == 404


async def test_it_requires_credentials(alice_app):
    for bearer in (None, "not-a-jwt", "exps_not-a-token"):
        r = await get(f"{base(alice_app)}/topics", bearer)
        assert r.status_code == 401, bearer
        assert r["WWW-Authenticate"] == 'Bearer realm="expusher"'
        r = await post(f"{base(alice_app)}/users/alice/disconnect", bearer)
        assert r.status_code == 401, bearer


async def test_disconnect_closes_the_users_sockets_and_only_theirs(room, alice_app, alice_secret):
    r = await post(f"{base(alice_app)}/users/alice/disconnect", alice_secret)

    assert r.status_code == 200, r.content
    assert r.json() == {}
    assert await closed_with(room["alice-1"]) == 4009
    assert await closed_with(room["alice-2"]) == 4009
    for name in ("bob", "carol"):
        ref = await room[name].push("phoenix", "heartbeat")
        assert (await room[name].reply(ref))["status"] == "ok"
    r = await get(f"{base(alice_app)}/topics/presence:room/presence", alice_secret)
    assert r.json() == {"members": [{"id": "bob", "info": {}, "connections": 1}]}


async def test_a_disconnected_users_jwt_stays_refused_until_a_new_one_is_issued(
    layer, connect, alice_app, alice_secret, jwt_for
):
    jwt = jwt_for(user_id="dave")
    socket = await joined(connect, alice_app, jwt, "general")
    other = jwt_for(user_id="erin")
    bystander = await joined(connect, alice_app, other, "general")

    assert (await post(f"{base(alice_app)}/users/dave/disconnect", alice_secret)).status_code == 200
    assert await closed_with(socket) == 4009

    # The stock client comes straight back with the same JWT: refused, socket and REST alike.
    connected, _, _ = await connect(alice_app.app_key, jwt)
    assert not connected
    r = await post(f"{base(alice_app)}/event/e?topic=general", jwt)
    assert r.status_code == 401
    # A newly issued JWT for the same user works; other users were never affected.
    await joined(connect, alice_app, jwt_for(user_id="dave"), "general")
    assert (await post(f"{base(alice_app)}/event/e?topic=general", other)).status_code == 200
    ref = await bystander.push("phoenix", "heartbeat")
    assert (await bystander.reply(ref))["status"] == "ok"


async def test_disconnecting_a_user_without_sockets_is_fine(room, alice_app, alice_secret):
    r = await post(f"{base(alice_app)}/users/nobody/disconnect", alice_secret)

    assert r.status_code == 200
    ref = await room["bob"].push("phoenix", "heartbeat")
    assert (await room["bob"].reply(ref))["status"] == "ok"


async def test_a_jwt_may_not_disconnect_users(room, alice_app, jwt_for):
    r = await post(f"{base(alice_app)}/users/alice/disconnect", jwt_for())

    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    ref = await room["alice-1"].push("phoenix", "heartbeat")
    assert (await room["alice-1"].reply(ref))["status"] == "ok"


def test_it_refuses_user_ids_longer_than_a_jwt_may_carry(alice_app, alice_secret):
    disconnect = f"{base(alice_app)}/users/{{}}/disconnect"
    r = client(alice_secret).post(disconnect.format("u" * 129))
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "invalid_user_id",
        "message": "A user id has 1 to 128 characters.",
    }
    assert client(alice_secret).post(disconnect.format("u" * 128)).status_code == 200


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_it_answers_from_a_plain_sync_caller(store, settings, alice_app, alice_secret):
    """No event loop at all (a management command, a WSGI test): async_to_sync makes one."""
    if store == "redis":
        from tests.realtime.conftest import use_redis

        use_redis(settings)
        writer = presence.RedisPresenceStore(
            settings.REDIS_URL, settings.EXPUSHER_REDIS_PREFIX, 60, node="sync-test"
        )
    else:
        writer = presence.get_presence()

    async def populate():
        if store == "redis":
            await writer.heartbeat()
        await writer.track(alice_app.id, "presence:sync", "c1", "dora", {"info": {"n": 1}})
        await writer.subscribed(alice_app.id, "presence:sync", +1)
        if store == "redis":
            await writer.redis.aclose()

    async_to_sync(populate)()
    api = client(alice_secret)

    r = api.get(f"{base(alice_app)}/topics")
    assert r.json() == {"topics": {"presence:sync": {"subscription_count": 1, "user_count": 1}}}
    r = api.get(f"{base(alice_app)}/topics/presence:sync/presence")
    assert r.json() == {"members": [{"id": "dora", "info": {"n": 1}, "connections": 1}]}
