"""The Pusher HTTP API (/apps/{app_id}/...) end to end through the ASGI application, with
requests the official `pusher` libraries build and sign, and live Phoenix sockets."""

import asyncio
import json
import shutil
import subprocess
import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.core.cache import cache
from pusher.http import POST

from organizations import services
from realtime.pusher.http import body_limit, serves
from realtime.pusher.http_auth import forget_applications

pytestmark = pytest.mark.django_db(transaction=True)


async def joined(connect, app, jwt, topic):
    """A Phoenix socket joined to `topic`, its presence frames (if any) read."""
    connected, _, client = await connect(app.app_key, jwt)
    assert connected
    assert (await client.join(topic))["status"] == "ok"
    if topic.startswith("presence"):
        while (await client.recv())[3] != "presence_diff":
            pass  # presence_state, then the announcement of its own join
    return client


# POST /apps/{app_id}/events


async def test_a_trigger_reaches_phoenix_sockets_as_the_object_its_data_holds(
    layer, pusher_api, connect, alice_app, jwt_for
):
    socket = await joined(connect, alice_app, jwt_for(), "orders")
    request = pusher_api.client.trigger.make_request("orders", "order-shipped", {"id": 1})
    response = await pusher_api.send(request)
    assert (response.status, response.json) == (200, {})
    assert await socket.recv() == [None, None, "orders", "order-shipped", {"id": 1}]


async def test_other_data_strings_reach_phoenix_sockets_wrapped(
    layer, pusher_api, connect, alice_app, jwt_for
):
    socket = await joined(connect, alice_app, jwt_for(), "orders")
    for data in ["hello", "[1, 2]", "42"]:
        await pusher_api.send(pusher_api.client.trigger.make_request("orders", "note", data))
        assert (await socket.recv())[4] == {"data": data}


async def test_a_trigger_on_several_channels_reaches_each_once(
    pusher_api, connect, alice_app, jwt_for
):
    a = await joined(connect, alice_app, jwt_for(), "a")
    b = await joined(connect, alice_app, jwt_for(), "b")
    response = await pusher_api.post(
        "/events", {"name": "e", "data": "{}", "channels": ["a", "b", "a"]}
    )
    assert response.status == 200
    assert (await a.recv())[2] == "a" and (await b.recv())[2] == "b"
    await a.nothing()


async def test_a_trigger_is_told_to_the_notification_listeners_once(pusher_api, alice_app):
    from realtime import notifications

    heard = []
    stop = notifications.listen(heard.append)
    try:
        response = await pusher_api.post(
            "/events", {"name": "e", "data": "hi", "channels": ["a", "b"]}
        )
    finally:
        stop()
    assert response.status == 200
    assert [(n.app_id, n.kind, n.fields) for n in heard] == [
        (
            alice_app.id,
            "api_message",
            {
                "topics": ["a", "b"],
                "event": "e",
                "data": "hi",
                "api": "pusher",
                "credential": f"app key {alice_app.app_key}",
            },
        )
    ]


async def test_socket_id_excludes_that_connection_only(
    layer, pusher_api, pusher_socket, connect, alice_app, jwt_for
):
    sender, other = await pusher_socket("orders"), await pusher_socket("orders")
    phoenix = await joined(connect, alice_app, jwt_for(), "orders")
    request = pusher_api.client.trigger.make_request(
        "orders", "e", '{"n": 1}', socket_id=sender.socket_id
    )
    assert (await pusher_api.send(request)).status == 200
    assert await other.recv() == {"event": "e", "channel": "orders", "data": '{"n": 1}'}
    assert (await phoenix.recv())[4] == {"n": 1}
    assert await sender.ws.receive_nothing(timeout=0.3)


