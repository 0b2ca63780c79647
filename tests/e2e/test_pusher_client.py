"""The official npm `pusher-js` client (Node, unmodified) against one live daphne server.

pusher-js connects to ws://127.0.0.1:{port}/app/{key} with a self-hoster's options
(js/pusher_client.js). Private and presence auth, and signin, are signed inside the client
process by the official npm `pusher` server library, as a customer backend would sign them.
Events are triggered through the HTTP API with the official server libraries (PyPI `pusher`
here, npm `pusher` where the test says so). One application for the module; each test uses
channel names of its own.
"""

import base64
import json
import os
import re
import time

import pytest

from tests.e2e.conftest import WAIT
from tests.e2e.pusher_support import unique

pytestmark = pytest.mark.e2e

ANN = {"id": "u-ann", "info": {"name": "Ann"}}
BOB = {"id": "u-bob", "info": {"name": "Bob"}}
CAT = {"id": "u-cat", "info": {"name": "Cat"}}


def _client(pusher_js, app, user=ANN, **config):
    client = pusher_js(app, user=user, **config)
    client.connected()
    return client


def _marker(pusher_py, app, channel, clients, n="1"):
    """Triggers a marker event on `channel` and waits until every client received it.

    Whatever the server would have sent those clients before the marker has arrived by then.
    """
    pusher_py(app).trigger(channel, "marker", {"n": n})
    for client in clients:
        client.expect("event", channel=channel, event="marker", data={"n": n})


def _refusal(client, channel):
    """The refusal of a subscription for its signature: pusher:subscription_error on the
    channel, {"type": "AuthError", "status": 401, "error": ...} (pusher-js hands it to
    the channel's pusher:subscription_error handlers)."""
    refusal = client.expect("subscription_error", channel=channel)
    assert refusal["data"]["type"] == "AuthError", refusal
    assert refusal["data"]["status"] == 401, refusal
    return refusal


# -- connection --------------------------------------------------------------------------


def test_it_connects_with_protocol_7_and_a_pusher_socket_id(pusher_js, pusher_app):
    client = pusher_js(pusher_app)

    socket_id = client.connected()

    assert re.fullmatch(r"\d+\.\d+", socket_id), socket_id
    url = client.expect("socket")["url"]
    assert url.startswith(f"ws://127.0.0.1:{pusher_app.port}/app/{pusher_app.key}?protocol=7")


def test_an_unknown_key_is_refused_and_pusher_js_does_not_reconnect(pusher_js, pusher_app):
    client = pusher_js(pusher_app, key="no-such-key")

    close = client.expect("close")

    assert 4000 <= close["code"] < 4100, close  # pusher-js: refused, do not reconnect
    assert close["code"] == 4001, close  # Application does not exist
    client.settle(1.0)
    assert client.records("connected") == []
    assert len(client.records("socket")) == 1


# -- public and private channels -----------------------------------------------------------


def test_a_public_channel_receives_events_from_the_http_api(pusher_js, pusher_py, pusher_app):
    channel = unique("orders-")
    client = _client(pusher_js, pusher_app)
    client.subscribe(channel)

    pusher_py(pusher_app).trigger(channel, "order-created", {"id": 7, "items": ["a", "b"]})
    pusher_py(pusher_app).trigger(channel, "note", "plain text, not JSON")

    event = client.expect("event", channel=channel, event="order-created")
    assert event["data"] == {"id": 7, "items": ["a", "b"]}
    assert client.expect("event", channel=channel, event="note")["data"] == "plain text, not JSON"


def test_unsubscribed_channels_receive_nothing(pusher_js, pusher_py, pusher_app):
    channel, other = unique("news-"), unique("news-")
    client = _client(pusher_js, pusher_app)
    client.subscribe(channel)
    client.subscribe(other)

    client.send("unsubscribe", channel=channel)
    _marker(pusher_py, pusher_app, other, [client])  # the unsubscribe was handled before
    pusher_py(pusher_app).trigger(channel, "late", {})
    _marker(pusher_py, pusher_app, other, [client], n="2")

    assert client.events(channel, "late") == []


