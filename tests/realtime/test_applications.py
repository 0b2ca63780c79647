"""The application snapshot the realtime path reads (realtime.applications)."""

import pytest
from django.core.cache import cache

from organizations.services import application_update
from realtime.applications import app_snapshot

pytestmark = pytest.mark.django_db


def test_equal_snapshots_are_one_object_until_the_application_changes(alice_app):
    held = app_snapshot(alice_app.app_key)  # a socket holds the one it connected with
    assert app_snapshot(alice_app.app_key) is held
    assert app_snapshot(str(alice_app.app_id)) == held

    application_update(application=alice_app, max_connections=7)
    cache.clear()  # the cached copy expires (EXPUSHER_APP_CACHE_SECONDS)

    changed = app_snapshot(alice_app.app_key)
    assert changed is not held
    assert held.max_connections != 7
    assert changed.max_connections == 7
    assert app_snapshot(alice_app.app_key) is changed