async def test_user_channels_and_phoenix_topics_take_events_too(
    pusher_api, connect, alice_app, jwt_for
):
    phoenix = await joined(connect, alice_app, jwt_for(), "room:1")
    for channel in ("#server-to-user-u1", "room:1"):
        response = await pusher_api.post("/events", {"name": "e", "data": "x", "channel": channel})
        assert response.status == 200, response.json
    assert await phoenix.recv() == [None, None, "room:1", "e", {"data": "x"}]


async def test_info_reports_counts_across_both_kinds_of_channel(
    pusher_api, connect, alice_app, jwt_for
):
    for _ in range(2):  # two connections of one user
        await joined(connect, alice_app, jwt_for(user_id="alice"), "presence-room")
    await joined(connect, alice_app, jwt_for(), "orders")
    response = await pusher_api.post(
        "/events",
        {
            "name": "e",
            "data": "x",
            "channels": ["presence-room", "orders", "empty"],
            "info": "user_count,subscription_count",
        },
    )
    assert response.json == {
        "channels": {
            "presence-room": {"subscription_count": 2, "user_count": 1},
            "orders": {"subscription_count": 1},
            "empty": {"subscription_count": 0},
        }
    }


async def test_a_trigger_agrees_with_the_node_librarys_signature(
    pusher_api, connect, alice_app, jwt_for
):
    node = shutil.which("node")
    if node is None or not (django_settings.BASE_DIR / "node_modules/pusher").exists():
        pytest.skip("node or the npm pusher package is missing")
    script = """
    const Pusher = require("pusher");
    const [appId, key, secret] = process.argv.slice(1);
    const p = new Pusher({appId, key, secret, host: "testserver", useTLS: false});
    const body = JSON.stringify({name: "from-node", data: "{\\"n\\":1}", channels: ["orders"]});
    const path = `/apps/${appId}/events`;
    const query = p.createSignedQueryString({method: "POST", path, body});
    console.log(JSON.stringify({path, body, query}));
    """
    args = [node, "-e", script, str(alice_app.app_id), alice_app.app_key, pusher_api.secret]
    out = await asyncio.to_thread(
        subprocess.run,
        args,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        check=True,
        text=True,
    )
    signed = json.loads(out.stdout)
    socket = await joined(connect, alice_app, jwt_for(), "orders")
    response = await pusher_api.raw(
        POST, f"{signed['path']}?{signed['query']}", signed["body"].encode()
    )
    assert response.status == 200, response.json
    assert await socket.recv() == [None, None, "orders", "from-node", {"n": 1}]


# POST /apps/{app_id}/batch_events


async def test_a_batch_is_delivered_in_order(layer, pusher_api, connect, alice_app, jwt_for):
    socket = await joined(connect, alice_app, jwt_for(), "orders")
    batch = [{"channel": "orders", "name": f"e{i}", "data": {"i": i}} for i in range(10)]
    response = await pusher_api.send(pusher_api.client.trigger_batch.make_request(batch))
    assert (response.status, response.json) == (200, {})
    assert [(await socket.recv())[3:] for _ in range(10)] == [
        [f"e{i}", {"i": i}] for i in range(10)
    ]


async def test_a_batch_with_one_bad_event_sends_nothing(pusher_api, connect, alice_app, jwt_for):
    socket = await joined(connect, alice_app, jwt_for(), "orders")
    batch = [
        {"channel": "orders", "name": "fine", "data": "x"},
        {"channel": "orders", "name": "pusher:reserved", "data": "x"},
    ]
    response = await pusher_api.post("/batch_events", {"batch": batch})
    assert (response.status, response.code) == (400, "invalid_event")
    assert response.json["error"]["message"].startswith("batch[1]: ")
    await socket.nothing()


async def test_a_batch_holds_at_most_ten_events(pusher_api):
    batch = [{"channel": "orders", "name": "e", "data": "x"}] * 11
    response = await pusher_api.post("/batch_events", {"batch": batch})
    assert (response.status, response.code) == (400, "batch_too_large")


