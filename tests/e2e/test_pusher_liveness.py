"""pusher:ping / pusher:pong both ways, with the official clients, against a live server
whose activity timeout is 1 s and pong timeout 1 s (EXPUSHER_PUSHER_ACTIVITY_TIMEOUT,
EXPUSHER_PUSHER_PONG_TIMEOUT), so that the whole cycle fits in a few seconds.

pusher-js pings after the activity timeout the handshake announced and answers the server's
pings; Pysher answers the server's pings (its own pings come every 120 s); a client that
never answers is closed with 4201, which pusher-js treats as "reconnect now".
"""

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import WAIT
from tests.e2e.pusher_support import unique
from tests.support import live

pytestmark = pytest.mark.e2e

ACTIVITY, PONG = 1, 1  # seconds, the servers' settings in this module
QUIET = ACTIVITY + PONG + 1.5  # longer than a silent client survives


@pytest.fixture(scope="module")
def live_env(tmp_path_factory):
    """This module's ServerEnv (overrides conftest's): short liveness timeouts."""
    server_env = live.ServerEnv.create(
        tmp_path_factory.mktemp("e2e-liveness"),
        EXPUSHER_PUSHER_ACTIVITY_TIMEOUT=str(ACTIVITY),
        EXPUSHER_PUSHER_PONG_TIMEOUT=str(PONG),
    )
    live.migrate(server_env)
    return server_env


def test_pusher_js_keeps_its_connection_through_quiet_periods(pusher_js, pusher_py, pusher_app):
    channel = unique("quiet-")
    client = pusher_js(pusher_app, frames=True)
    client.connected()
    client.subscribe(channel)
    established = json.loads(json.loads(client.records("frame_in")[0]["raw"])["data"])
    assert established["activity_timeout"] == ACTIVITY

    client.settle(QUIET)

    sent = [json.loads(r["raw"])["event"] for r in client.records("frame_out")]
    heard = [json.loads(r["raw"])["event"] for r in client.records("frame_in")]
    assert "pusher:ping" in sent and "pusher:pong" in heard  # pusher-js asked, server answered
    assert len(client.records("socket")) == 1  # never reconnected
    assert [r["current"] for r in client.records("state")] == ["connected"]
    pusher_py(pusher_app).trigger(channel, "after", {"n": 1})
    assert client.expect("event", channel=channel, event="after")["data"] == {"n": 1}


def test_pysher_answers_the_servers_pings(pysher, pusher_py, pusher_app):
    channel = unique("quiet-py-")
    client = pysher(pusher_app)
    client.connected()
    client.subscribe(channel, events=["after"])

    client.expect("ping", timeout=ACTIVITY + WAIT)
    time.sleep(QUIET)

    pusher_py(pusher_app).trigger(channel, "after", {"n": 1})
    assert json.loads(client.expect("event", channel=channel, event="after")["data"]) == {"n": 1}
    assert len([r for r in client.seen if r["type"] == "connected"]) == 1


async def test_a_client_that_never_answers_is_closed_with_4201(pusher_app):
    async with connect(
        f"{pusher_app.ws_url}?protocol=7&client=raw&version=1",
        compression=None,
        proxy=None,
        ping_interval=None,
        open_timeout=WAIT,
        close_timeout=2,
    ) as ws:
        established = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert established["event"] == "pusher:connection_established"
        started = time.monotonic()
        frames = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
        elapsed = time.monotonic() - started

    assert [f["event"] for f in frames if f["event"] == "pusher:ping"] == ["pusher:ping"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4201, closed.value
    assert ACTIVITY + PONG - 0.5 <= elapsed <= ACTIVITY + PONG + 3, elapsed
