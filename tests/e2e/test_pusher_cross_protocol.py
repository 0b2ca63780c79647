"""One namespace, two protocols: Pusher and Phoenix clients on the same topics.

One live daphne process (embedded layer). Pusher subscribers are the official pusher-js
(Node, js/pusher_client.js, auth signed by the npm `pusher` library in that process);
Phoenix subscribers are the official npm `phoenix` client (js/phoenix_client.js, and its
Presence class in js/presence_client.js), holding JWTs issued by POST /api/sessions for
the same application. Events come from the PyPI `pusher` library (Pusher HTTP API), from
ExPusher's REST trigger, and from clients of either protocol.

The README's rules checked here: a Pusher `data` string holding a JSON object reaches
Phoenix sockets as that object, any other string as {"data": "<the string>"}; a Phoenix or
REST payload reaches Pusher sockets as its JSON text, the same bytes for every subscriber;
a `presence-` topic has one member list, shown by both HTTP APIs.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import WAIT, PhoenixNode, Tenant, session_jwt, trigger
from tests.e2e.pusher_support import unique

pytestmark = pytest.mark.e2e

ANN = {"id": "u-ann", "info": {"name": "Ann"}}
BOB = {"id": "u-bob", "info": {"name": "Bob"}}


@pytest.fixture(scope="module")
def app_tenant(pusher_app, live_env) -> Tenant:
    """The Pusher app's organization as a Tenant, for JWTs and ExPusher's REST API."""
    return Tenant(
        live_env, pusher_app.organization, pusher_app.token, pusher_app.key, int(pusher_app.app_id)
    )


class PresenceTab(PhoenixNode):
    """A phoenix socket joined to one presence topic with phoenix's Presence class
    (js/presence_client.js): records "sync" {members: {key: metas}}, "diff", "leave"."""

    script = "presence_client.js"

    def sees(self, members: dict[str, int], timeout: float = WAIT) -> None:
        """Waits until the latest Presence list is exactly {user: connections}."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain(0)
            syncs = [r["members"] for r in self.seen if r["type"] == "sync"]
            if syncs and syncs[-1] == members:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Presence list never became {members} within {timeout}s; "
                    f"syncs: {syncs}; observed: {self.seen}"
                )
            self._drain(0.1)


@pytest.fixture
def presence_tab(server, app_tenant):
    """presence_tab(topic, user_id, **info) -> a joined phoenix Presence tab."""
    tabs: list[PresenceTab] = []

    def start(topic: str, user_id: str, **info) -> PresenceTab:
        jwt = session_jwt(
            server, app_tenant, listen=[topic], publish=[], user_id=user_id, user_info=info
        )
        tab = PresenceTab(
            {
                "url": f"{server.ws_url}/socket",
                "params": {"app_key": app_tenant.app_key},
                "authToken": jwt,
                "topic": topic,
            }
        )
        tabs.append(tab)
        assert tab.expect("join")["status"] == "ok", tab.seen
        return tab

    yield start
    for tab in tabs:
        tab.close()


def _phoenix(phoenix, server, tenant, topic, *, publish=False, **claims):
    """A phoenix client whose JWT may listen on (and publish to) `topic`, joined to it."""
    jwt = session_jwt(server, tenant, listen=[topic], publish=[topic] if publish else [], **claims)
    client = phoenix(server, params={"app_key": tenant.app_key}, authToken=jwt)
    client.expect_open()
    joined = client.join(topic)
    assert joined["status"] == "ok", joined
    return client


def _pusher(pusher_js, app, *channels, user=ANN, frames=True):
    client = pusher_js(app, user=user, frames=frames)
    client.connected()
    for channel in channels:
        client.subscribe(channel)
    return client


def _raw_event(client, channel: str, event: str) -> dict:
    """The event's frame exactly as it came off the wire (its `data` still a string)."""
    deadline = time.monotonic() + WAIT
    while True:
        for record in client.records("frame_in"):
            frame = json.loads(record["raw"])
            if frame.get("event") == event and frame.get("channel") == channel:
                return frame
        if time.monotonic() > deadline:
            raise AssertionError(f"no {event} frame on {channel}; observed: {client.seen}")
        client.settle(0.05)