async def test_a_batch_answers_info_per_event(pusher_api, connect, alice_app, jwt_for):
    await joined(connect, alice_app, jwt_for(), "orders")
    batch = [
        {"channel": "orders", "name": "e", "data": "x", "info": "subscription_count"},
        {"channel": "other", "name": "e", "data": "x"},
    ]
    response = await pusher_api.post("/batch_events", {"batch": batch})
    assert response.json == {"batch": [{"subscription_count": 1}, {}]}


# GET /apps/{app_id}/channels[/{channel}[/users]]


async def test_channels_lists_the_occupied_ones(pusher_api, connect, alice_app, jwt_for):
    await joined(connect, alice_app, jwt_for(user_id="alice"), "presence-room")
    await joined(connect, alice_app, jwt_for(), "orders")
    client = pusher_api.client
    everything = await pusher_api.send(client.channels_info.make_request())
    assert everything.json == {"channels": {"orders": {}, "presence-room": {}}}
    presence = await pusher_api.send(client.channels_info.make_request("presence-", ["user_count"]))
    assert presence.json == {"channels": {"presence-room": {"user_count": 1}}}
    counts = await pusher_api.get("/channels", {"info": "subscription_count"})
    assert counts.json["channels"]["orders"] == {"subscription_count": 1}


async def test_escaped_query_values_are_signed_unescaped(pusher_api):
    """urlencode() sends "a,b" as "a%2Cb"; the libraries sign the value itself."""
    query = {"info": "subscription_count,user_count", "filter_by_prefix": "presence-"}
    path = pusher_api.signed_path("GET", f"{pusher_api.prefix}/channels", query=query)
    escaped = path.replace(",", "%2C").replace("presence-", "presence%2D")
    response = await pusher_api.raw("GET", escaped)
    assert (response.status, response.json) == (200, {"channels": {}})


async def test_the_query_is_read_as_parse_qsl_reads_it(pusher_api):
    """Plain and escaped queries alike: a bare name has an empty value, a value may hold
    "=", the last of a repeated name wins, and empty parts count for nothing."""
    extra = {"filter_by_prefix": "presence-"}
    path = pusher_api.signed_path("GET", f"{pusher_api.prefix}/channels", query=extra)
    head, _, query = path.partition("?")
    for variant in (f"{query}&&", f"&{query}", query.replace("presence-", "presence%2D")):
        response = await pusher_api.raw("GET", f"{head}?{variant}")
        assert (response.status, response.json) == (200, {"channels": {}})
    # filter_by_prefix named twice: the signature covers the last one only.
    twice = f"{head}?filter_by_prefix=orders&{query}"
    response = await pusher_api.raw("GET", twice)
    assert (response.status, response.json) == (200, {"channels": {}})


@pytest.mark.parametrize("escaped", [False, True])
async def test_more_than_32_query_parameters_are_refused(pusher_api, escaped):
    filler = {f"x{i}": "a b" if escaped else "y" for i in range(29)}  # 4 auth params, + 29
    path = pusher_api.signed_path("GET", f"{pusher_api.prefix}/channels", query=filler)
    response = await pusher_api.raw("GET", path)
    assert (response.status, response.code) == (400, "invalid_field")
    assert response.json["error"]["message"] == "Too many query parameters."
    del filler["x0"]
    path = pusher_api.signed_path("GET", f"{pusher_api.prefix}/channels", query=filler)
    response = await pusher_api.raw("GET", path + "&" * 40)  # empty parts are no parameters
    assert response.status == 200


async def test_channels_refuses_user_count_beyond_presence_channels(pusher_api):
    response = await pusher_api.get("/channels", {"info": "user_count"})
    assert (response.status, response.code) == (400, "invalid_info")
    response = await pusher_api.get("/channels", {"info": "colour"})
    assert (response.status, response.code) == (400, "invalid_info")


