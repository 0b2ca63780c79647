"""Laravel Echo (npm `laravel-echo`, broadcaster "pusher", over pusher-js) against one live
daphne server, as a Laravel front end uses it; auth is signed by the npm `pusher` library
as a Laravel backend signs it. Events are broadcast the way Laravel broadcasts them: the
event class name (App\\Events\\...) through the HTTP API.
"""

import pytest

from tests.e2e.pusher_support import unique

pytestmark = pytest.mark.e2e

ANN = {"id": "1", "info": {"id": 1, "name": "Ann"}}
BOB = {"id": "2", "info": {"id": 2, "name": "Bob"}}


def _echo(echo_js, app, user=ANN, **config):
    client = echo_js(app, user=user, **config)
    client.expect("ready")
    client.connected()
    return client


def test_a_private_channel_receives_a_laravel_broadcast(echo_js, pusher_py, pusher_app):
    name = unique("orders.")
    client = _echo(echo_js, pusher_app)
    client.open("private", name, listen=["OrderShipped", ".status-changed"])

    pusher_py(pusher_app).trigger(
        f"private-{name}", "App\\Events\\OrderShipped", {"order": {"id": 7}, "socket": None}
    )
    pusher_py(pusher_app).trigger(f"private-{name}", "status-changed", {"status": "late"})

    shipped = client.expect("echo_event", channel=f"private-{name}", event="OrderShipped")
    assert shipped["data"] == {"order": {"id": 7}, "socket": None}
    status = client.expect("echo_event", channel=f"private-{name}", event=".status-changed")
    assert status["data"] == {"status": "late"}


def test_a_public_channel_with_a_client_built_pusher(echo_js, pusher_py, pusher_app):
    name = unique("news.")
    client = _echo(echo_js, pusher_app, client=True)  # Echo({client: new Pusher(...)})
    client.open("channel", name, listen=[".published"])

    pusher_py(pusher_app).trigger(name, "published", {"title": "Hello"})

    event = client.expect("echo_event", channel=name, event=".published")
    assert event["data"] == {"title": "Hello"}


def test_presence_here_joining_and_leaving(echo_js, pusher_app):
    name = unique("chat.")
    ann = _echo(echo_js, pusher_app, ANN)
    ann.open("join", name)
    assert ann.expect("here", channel=f"presence-{name}")["users"] == [ANN["info"]]

    bob = _echo(echo_js, pusher_app, BOB)
    bob.open("join", name)

    here = bob.expect("here", channel=f"presence-{name}")["users"]
    assert sorted(here, key=lambda u: u["id"]) == [ANN["info"], BOB["info"]]
    assert ann.expect("joining", channel=f"presence-{name}")["user"] == BOB["info"]

    bob.send("leave", name=name)
    assert ann.expect("leaving", channel=f"presence-{name}")["user"] == BOB["info"]


def test_whispers_on_private_and_presence_channels(echo_js, pusher_py, pusher_app):
    name = unique("room.")
    ann = _echo(echo_js, pusher_app, ANN)
    bob = _echo(echo_js, pusher_app, BOB)
    for client in (ann, bob):
        client.open("private", name, whispers=["typing"], listen=[".marker"])
        client.open("join", name, whispers=["typing"], listen=[".marker"])

    ann.send("whisper", kind="private", name=name, event="typing", data={"who": "Ann"})
    ann.send("whisper", kind="join", name=name, event="typing", data={"who": "Ann", "p": 1})

    private = bob.expect("whisper", channel=f"private-{name}", event="typing")
    assert private["data"] == {"who": "Ann"}
    presence = bob.expect("whisper", channel=f"presence-{name}", event="typing")
    assert presence["data"] == {"who": "Ann", "p": 1}
    # Not echoed to the whisperer.
    pusher_py(pusher_app).trigger(f"private-{name}", "marker", {})
    ann.expect("echo_event", channel=f"private-{name}", event=".marker")
    assert ann.records("whisper") == []
