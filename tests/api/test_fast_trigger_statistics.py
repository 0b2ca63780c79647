"""Statistics of the REST triggers that the lean path (api.fast_triggers) answers."""

import pytest
from django.core.handlers.asgi import ASGIHandler

from api.fast_triggers import trigger_application
from realtime.stats import counts
from tests.api.fast_support import World, call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(alice_app, alice_token_and_secret, charlie_app, charlie_secret) -> World:
    token, secret = alice_token_and_secret
    return World(alice_app, secret, token, charlie_app, charlie_secret)


async def test_every_trigger_is_counted_by_outcome(world):
    handed_to_django = []

    async def django(scope, receive, send):
        handed_to_django.append(scope["path"])
        await ASGIHandler()(scope, receive, send)

    app = trigger_application(django)
    answers = [
        await call(app, world.post(world.event_path(), bearer=world.secret, json_body={"a": 1})),
        await call(app, world.post(world.event_path(), bearer=world.jwt(publish=["x"]),
                                   json_body={})),
        await call(app, world.post(world.event_path(), bearer="exps_wrong", json_body={})),
        await call(app, world.post(world.batch_path(), bearer=world.secret,
                                   json_body={"events": [{"event": "e", "topic": "a"}] * 2})),
        await call(app, world.preflight(world.event_path())),
    ]  # fmt: skip
    assert [a.status for a in answers] == [200, 403, 401, 200, 200]
    assert handed_to_django == []
    assert counts.api_requests == {("rest", "ok"): 2, ("rest", "refused"): 2}
    # The wrong token names no caller: not the application's (a preflight is no request).
    assert counts.of(world.app.id).api_requests == 3
    assert counts.api_messages == {"rest": 3}