async def test_a_channel_says_whether_it_is_occupied_and_by_how_many(
    pusher_api, connect, alice_app, jwt_for
):
    for user in ("alice", "bob"):
        await joined(connect, alice_app, jwt_for(user_id=user), "presence-room")
    request = pusher_api.client.channel_info.make_request(
        "presence-room", ["user_count", "subscription_count"]
    )
    response = await pusher_api.send(request)
    assert response.json == {"occupied": True, "user_count": 2, "subscription_count": 2}
    empty = await pusher_api.send(pusher_api.client.channel_info.make_request("nobody"))
    assert empty.json == {"occupied": False}


async def test_user_count_is_for_presence_channels_only(pusher_api):
    response = await pusher_api.get("/channels/orders", {"info": "user_count"})
    assert (response.status, response.code) == (400, "invalid_info")


async def test_a_cache_channel_shows_its_last_event(pusher_api):
    missing = await pusher_api.get("/channels/cache-prices", {"info": "cache"})
    assert missing.json == {"occupied": False}
    await pusher_api.post(
        "/events", {"name": "price", "data": '{"p":1}', "channel": "cache-prices"}
    )
    await pusher_api.post(
        "/events", {"name": "price", "data": '{"p":2}', "channel": "cache-prices"}
    )
    response = await pusher_api.get("/channels/cache-prices", {"info": "cache"})
    assert response.json == {"occupied": False, "cache": {"event": "price", "data": '{"p":2}'}}
    other = await pusher_api.get("/channels/orders", {"info": "cache"})
    assert (other.status, other.code) == (400, "invalid_info")


async def test_users_lists_a_presence_channels_members(pusher_api, connect, alice_app, jwt_for):
    for user in ("alice", "alice", "bob"):
        await joined(connect, alice_app, jwt_for(user_id=user), "presence-room")
    response = await pusher_api.send(pusher_api.client.users_info.make_request("presence-room"))
    assert sorted(u["id"] for u in response.json["users"]) == ["alice", "bob"]
    assert response.json["users"][0].keys() == {"id"}
    not_presence = await pusher_api.get("/channels/orders/users")
    assert (not_presence.status, not_presence.code) == (400, "not_presence_channel")


# POST /apps/{app_id}/users/{user_id}/terminate_connections


@pytest.mark.parametrize("route", ["with app id", "pusher-http-python"])
async def test_terminate_closes_that_users_connections(
    route, redis, pusher_api, connect, alice_app, jwt_for
):
    first = await joined(connect, alice_app, jwt_for(user_id="u1"), "orders")
    second = await joined(connect, alice_app, jwt_for(user_id="u1"), "other")
    bystander = await joined(connect, alice_app, jwt_for(user_id="u2"), "orders")
    if route == "with app id":
        response = await pusher_api.post("/users/u1/terminate_connections", {})
    else:  # the library sends POST /users/u1/terminate_connections, without /apps/{id}
        response = await pusher_api.send(
            pusher_api.client.terminate_user_connections.make_request("u1")
        )
    assert (response.status, response.json) == (200, {})
    for socket in (first, second):
        assert await socket.ws.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4009,
        }
    await bystander.nothing()


# Refusals


async def test_a_wrong_signature_is_401_and_says_what_to_sign(pusher_api):
    response = await pusher_api.post_body("/events", {"name": "e"}, secret="not-the-secret")
    assert (response.status, response.code) == (401, "invalid_signature")
    assert (
        f"POST\\n/apps/{pusher_api.app.app_id}/events\\nauth_key="
        in response.json["error"]["message"]
    )


async def test_a_request_without_auth_params_is_401(pusher_api):
    response = await pusher_api.raw("GET", f"{pusher_api.prefix}/channels")
    assert (response.status, response.code) == (401, "missing_auth")


async def test_another_applications_key_is_401(pusher_api, charlie_app):
    response = await pusher_api.post_body("/events", {"name": "e"}, key=charlie_app.app_key)
    assert (response.status, response.code) == (401, "unknown_auth_key")


