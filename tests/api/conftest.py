"""Callers of the management API, one per way in: tokens, sessions, nobody, a JWT."""

import pytest
from rest_framework.test import APIClient

from realtime import tokens

CALLERS = [
    "alice_secret",
    "alice_session",
    "bob_session",
    "charlie_secret",
    "charlie_session",
    "anonymous",
    "alice_jwt",
]


@pytest.fixture
def alice_jwt(alice_org, alice_app, alice_token_and_secret) -> str:
    """A valid realtime JWT of Alice Corp, allowed everything on its application."""
    token, _ = alice_token_and_secret
    jwt, _ = tokens.issue(
        organization_id=alice_org.pk,
        token_id=token.pk,
        apps=[alice_app.app_key],
        listen=["*"],
        publish=["*"],
        ttl=300,
    )
    return jwt


@pytest.fixture
def client_for(alice, bob, charlie, alice_secret, charlie_secret, charlie_app, alice_jwt):
    """client_for("bob_session") -> an APIClient calling as that caller."""

    def make(caller: str, *, enforce_csrf_checks: bool = False) -> APIClient:
        client = APIClient(enforce_csrf_checks=enforce_csrf_checks)
        bearer = {"alice_secret": alice_secret, "charlie_secret": charlie_secret}
        bearer["alice_jwt"] = alice_jwt
        users = {"alice_session": alice, "bob_session": bob, "charlie_session": charlie}
        if caller in bearer:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer[caller]}")
        elif caller in users:
            client.force_login(users[caller])
        else:
            assert caller == "anonymous", caller
        return client

    return make
