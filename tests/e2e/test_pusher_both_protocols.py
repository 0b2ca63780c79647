"""One namespace, two protocols: pusher-js (Node) and the official phoenix client on the same
application and topics of one live daphne server.

Events from either HTTP API, Phoenix pushes and Pusher client events reach subscribers of
both protocols, payloads converted as the README says; a `presence-` topic has one member
list that both protocols see. The phoenix client's JWT comes from POST /api/sessions with
the application's organization token.
"""

import json

import pytest

from tests.e2e.conftest import session_jwt
from tests.e2e.pusher_support import unique

pytestmark = pytest.mark.e2e

ANN = {"id": "u-ann", "info": {"name": "Ann"}}


@pytest.fixture(scope="module")
def phoenix_jwt(server, pusher_app) -> str:
    return session_jwt(
        server,
        pusher_app,  # session_jwt reads .token: the organization's secret token
        listen=["*"],
        publish=["*"],
        user_id="p-phoebe",
        user_info={"name": "Phoebe"},
    )


def _phoenix(phoenix, server, pusher_app, jwt, *topics):
    client = phoenix(server, params={"app_key": pusher_app.key}, authToken=jwt)
    client.expect_open()
    for topic in topics:
        assert client.join(topic)["status"] == "ok", topic
    return client


def _pusher(pusher_js, pusher_app, *channels, user=ANN, bind=()):
    client = pusher_js(pusher_app, user=user)
    client.connected()
    for channel in channels:
        client.subscribe(channel, bind=list(bind))
    return client


def _diff_about(phx, topic: str, user_id: str) -> dict:
    """The next presence_diff that names `user_id` (Phoenix also diffs its own join)."""
    while True:
        diff = phx.expect("message", topic=topic, event="presence_diff")["payload"]
        if user_id in diff["joins"] or user_id in diff["leaves"]:
            return diff


def test_a_pusher_http_api_trigger_reaches_both_protocols(
    phoenix, pusher_js, pusher_py, server, pusher_app, phoenix_jwt
):
    channel = unique("orders-")
    phx = _phoenix(phoenix, server, pusher_app, phoenix_jwt, channel)
    psh = _pusher(pusher_js, pusher_app, channel)

    pusher_py(pusher_app).trigger(channel, "created", {"id": 1, "tags": ["a"]})
    pusher_py(pusher_app).trigger(channel, "note", "just text")

    assert phx.expect("message", topic=channel, event="created")["payload"] == {
        "id": 1,
        "tags": ["a"],
    }
    assert phx.expect("message", topic=channel, event="note")["payload"] == {"data": "just text"}
    assert psh.expect("event", channel=channel, event="created")["data"] == {"id": 1, "tags": ["a"]}
    assert psh.expect("event", channel=channel, event="note")["data"] == "just text"


def test_an_expusher_rest_trigger_reaches_pusher_js(pusher_js, server, pusher_app):
    channel = unique("private-orders-")
    psh = _pusher(pusher_js, pusher_app, channel)

    status, _, body = server.post(
        pusher_app.event_path("shipped"),
        body={"topic": channel, "order": {"id": 9}},
        headers={"Authorization": f"Bearer {pusher_app.token}"},
    )

    assert status == 200, body
    event = psh.expect("event", channel=channel, event="shipped")
    assert event["data"] == {"order": {"id": 9}}


def test_phoenix_pushes_and_pusher_client_events_cross_over(
    phoenix, pusher_js, server, pusher_app, phoenix_jwt
):
    channel = unique("private-chat-")
    phx = _phoenix(phoenix, server, pusher_app, phoenix_jwt, channel)
    psh = _pusher(pusher_js, pusher_app, channel, bind=["said", "client-typing"])

    reply = phx.push("p1", channel, "said", {"text": "from phoenix"})
    assert reply["status"] == "ok", reply
    event = psh.expect("event", channel=channel, event="said")
    assert event["data"] == {"text": "from phoenix"}

    psh.trigger(channel, "client-typing", {"who": "Ann"})
    message = phx.expect("message", topic=channel, event="client-typing")
    assert message["payload"] == {"who": "Ann"}


def test_one_presence_list_for_both_protocols(phoenix, pusher_js, server, pusher_app, phoenix_jwt):
    room = unique("presence-room-")
    phx = _phoenix(phoenix, server, pusher_app, phoenix_jwt, room)
    state = phx.expect("message", topic=room, event="presence_state")["payload"]
    assert set(state) == {"p-phoebe"}

    psh = pusher_js(pusher_app, user=ANN)
    psh.connected()
    members = psh.subscribe(room)["members"]

    # pusher-js sees the Phoenix member with its JWT's info, Phoenix sees the Pusher member.
    assert members["count"] == 2
    assert members["hash"] == {"p-phoebe": {"name": "Phoebe"}, "u-ann": {"name": "Ann"}}
    diff = _diff_about(phx, room, "u-ann")
    assert set(diff["joins"]) == {"u-ann"} and diff["leaves"] == {}
    assert [meta["info"] for meta in diff["joins"]["u-ann"]["metas"]] == [{"name": "Ann"}]

    psh.send("unsubscribe", channel=room)
    diff = _diff_about(phx, room, "u-ann")
    assert set(diff["leaves"]) == {"u-ann"} and diff["joins"] == {}

    watcher = pusher_js(pusher_app, user={"id": "u-bob", "info": {}})
    watcher.connected()
    watcher.subscribe(room)
    phx.send("leave", topic=room)
    removed = watcher.expect("member_removed", channel=room)
    assert removed["user_id"] == "p-phoebe"
    assert json.dumps(removed["user_info"]) == json.dumps({"name": "Phoebe"})