# -- events across protocols --------------------------------------------------------------


def test_a_pusher_http_trigger_reaches_phoenix_and_pusher_subscribers(
    pusher_js, pusher_py, phoenix, pusher_app, server, app_tenant
):
    channel = unique("orders-")
    phx = _phoenix(phoenix, server, app_tenant, channel)
    js = _pusher(pusher_js, pusher_app, channel)
    library = pusher_py(pusher_app)

    library.trigger(channel, "as-object", {"id": 7, "items": ["a", "b"], "name": "Zoë"})
    library.trigger(channel, "as-text", "plain text, not JSON")
    library.trigger(channel, "as-array", "[1, 2]")
    library.trigger(channel, "as-number", "42")

    # Phoenix: an object string arrives as that object; any other string wrapped.
    assert phx.expect("message", topic=channel, event="as-object")["payload"] == {
        "id": 7,
        "items": ["a", "b"],
        "name": "Zoë",
    }
    for event, text in [
        ("as-text", "plain text, not JSON"),
        ("as-array", "[1, 2]"),
        ("as-number", "42"),
    ]:
        assert phx.expect("message", topic=channel, event=event)["payload"] == {"data": text}
    # Pusher: the data string verbatim, as the library sent it.
    sent = json.dumps({"id": 7, "items": ["a", "b"], "name": "Zoë"}, ensure_ascii=False)
    assert _raw_event(js, channel, "as-object")["data"] == sent
    assert _raw_event(js, channel, "as-text")["data"] == "plain text, not JSON"
    assert _raw_event(js, channel, "as-array")["data"] == "[1, 2]"
    assert _raw_event(js, channel, "as-number")["data"] == "42"
    event = js.expect("event", channel=channel, event="as-object")
    assert event["data"] == {"id": 7, "items": ["a", "b"], "name": "Zoë"}


def test_a_rest_trigger_reaches_pusher_js_as_its_json_text(
    pusher_js, phoenix, pusher_app, server, app_tenant
):
    channel = unique("private-rest-")
    first = _pusher(pusher_js, pusher_app, channel, user=ANN)
    second = _pusher(pusher_js, pusher_app, channel, user=BOB)
    phx = _phoenix(phoenix, server, app_tenant, channel)

    status, body = trigger(
        server,
        app_tenant,
        "new_message",
        {"topic": channel, "name": "John", "message": "Hello"},
        bearer=app_tenant.token,
    )

    assert (status, body) == (200, {})
    payload = {"name": "John", "message": "Hello"}
    raw = [_raw_event(client, channel, "new_message")["data"] for client in (first, second)]
    assert isinstance(raw[0], str) and json.loads(raw[0]) == payload
    assert raw[0] == raw[1]  # the same bytes for every subscriber
    for client in (first, second):
        assert client.expect("event", channel=channel, event="new_message")["data"] == payload
    assert phx.expect("message", topic=channel, event="new_message")["payload"] == payload


def test_a_client_event_reaches_phoenix_and_a_phoenix_push_reaches_pusher_js(
    pusher_js, pusher_py, phoenix, pusher_app, server, app_tenant
):
    channel = unique("private-chat-")
    sender = _pusher(pusher_js, pusher_app, channel, user=ANN)
    listener = _pusher(pusher_js, pusher_app, channel, user=BOB)
    phx = _phoenix(phoenix, server, app_tenant, channel, publish=True)

    triggered = sender.trigger(channel, "client-typing", {"on": True, "who": "ann"})
    assert triggered["ok"] is True, triggered
    reply = phx.push("p1", channel, "shipped", {"id": 1, "note": "from phoenix"})

    assert reply["status"] == "ok", reply
    message = phx.expect("message", topic=channel, event="client-typing")
    assert message["payload"] == {"on": True, "who": "ann"}
    assert listener.expect("event", channel=channel, event="client-typing")["data"] == {
        "on": True,
        "who": "ann",
    }
    for client in (sender, listener):
        event = client.expect("event", channel=channel, event="shipped")
        assert event["data"] == {"id": 1, "note": "from phoenix"}
    raw = [_raw_event(c, channel, "shipped")["data"] for c in (sender, listener)]
    assert json.loads(raw[0]) == {"id": 1, "note": "from phoenix"} and raw[0] == raw[1]
    # The phoenix sender hears its own push; the pusher-js sender not its client event.
    assert phx.expect("message", topic=channel, event="shipped")["payload"]["id"] == 1
    pusher_py(pusher_app).trigger(channel, "marker", {})
    sender.expect("event", channel=channel, event="marker")
    assert sender.events(channel, "client-typing") == []