def test_a_private_channel_with_the_backends_signature(pusher_js, pusher_py, pusher_app):
    channel = unique("private-orders-")
    client = _client(pusher_js, pusher_app)
    client.subscribe(channel)

    pusher_py(pusher_app).trigger(channel, "shipped", {"id": 1})

    assert client.expect("event", channel=channel, event="shipped")["data"] == {"id": 1}


def test_a_private_channel_with_a_forged_signature_is_refused(pusher_js, pusher_py, pusher_app):
    forged, good = unique("private-forged-"), unique("private-good-")
    client = _client(pusher_js, pusher_app)

    client.send("subscribe", channel=forged, secret="not-the-app-secret")
    _refusal(client, forged)

    # The socket stays usable, and the refused channel delivers nothing.
    client.subscribe(good)
    pusher_py(pusher_app).trigger(forged, "leak", {"secret": True})
    _marker(pusher_py, pusher_app, good, [client])
    assert client.events(forged) == []
    assert client.records("subscription_succeeded", channel=forged) == []


@pytest.mark.parametrize(
    "auth",
    ["", "garbage", "no-such-key:" + "0" * 64, "{key}:not-hex", "{key}:" + "0" * 64],
)
def test_bad_auth_strings_are_refused(pusher_js, pusher_app, auth):
    channel = unique("private-bad-")
    client = _client(pusher_js, pusher_app, auth="ask")

    client.send("subscribe", channel=channel)
    request = client.expect("auth_request", channel=channel)
    client.answer_auth(request, {"auth": auth.format(key=pusher_app.key)})

    _refusal(client, channel)
    client.send("state")
    assert client.expect("state_now")["state"] == "connected"


# -- presence ----------------------------------------------------------------------------


def test_presence_members_join_and_leave_once_per_user(pusher_js, pusher_py, pusher_app):
    channel = unique("presence-room-")
    ann = _client(pusher_js, pusher_app, ANN)
    first = ann.subscribe(channel)
    assert first["members"] == {
        "count": 1,
        "me": {"id": "u-ann", "info": {"name": "Ann"}},
        "hash": {"u-ann": {"name": "Ann"}},
    }

    bob = _client(pusher_js, pusher_app, BOB)
    members = bob.subscribe(channel)["members"]
    assert members["count"] == 2
    assert members["hash"] == {"u-ann": {"name": "Ann"}, "u-bob": {"name": "Bob"}}
    assert members["me"] == {"id": "u-bob", "info": {"name": "Bob"}}
    added = ann.expect("member_added", channel=channel)
    assert (added["user_id"], added["user_info"]) == ("u-bob", {"name": "Bob"})

    # Bob's second connection: no second member_added; its departure: no member_removed.
    bob_again = _client(pusher_js, pusher_app, BOB)
    assert bob_again.subscribe(channel)["members"]["count"] == 2
    _marker(pusher_py, pusher_app, channel, [ann, bob, bob_again])
    bob_again.send("disconnect")
    bob_again.expect("close")
    _marker(pusher_py, pusher_app, channel, [ann, bob], n="2")
    assert ann.records("member_added", channel=channel) == [added]
    assert ann.records("member_removed", channel=channel) == []
    assert bob.records("member_added", channel=channel) == []  # never about oneself

    # Bob's last connection leaves.
    bob.send("unsubscribe", channel=channel)
    removed = ann.expect("member_removed", channel=channel)
    assert removed["user_id"] == "u-bob"
    _marker(pusher_py, pusher_app, channel, [ann], n="3")
    assert len(ann.records("member_removed", channel=channel)) == 1


def test_presence_channel_data_from_the_test_backend(pusher_js, pusher_app, pusher_py):
    """channel_data signed by the PyPI library (auth="ask"), any JSON user_info."""
    channel = unique("presence-ask-")
    client = _client(pusher_js, pusher_app, auth="ask")
    info = {"name": "Zoë", "tags": ["a", "b"], "n": 1.5}

    client.send("subscribe", channel=channel)
    request = client.expect("auth_request", channel=channel)
    auth = pusher_py(pusher_app).authenticate(
        channel, request["socket_id"], {"user_id": "u-zoe", "user_info": info}
    )
    client.answer_auth(request, auth)

    members = client.expect_subscribed(channel)["members"]
    assert members["me"] == {"id": "u-zoe", "info": info}
    assert members["hash"] == {"u-zoe": info}