async def test_a_wrong_auth_version_is_401(pusher_api):
    path = pusher_api.signed_path("GET", f"{pusher_api.prefix}/channels", query={"x": "1"})
    response = await pusher_api.raw("GET", path.replace("auth_version=1.0", "auth_version=2.0"))
    assert (response.status, response.code) == (401, "invalid_signature")


@pytest.mark.parametrize("offset", [-601, 601])
async def test_a_timestamp_more_than_600_s_off_is_401(pusher_api, offset):
    body = {"name": "e", "data": "x", "channel": "orders"}
    response = await pusher_api.post_body("/events", body, timestamp=int(time.time()) + offset)
    assert (response.status, response.code) == (401, "stale_timestamp")
    ok = await pusher_api.post_body("/events", body, timestamp=int(time.time()) - 590)
    assert ok.status == 200


async def test_a_body_md5_mismatch_is_401(pusher_api):
    body = {"name": "e", "data": "x", "channel": "orders"}
    response = await pusher_api.post_body("/events", body, md5="0" * 32)
    assert (response.status, response.code) == (401, "body_md5_mismatch")
    raw = json.dumps(body).encode()
    unsigned = pusher_api.signed_path("POST", f"{pusher_api.prefix}/events")  # no body_md5
    response = await pusher_api.raw("POST", unsigned, raw)
    assert (response.status, response.code) == (401, "body_md5_mismatch")


async def test_an_unknown_application_is_404(pusher_api):
    for app_id in ("999999999", "not-a-number", pusher_api.app.app_key):
        path = pusher_api.signed_path("GET", f"/apps/{app_id}/channels")
        response = await pusher_api.raw("GET", path)
        assert (response.status, response.code) == (404, "app_not_found")


async def test_an_archived_application_is_403(pusher_api, alice_app):
    await sync_to_async(services.application_archive)(application=alice_app)
    response = await pusher_api.get("/channels")
    assert (response.status, response.code) == (403, "app_disabled")


async def test_a_body_over_the_limit_is_413(pusher_api):
    body = b'{"name": "e", "data": "' + b"x" * body_limit() + b'"}'
    response = await pusher_api.post_body("/events", body)
    assert (response.status, response.code) == (413, "body_too_large")
    declared = [(b"content-length", str(body_limit() + 1).encode())]
    response = await pusher_api.raw("POST", f"{pusher_api.prefix}/events", b"{}", declared)
    assert (response.status, response.code) == (413, "body_too_large")


async def test_data_over_the_payload_limit_is_413(pusher_api, settings):
    data = "x" * (settings.EXPUSHER_MAX_PAYLOAD_BYTES + 1)
    response = await pusher_api.send(pusher_api.client.trigger.make_request("orders", "e", data))
    assert (response.status, response.code) == (413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b'["name", "e"]', "invalid_json"),
        (b'{"name": "e", "data": {"a": 1}, "channel": "orders"}', "invalid_field"),
        (b'{"name": "e", "data": "x"}', "invalid_field"),
        (b'{"name": "e", "data": "x", "channels": "orders"}', "invalid_field"),
        (b'{"data": "x", "channel": "orders"}', "invalid_event"),
        (b'{"name": "pusher:x", "data": "x", "channel": "orders"}', "invalid_event"),
        (b'{"name": "e", "data": "x", "channel": "bad name"}', "invalid_channel"),
        (b'{"name": "e", "data": "x", "channels": ["ok", "x/y"]}', "invalid_channel"),
        (b'{"name": "e", "data": "x", "channel": "a", "socket_id": "12"}', "invalid_socket_id"),
        (b'{"name": "e", "data": "x", "channel": "a", "socket_id": 1.2}', "invalid_socket_id"),
        (b'{"name": "e", "data": "x", "channel": "a", "info": "occupied"}', "invalid_info"),
        (
            b'{"name": "e", "data": "x", "channels": ["a", "private-encrypted-b"]}',
            "encrypted_multi_channel",
        ),
    ],
)
async def test_bad_input_is_400(pusher_api, body, code):
    response = await pusher_api.post_body("/events", body)
    assert (response.status, response.code) == (400, code), response.json