def test_a_pusher_client_events_text_reaches_phoenix_wrapped(
    pusher_js, phoenix, pusher_app, server, app_tenant
):
    channel = unique("private-text-")
    sender = _pusher(pusher_js, pusher_app, channel)
    phx = _phoenix(phoenix, server, app_tenant, channel)

    assert sender.trigger(channel, "client-note", "just words")["ok"] is True

    message = phx.expect("message", topic=channel, event="client-note")
    assert message["payload"] == {"data": "just words"}


# -- one presence ---------------------------------------------------------------------------


def test_pusher_and_phoenix_members_see_each_other(
    pusher_js, pusher_py, presence_tab, pusher_app, server, app_tenant
):
    topic = unique("presence-room-")
    phil = presence_tab(topic, "u-phil", name="Phil")
    phil.sees({"u-phil": 1})

    ann = _pusher(pusher_js, pusher_app, user=ANN)
    members = ann.subscribe(topic)["members"]

    assert members["count"] == 2
    assert members["hash"] == {"u-phil": {"name": "Phil"}, "u-ann": {"name": "Ann"}}
    assert members["me"] == {"id": "u-ann", "info": {"name": "Ann"}}
    phil.sees({"u-phil": 1, "u-ann": 1})  # the phoenix Presence list holds the Pusher member

    quinn = presence_tab(topic, "u-quinn", name="Quinn")
    added = ann.expect("member_added", channel=topic)
    assert (added["user_id"], added["user_info"]) == ("u-quinn", {"name": "Quinn"})
    quinn.sees({"u-phil": 1, "u-ann": 1, "u-quinn": 1})

    # Both HTTP APIs list every member, whatever its protocol.
    library = pusher_py(pusher_app)
    users = library.users_info(topic)["users"]
    assert sorted(u["id"] for u in users) == ["u-ann", "u-phil", "u-quinn"]
    assert library.channel_info(topic, ["user_count", "subscription_count"]) == {
        "occupied": True,
        "user_count": 3,
        "subscription_count": 3,
    }
    status, _, body = server.get(
        f"/api/organizations/{app_tenant.organization}/applications/{app_tenant.app_key}"
        f"/topics/{topic}/presence",
        headers={"Authorization": f"Bearer {app_tenant.token}"},
    )
    assert status == 200, body
    assert sorted(json.loads(body)["members"], key=lambda m: m["id"]) == [
        {"id": "u-ann", "info": {"name": "Ann"}, "connections": 1},
        {"id": "u-phil", "info": {"name": "Phil"}, "connections": 1},
        {"id": "u-quinn", "info": {"name": "Quinn"}, "connections": 1},
    ]

    # Leaving crosses too: a phoenix member's departure is a member_removed, a Pusher
    # member's a Presence leave.
    quinn.close()
    removed = ann.expect("member_removed", channel=topic)
    assert removed["user_id"] == "u-quinn"
    ann.send("unsubscribe", channel=topic)
    phil.sees({"u-phil": 1})
    assert phil.expect("leave", key="u-ann")["remaining"] == 0
    assert sorted(u["id"] for u in library.users_info(topic)["users"]) == ["u-phil"]
