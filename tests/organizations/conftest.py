"""Logged-in clients for the web UI personas (see tests/conftest.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice, alice_org):
    return _client_for(alice)


@pytest.fixture
def bob_client(bob):
    return _client_for(bob)


@pytest.fixture
def charlie_client(charlie, charlie_org):
    return _client_for(charlie)


@pytest.fixture
def alice_token(alice_token_and_secret):
    return alice_token_and_secret[0]


@pytest.fixture
def bob_membership(bob, alice_org):
    return alice_org.memberships.get(user=bob)


@pytest.fixture
def superuser_client(db):
    admin = get_user_model().objects.create_superuser(
        username="ops@example.org", email="ops@example.org", password="unused-here"
    )
    return _client_for(admin)