# -- private-encrypted --------------------------------------------------------------------


def test_encrypted_channels_are_relayed_without_the_server_reading_them(
    pusher_js, pusher_py, pusher_node_backend, pusher_app
):
    key = base64.b64encode(os.urandom(32)).decode()
    channel = unique("private-encrypted-")
    client = _client(pusher_js, pusher_app, encryptionMasterKeyBase64=key, frames=True)
    client.subscribe(channel)

    # Encrypted by the npm library, then by the PyPI library; pusher-js decrypts both.
    backend = pusher_node_backend(pusher_app, encryptionMasterKeyBase64=key)
    result = backend.call("trigger", channel, "secret", {"card": "4111-node"})
    assert result["ok"], result
    pusher_py(pusher_app, encryption_master_key_base64=key).trigger(
        channel, "secret", {"card": "4111-python"}
    )

    assert client.expect("event", channel=channel, event="secret")["data"] == {"card": "4111-node"}
    assert client.expect("event", channel=channel, event="secret")["data"] == {
        "card": "4111-python"
    }

    def relayed():  # the raw frames (observed beside pusher-js, so maybe a moment later)
        frames = [json.loads(r["raw"]) for r in client.records("frame_in")]
        return [f for f in frames if f.get("channel") == channel and f["event"] == "secret"]

    deadline = time.monotonic() + WAIT
    while len(relayed()) < 2 and time.monotonic() < deadline:
        client.settle(0.05)
    assert len(relayed()) == 2, client.records("frame_in")
    for frame in relayed():
        payload = json.loads(frame["data"])
        assert set(payload) == {"nonce", "ciphertext"}
        assert "4111" not in json.dumps(frame)


# -- cache channels -----------------------------------------------------------------------


def test_a_cache_channel_sends_its_last_event_on_subscribe(pusher_js, pusher_py, pusher_app):
    channel = unique("cache-prices-")
    pusher_py(pusher_app).trigger(channel, "price", {"eur": 1})
    pusher_py(pusher_app).trigger(channel, "price", {"eur": 2})

    client = _client(pusher_js, pusher_app)
    client.subscribe(channel)

    assert client.expect("event", channel=channel, event="price")["data"] == {"eur": 2}
    pusher_py(pusher_app).trigger(channel, "price", {"eur": 3})
    assert client.expect("event", channel=channel, event="price")["data"] == {"eur": 3}
    assert len(client.events(channel, "price")) == 2
    assert client.records("cache_miss", channel=channel) == []


def test_an_empty_cache_channel_sends_cache_miss(pusher_js, pusher_app):
    channel = unique("cache-empty-")
    client = _client(pusher_js, pusher_app)

    client.subscribe(channel)

    client.expect("cache_miss", channel=channel)
    assert client.events(channel) == []


# -- client events ------------------------------------------------------------------------


def test_client_events_reach_the_others_but_not_the_sender(pusher_js, pusher_py, pusher_app):
    channel = unique("private-chat-")
    ann = _client(pusher_js, pusher_app, ANN)
    bob = _client(pusher_js, pusher_app, BOB)
    for client in (ann, bob):
        client.subscribe(channel, bind=["client-typing"])

    assert ann.trigger(channel, "client-typing", {"typing": True})["ok"] is True

    event = bob.expect("event", channel=channel, event="client-typing")
    assert event["data"] == {"typing": True}
    assert "user_id" not in event  # only presence channels name the sender
    _marker(pusher_py, pusher_app, channel, [ann, bob])
    assert ann.events(channel, "client-typing") == []


