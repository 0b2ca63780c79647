"""Shared fixtures: three personas, as in healthchecks' test base.

* Alice owns "Alice Corp" (admin) with an application and a secret token.
* Bob is a plain member of Alice Corp.
* Charlie is an outsider with an organization and application of his own.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from organizations import local_cache, services
from realtime import presence
from realtime.stats import counts, flusher, metrics, store

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Tests create many users; the real hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Nothing a test caches or tracks in this process may outlive it.

    Token and application answers are cached by id, and ids are reused once a test's
    database is rolled back or flushed; the embedded presence store is process-wide.
    """
    _forget_process_state()
    yield
    _forget_process_state()


def _forget_process_state() -> None:
    _clear_local_cache()
    local_cache.forget_all()
    presence.reset_memory_store()
    counts.reset()
    flusher.forget()
    store.reset_memory_store()
    metrics.forget_app_keys()


def _clear_local_cache() -> None:
    # Never a Redis one (a test may point CACHES at it): RedisCache.clear() is FLUSHDB,
    # which would wipe every other user of that Redis database, other test runs included.
    if not isinstance(caches["default"], RedisCache):
        cache.clear()


def _user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)


@pytest.fixture
def alice(db):
    return _user("alice@example.org")


@pytest.fixture
def alice_org(alice):
    return services.organization_create(name="Alice Corp", owner=alice)


@pytest.fixture
def alice_app_and_secret(alice_org):
    return services.application_create(organization=alice_org, name="Alice Chat")


@pytest.fixture
def alice_app(alice_app_and_secret):
    return alice_app_and_secret[0]


@pytest.fixture
def alice_token_and_secret(alice_org, alice):
    return services.secret_token_create(organization=alice_org, label="ci", created_by=alice)


@pytest.fixture
def alice_secret(alice_token_and_secret) -> str:
    """Alice Corp's secret token, in plaintext."""
    return alice_token_and_secret[1]


@pytest.fixture
def bob(alice_org):
    user = _user("bob@example.org")
    services.membership_add(organization=alice_org, email=user.email)
    return user


@pytest.fixture
def charlie(db):
    return _user("charlie@example.org")


@pytest.fixture
def charlie_org(charlie):
    return services.organization_create(name="Charlie Inc", owner=charlie)


@pytest.fixture
def charlie_app(charlie_org):
    return services.application_create(organization=charlie_org, name="Charlie App")[0]


@pytest.fixture
def charlie_secret(charlie_org, charlie) -> str:
    return services.secret_token_create(organization=charlie_org, created_by=charlie)[1]


@pytest.fixture
def api():
    return APIClient()
