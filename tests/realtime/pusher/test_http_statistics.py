"""Statistics of the Pusher HTTP API: every request by outcome, and for the application
once its signature checked out."""

import pytest
from pusher.http import POST

from realtime.stats import counts

pytestmark = pytest.mark.django_db(transaction=True)


async def test_every_request_is_counted_by_outcome(pusher_api, alice_app):
    ok = await pusher_api.send(pusher_api.client.trigger.make_request("orders", "shipped", {}))
    invalid = await pusher_api.send(
        pusher_api.client.trigger.make_request("orders", "shipped", "x" * 20_000)
    )
    forged = await pusher_api.post_body("/events", {"name": "e", "channel": "c", "data": "{}"},
                                        secret="not the secret")  # fmt: skip
    missing = await pusher_api.raw(POST, "/apps/1/nowhere")
    statuses = (ok.status, invalid.status, forged.status, missing.status)
    assert statuses == (200, 413, 401, 404)
    assert counts.api_requests == {("pusher", "ok"): 1, ("pusher", "refused"): 3}
    # Only the signed ones are the application's.
    assert counts.of(alice_app.id).api_requests == 2
    assert counts.api_messages == {"pusher": 1}
    assert counts.of(alice_app.id).published == 1