def test_client_events_on_presence_carry_the_senders_user_id(pusher_js, pusher_py, pusher_app):
    channel = unique("presence-chat-")
    ann = _client(pusher_js, pusher_app, ANN)
    bob = _client(pusher_js, pusher_app, BOB)
    for client in (ann, bob):
        client.subscribe(channel, bind=["client-msg"])

    ann.trigger(channel, "client-msg", {"text": "hi"})

    event = bob.expect("event", channel=channel, event="client-msg")
    assert event["data"] == {"text": "hi"}
    assert event["user_id"] == "u-ann"
    _marker(pusher_py, pusher_app, channel, [ann, bob])
    assert ann.events(channel, "client-msg") == []


def test_client_events_on_public_channels_are_not_delivered(pusher_js, pusher_py, pusher_app):
    channel = unique("public-chat-")
    ann = _client(pusher_js, pusher_app, ANN)
    bob = _client(pusher_js, pusher_app, BOB)
    for client in (ann, bob):
        client.subscribe(channel)

    ann.trigger(channel, "client-nope", {"x": 1})  # pusher-js sends it; the server refuses

    _marker(pusher_py, pusher_app, channel, [ann, bob])
    assert bob.events(channel, "client-nope") == []
    ann.send("state")
    assert ann.expect("state_now")["state"] == "connected"


def test_client_events_need_a_subscription(pusher_js, pusher_py, pusher_app):
    channel = unique("private-unsub-")
    ann = _client(pusher_js, pusher_app, ANN)
    bob = _client(pusher_js, pusher_app, BOB)
    bob.subscribe(channel)

    # A hand-made client event on a channel Ann never subscribed.
    ann.send("send_event", event="client-sneak", data={"x": 1}, channel=channel)

    _marker(pusher_py, pusher_app, channel, [bob])
    assert bob.events(channel, "client-sneak") == []


# -- user authentication ------------------------------------------------------------------


def test_signin_and_events_sent_to_the_user(pusher_js, pusher_py, pusher_node_backend, pusher_app):
    ann = _client(pusher_js, pusher_app, ANN)
    ann_again = _client(pusher_js, pusher_app, ANN)
    bob = _client(pusher_js, pusher_app, BOB)
    for client in (ann, ann_again, bob):
        client.send("signin")
    for client, user in ((ann, ANN), (ann_again, ANN), (bob, BOB)):
        success = client.expect("signin_success")
        assert success["user_data"] == {"id": user["id"], "user_info": user["info"]}
        client.expect("subscription_succeeded", channel=f"#server-to-user-{user['id']}")

    backend = pusher_node_backend(pusher_app)
    assert backend.call("sendToUser", "u-ann", "notice", {"from": "node"})["ok"]
    pusher_py(pusher_app).send_to_user("u-ann", "notice", {"from": "python"})

    for client in (ann, ann_again):
        assert client.expect("user_event", event="notice")["data"] == {"from": "node"}
        assert client.expect("user_event", event="notice")["data"] == {"from": "python"}
    bob.no_record("user_event", wait=0.3)


def test_signin_with_a_forged_signature_is_refused(pusher_js, pusher_app):
    client = _client(pusher_js, pusher_app, ANN, signinSecret="not-the-app-secret")

    client.send("signin")

    error = client.expect("error")
    assert error["error"]["data"]["code"] == 4009, error
    assert client.expect("close")["code"] == 4009
    assert client.records("signin_success") == []


def test_terminate_connections_closes_every_connection_of_the_user(
    pusher_js, pusher_py, pusher_node_backend, pusher_app
):
    channel = unique("terminate-")
    ann = _client(pusher_js, pusher_app, ANN)
    ann_again = _client(pusher_js, pusher_app, ANN)
    bob = _client(pusher_js, pusher_app, BOB)
    for client in (ann, ann_again, bob):
        client.send("signin")
        client.expect("signin_success")
        client.subscribe(channel)

    result = pusher_node_backend(pusher_app).call("terminateUserConnections", "u-ann")

    assert result["ok"], result
    for client in (ann, ann_again):
        close = client.expect("close")
        assert 4000 < close["code"] < 4100, close  # pusher-js will not reconnect
        client.expect("state", current="disconnected")
    _marker(pusher_py, pusher_app, channel, [bob])
    ann.settle(1.0)  # no reconnection attempt
    assert len(ann.records("socket")) == 1
    assert len(ann_again.records("socket")) == 1
