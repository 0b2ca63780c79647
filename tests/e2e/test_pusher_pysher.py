"""Pysher (PyPI, a Python Pusher websocket client speaking protocol 6) against one live
daphne server: it connects, subscribes to public, private and presence channels (signing
the auth itself with the app secret) and receives events triggered by both server libraries
and by a pusher-js client.
"""

import json

import pytest

from tests.e2e.pusher_support import unique

pytestmark = pytest.mark.e2e


def test_pysher_receives_on_public_and_private_channels(
    pysher, pusher_py, pusher_node_backend, pusher_app
):
    public, private = unique("feed-"), unique("private-feed-")
    client = pysher(pusher_app)
    client.connected()
    client.subscribe(public, events=["py", "node"])
    client.subscribe(private, events=["py"])

    pusher_py(pusher_app).trigger(public, "py", {"n": 1})
    pusher_node_backend(pusher_app).call("trigger", public, "node", {"n": 2})
    pusher_py(pusher_app).trigger(private, "py", "plain")

    # Pysher hands over `data` as it arrives: the string the publisher sent.
    assert json.loads(client.expect("event", channel=public, event="py")["data"]) == {"n": 1}
    assert json.loads(client.expect("event", channel=public, event="node")["data"]) == {"n": 2}
    assert client.expect("event", channel=private, event="py")["data"] == "plain"


def test_pysher_joins_presence_next_to_pusher_js(pysher, pusher_js, pusher_app):
    room = unique("presence-mixed-")
    js = pusher_js(pusher_app, user={"id": "u-js", "info": {"via": "pusher-js"}})
    js.connected()
    js.subscribe(room, bind=["client-hello"])

    client = pysher(pusher_app, user_data={"user_id": "u-py", "user_info": {"via": "pysher"}})
    client.connected()
    succeeded = client.subscribe(room, events=["client-hello"])

    presence = json.loads(succeeded["data"])["presence"]
    assert presence["count"] == 2
    assert presence["hash"] == {"u-js": {"via": "pusher-js"}, "u-py": {"via": "pysher"}}
    added = js.expect("member_added", channel=room)
    assert (added["user_id"], added["user_info"]) == ("u-py", {"via": "pysher"})

    # A client event from Pysher reaches pusher-js with Pysher's user id.
    client.pusher.channel(room).trigger("client-hello", {"from": "pysher"})
    hello = js.expect("event", channel=room, event="client-hello")
    assert hello["data"] == {"from": "pysher"}
    assert hello["user_id"] == "u-py"
