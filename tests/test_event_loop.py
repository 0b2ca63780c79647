"""expusher.server runs daphne's reactor on the loop EXPUSHER_EVENT_LOOP names."""

import asyncio

import pytest
import uvloop

from expusher import server


@pytest.fixture
def restore_policy():
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


def test_uvloop_by_default(settings, restore_policy):
    assert settings.EXPUSHER_EVENT_LOOP == "uvloop"
    server.choose_event_loop()
    assert isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)


def test_python_s_own_loop_on_request(settings, restore_policy):
    asyncio.set_event_loop_policy(None)
    settings.EXPUSHER_EVENT_LOOP = "asyncio"
    server.choose_event_loop()
    assert not isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)
