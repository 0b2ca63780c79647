"""The Pusher HTTP API (/apps/{app_id}/...) through both official server libraries.

Every endpoint is called through the PyPI `pusher` library (in this process) and the npm
`pusher` library (js/pusher_server.js); subscribers are pusher-js clients (Node). Signature
failures are hand-made requests signed as the libraries sign them, with one thing wrong.
"""

import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import urlencode

import pusher
import pytest

from tests.e2e.conftest import WAIT
from tests.e2e.pusher_support import unique

pytestmark = pytest.mark.e2e

ANN = {"id": "u-ann", "info": {"name": "Ann"}}
BOB = {"id": "u-bob", "info": {"name": "Bob"}}


def _client(pusher_js, app, user=ANN, *channels):
    client = pusher_js(app, user=user)
    client.connected()
    for channel in channels:
        client.subscribe(channel)
    return client


def _ok(result: dict) -> dict:
    """The body of a successful npm `pusher` call."""
    assert result["ok"] and result["status"] == 200, result
    return result["body"]


def signed_request(
    app, method, path, body=None, *, params=None, secret=None, timestamp=None, send_body=None
):
    """A request signed as pusher-http-python signs it; returns (status, text).

    `secret`, `timestamp` or `send_body` (the bytes actually sent) make it wrong on purpose.
    """
    raw = json.dumps(body).encode() if body is not None else b""
    query = {
        "auth_key": app.key,
        "auth_timestamp": str(int(timestamp if timestamp is not None else time.time())),
        "auth_version": "1.0",
        **(params or {}),
    }
    if body is not None:
        query["body_md5"] = hashlib.md5(raw).hexdigest()
    to_sign = "\n".join([method, path, "&".join(f"{k}={v}" for k, v in sorted(query.items()))])
    query["auth_signature"] = hmac.new(
        (secret or app.secret).encode(), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    conn = http.client.HTTPConnection(app.host, app.port, timeout=WAIT)
    try:
        conn.request(
            method,
            f"{path}?{urlencode(query)}",
            body=send_body if send_body is not None else (raw if body is not None else None),
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


# -- POST /apps/{id}/events -------------------------------------------------------------


def test_events_to_one_and_to_several_channels(
    pusher_js, pusher_py, pusher_node_backend, pusher_app
):
    one, two = unique("orders-"), unique("private-orders-")
    client = _client(pusher_js, pusher_app, ANN, one, two)
    backend = pusher_node_backend(pusher_app)

    assert isinstance(pusher_py(pusher_app).trigger(one, "py-one", {"n": 1}), dict)
    assert isinstance(pusher_py(pusher_app).trigger([one, two], "py-many", {"n": 2}), dict)
    _ok(backend.call("trigger", one, "node-one", {"n": 3}))
    _ok(backend.call("trigger", [one, two], "node-many", {"n": 4}))

    assert client.expect("event", channel=one, event="py-one")["data"] == {"n": 1}
    assert client.expect("event", channel=one, event="node-one")["data"] == {"n": 3}
    for channel in (one, two):
        assert client.expect("event", channel=channel, event="py-many")["data"] == {"n": 2}
        assert client.expect("event", channel=channel, event="node-many")["data"] == {"n": 4}


def test_events_exclude_the_socket_id_given(pusher_js, pusher_py, pusher_node_backend, pusher_app):
    channel = unique("exclude-")
    sender = _client(pusher_js, pusher_app, ANN, channel)
    other = _client(pusher_js, pusher_app, BOB, channel)
    sender_id = sender.records("connected")[0]["socket_id"]

    pusher_py(pusher_app).trigger(channel, "py", {"n": 1}, socket_id=sender_id)
    _ok(
        pusher_node_backend(pusher_app).call(
            "trigger", channel, "node", {"n": 2}, {"socket_id": sender_id}
        )
    )

    other.expect("event", channel=channel, event="py")
    other.expect("event", channel=channel, event="node")
    pusher_py(pusher_app).trigger(channel, "marker", {})
    sender.expect("event", channel=channel, event="marker")
    assert sender.events(channel, "py") == [] and sender.events(channel, "node") == []


def test_events_with_info_return_channel_attributes(pusher_js, pusher_node_backend, pusher_app):
    channel = unique("info-")
    _client(pusher_js, pusher_app, ANN, channel)
    _client(pusher_js, pusher_app, BOB, channel)

    body = _ok(
        pusher_node_backend(pusher_app).call(
            "trigger", [channel], "counted", {}, {"info": "subscription_count"}
        )
    )

    assert body == {"channels": {channel: {"subscription_count": 2}}}


# -- POST /apps/{id}/batch_events ---------------------------------------------------------


def test_batch_events_through_both_libraries(pusher_js, pusher_py, pusher_node_backend, pusher_app):
    one, two = unique("batch-"), unique("private-batch-")
    client = _client(pusher_js, pusher_app, ANN, one, two)

    pusher_py(pusher_app).trigger_batch(
        [
            {"channel": one, "name": "py-a", "data": {"n": 1}},
            {"channel": two, "name": "py-b", "data": "text"},
        ]
    )
    _ok(
        pusher_node_backend(pusher_app).call(
            "triggerBatch",
            [
                {"channel": one, "name": "node-a", "data": {"n": 2}},
                {"channel": two, "name": "node-b", "data": {"n": 3}},
            ],
        )
    )

    assert client.expect("event", channel=one, event="py-a")["data"] == {"n": 1}
    assert client.expect("event", channel=two, event="py-b")["data"] == "text"
    assert client.expect("event", channel=one, event="node-a")["data"] == {"n": 2}
    assert client.expect("event", channel=two, event="node-b")["data"] == {"n": 3}


# -- GET channels, channel, users ---------------------------------------------------------


def test_channels_with_a_prefix_filter_and_user_counts(
    pusher_js, pusher_py, pusher_node_backend, pusher_app
):
    tag = unique()
    room, hall, public = f"presence-{tag}-room", f"presence-{tag}-hall", f"{tag}-public"
    _client(pusher_js, pusher_app, ANN, room, hall, public)
    _client(pusher_js, pusher_app, BOB, room)
    _client(pusher_js, pusher_app, BOB, room)  # Bob twice: still two users

    by_py = pusher_py(pusher_app).channels_info(f"presence-{tag}", ["user_count"])
    by_node = _ok(
        pusher_node_backend(pusher_app).call(
            "get",
            {
                "path": "/channels",
                "params": {"filter_by_prefix": f"presence-{tag}", "info": "user_count"},
            },
        )
    )

    expected = {"channels": {room: {"user_count": 2}, hall: {"user_count": 1}}}
    assert by_py == expected
    assert by_node == expected
    everything = pusher_py(pusher_app).channels_info()["channels"]
    assert {room, hall, public} <= set(everything)
    filtered = pusher_py(pusher_app).channels_info(tag)["channels"]
    assert set(filtered) == {public}


def test_one_channel_with_counts_and_an_unoccupied_one(
    pusher_js, pusher_py, pusher_node_backend, pusher_app
):
    room, empty = unique("presence-counted-"), unique("nobody-")
    _client(pusher_js, pusher_app, ANN, room)
    _client(pusher_js, pusher_app, BOB, room)
    _client(pusher_js, pusher_app, BOB, room)

    by_py = pusher_py(pusher_app).channel_info(room, ["user_count", "subscription_count"])
    by_node = _ok(
        pusher_node_backend(pusher_app).call(
            "get",
            {"path": f"/channels/{room}", "params": {"info": "user_count,subscription_count"}},
        )
    )

    expected = {"occupied": True, "user_count": 2, "subscription_count": 3}
    assert by_py == expected
    assert by_node == expected
    assert pusher_py(pusher_app).channel_info(empty)["occupied"] is False


def test_users_of_a_presence_channel(pusher_js, pusher_py, pusher_node_backend, pusher_app):
    room = unique("presence-users-")
    _client(pusher_js, pusher_app, ANN, room)
    _client(pusher_js, pusher_app, BOB, room)
    _client(pusher_js, pusher_app, BOB, room)

    by_py = pusher_py(pusher_app).users_info(room)
    by_node = _ok(pusher_node_backend(pusher_app).call("get", {"path": f"/channels/{room}/users"}))

    for body in (by_py, by_node):
        assert sorted(body["users"], key=lambda u: u["id"]) == [{"id": "u-ann"}, {"id": "u-bob"}]


# -- POST users/{id}/terminate_connections ------------------------------------------------


def test_terminate_connections_through_the_node_library(
    pusher_js, pusher_py, pusher_node_backend, pusher_app
):
    channel = unique("term-")
    ann = _client(pusher_js, pusher_app, ANN, channel)
    bob = _client(pusher_js, pusher_app, BOB, channel)
    for client in (ann, bob):
        client.send("signin")
        client.expect("signin_success")

    body = _ok(pusher_node_backend(pusher_app).call("terminateUserConnections", "u-ann"))

    assert isinstance(body, dict)
    ann.expect("close")
    pusher_py(pusher_app).trigger(channel, "still-here", {})
    bob.expect("event", channel=channel, event="still-here")


def test_terminate_connections_through_the_python_library(pusher_js, pusher_py, pusher_app):
    """pusher-http-python 3.3 posts to /users/{id}/terminate_connections (no /apps/{id})."""
    channel = unique("term-py-")
    ann = _client(pusher_js, pusher_app, ANN, channel)
    bob = _client(pusher_js, pusher_app, BOB, channel)
    for client in (ann, bob):
        client.send("signin")
        client.expect("signin_success")

    assert isinstance(pusher_py(pusher_app).terminate_user_connections("u-ann"), dict)

    ann.expect("close")
    pusher_py(pusher_app).trigger(channel, "still-here", {})
    bob.expect("event", channel=channel, event="still-here")


# -- signatures ---------------------------------------------------------------------------


def test_a_correctly_signed_hand_made_request_is_accepted(pusher_app):
    """The control for the failures below: the same signer with nothing wrong."""
    path = f"/apps/{pusher_app.app_id}/events"
    body = {"name": "e", "channels": [unique("sig-")], "data": "{}"}

    status, text = signed_request(pusher_app, "POST", path, body)

    assert status == 200, text
    status, text = signed_request(pusher_app, "GET", f"/apps/{pusher_app.app_id}/channels")
    assert status == 200, text


def test_a_bad_secret_is_401_through_both_libraries(pusher_node_backend, pusher_app):
    wrong = pusher.Pusher(
        app_id=pusher_app.app_id,
        key=pusher_app.key,
        secret="not-the-secret",
        host=pusher_app.host,
        port=pusher_app.port,
        ssl=False,
        timeout=WAIT,
    )
    with pytest.raises(pusher.errors.PusherBadAuth):
        wrong.trigger(unique("sig-"), "e", {})
    with pytest.raises(pusher.errors.PusherBadAuth):
        wrong.channels_info()

    result = pusher_node_backend(pusher_app, secret="not-the-secret").call(
        "trigger", unique("sig-"), "e", {}
    )
    assert result["ok"] is False and result["status"] == 401, result


def test_a_stale_timestamp_is_401(pusher_app):
    path = f"/apps/{pusher_app.app_id}/events"
    body = {"name": "e", "channels": [unique("sig-")], "data": "{}"}

    status, text = signed_request(pusher_app, "POST", path, body, timestamp=time.time() - 700)

    assert status == 401, text
    status, text = signed_request(
        pusher_app, "GET", f"/apps/{pusher_app.app_id}/channels", timestamp=time.time() + 700
    )
    assert status == 401, text


def test_a_body_md5_mismatch_is_401(pusher_app):
    path = f"/apps/{pusher_app.app_id}/events"
    channel = unique("sig-")
    signed = {"name": "e", "channels": [channel], "data": "{}"}
    sent = json.dumps({"name": "evil", "channels": [channel], "data": "{}"}).encode()

    status, text = signed_request(pusher_app, "POST", path, signed, send_body=sent)

    assert status == 401, text


def test_a_bad_signature_on_every_endpoint_is_401(pusher_app):
    base = f"/apps/{pusher_app.app_id}"
    room = unique("presence-sig-")
    requests = [
        ("POST", f"{base}/events", {"name": "e", "channels": [room], "data": "{}"}),
        ("POST", f"{base}/batch_events", {"batch": [{"name": "e", "channel": room, "data": ""}]}),
        ("GET", f"{base}/channels", None),
        ("GET", f"{base}/channels/{room}", None),
        ("GET", f"{base}/channels/{room}/users", None),
        ("POST", f"{base}/users/u-ann/terminate_connections", {}),
    ]
    for method, path, body in requests:
        status, text = signed_request(pusher_app, method, path, body, secret="wrong")
        assert status == 401, (method, path, status, text)
