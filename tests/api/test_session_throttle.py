"""Guessing secret tokens at POST /api/sessions gets 429 with Retry-After, per address."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def exchange(token: str, address: str = "203.0.113.7"):
    return APIClient(REMOTE_ADDR=address).post("/api/sessions", {"token": token}, format="json")


def test_an_address_that_guessed_too_often_waits_even_with_the_right_token(settings, alice_secret):
    settings.EXPUSHER_FAILURES_PER_ADDRESS = 3
    for i in range(3):
        assert exchange(f"exps_wrong{i}").status_code == 401
    r = exchange(alice_secret)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "throttled"
    assert 0 < int(r["Retry-After"]) <= settings.EXPUSHER_THROTTLE_WINDOW_SECONDS + 1
    # Another address is not held back, and right tokens never count.
    assert exchange(alice_secret, address="198.51.100.1").status_code == 201
    for _ in range(5):
        assert exchange(alice_secret, address="198.51.100.2").status_code == 201