async def test_at_most_100_channels_per_trigger(pusher_api, settings):
    channels = [f"c{i}" for i in range(101)]
    response = await pusher_api.post("/events", {"name": "e", "data": "x", "channels": channels})
    assert (response.status, response.code) == (400, "too_many_channels")
    settings.EXPUSHER_MAX_CHANNELS_PER_TRIGGER = 2
    response = await pusher_api.post(
        "/events", {"name": "e", "data": "x", "channels": ["a", "b", "c"]}
    )
    assert (response.status, response.code) == (400, "too_many_channels")


async def test_a_single_encrypted_channel_is_fine(pusher_api):
    body = {"name": "e", "data": '{"nonce":"n","ciphertext":"c"}', "channel": "private-encrypted-x"}
    assert (await pusher_api.post("/events", body)).status == 200


async def test_wrong_methods_and_paths(pusher_api):
    response = await pusher_api.raw("GET", f"{pusher_api.prefix}/events")
    assert (response.status, response.code) == (405, "method_not_allowed")
    assert response.headers[b"allow"] == b"POST"
    response = await pusher_api.raw("POST", f"{pusher_api.prefix}/nothing-here")
    assert (response.status, response.code) == (404, "not_found")


async def test_a_store_fault_is_503_with_retry_after(pusher_api, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens there
        }
    }
    response = await pusher_api.post("/events", {"name": "e", "data": "x", "channel": "orders"})
    assert (response.status, response.code) == (503, "unavailable")
    assert response.headers[b"retry-after"] == b"1"


async def test_an_unexpected_error_is_a_generic_500(pusher_api, monkeypatch):
    async def broken(app_id, event):
        raise ValueError("a secret detail")

    monkeypatch.setattr("realtime.pusher.http_events.event_publish", broken)
    response = await pusher_api.post("/events", {"name": "e", "data": "x", "channel": "orders"})
    assert (response.status, response.json) == (
        500,
        {"error": {"code": "server_error", "message": "Internal server error."}},
    )


async def test_refusals_are_logged_without_the_signature(pusher_api, caplog):
    caplog.set_level("INFO", logger="realtime.pusher.http")
    path = pusher_api.signed_path("GET", f"{pusher_api.prefix}/channels", secret="wrong")
    await pusher_api.raw("GET", path)
    signature = path.rsplit("auth_signature=", 1)[1]
    assert "invalid_signature" in caplog.text
    assert signature not in caplog.text and pusher_api.secret not in caplog.text


# The lean path


async def test_a_warm_trigger_reads_no_database_row(pusher_api, django_db_blocker):
    """pytest-django's blocker makes every database connection fail, in every thread
    (django_assert_num_queries would see the event loop's thread only)."""

    def trigger():
        return pusher_api.post("/events", {"name": "e", "data": "x", "channel": "orders"})

    assert (await trigger()).status == 200  # resolves the application once
    with django_db_blocker.block():
        assert (await trigger()).status == 200
    forget_applications()
    cache.clear()
    with django_db_blocker.block():  # cold, it needs the database: the block is effective
        assert (await trigger()).status == 500


def test_only_pusher_api_paths_skip_django():
    assert serves("/apps/123/events")
    assert serves("/users/u1/terminate_connections")
    assert not serves("/api/organizations")
    assert not serves("/app/key")  # the Pusher WebSocket
    assert not serves("/users/u1/other")


async def test_django_still_serves_everything_else(pusher_api):
    from channels.testing import HttpCommunicator

    from expusher.asgi import application

    host = [(b"host", b"testserver")]
    response = await HttpCommunicator(application, "GET", "/healthz", headers=host).get_response(
        timeout=5
    )
    assert response["status"] == 200
