"""Guessing passwords at the dashboard log-in gets 429, per account and per address."""

import time

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def log_in(email: str, password: str, address: str = "203.0.113.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": email, "password": password})
    return response, client


def logged_in(client: Client) -> bool:
    return client.get("/dashboard/").status_code == 200


def test_an_account_that_failed_too_often_waits_even_with_the_right_password(settings, alice, bob):
    settings.EXPUSHER_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        assert log_in(alice.email, "wrong")[0].status_code == 200  # the form again
    response, client = log_in(alice.email, PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.EXPUSHER_THROTTLE_WINDOW_SECONDS + 1
    assert b"Too many failed attempts" in response.content
    assert not logged_in(client)
    # Another account from the same address is not held back.
    response, client = log_in(bob.email, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_an_address_that_failed_too_often_waits(settings, alice, bob):
    settings.EXPUSHER_FAILURES_PER_ADDRESS = 2
    assert log_in(alice.email, "wrong")[0].status_code == 200
    assert log_in("nobody@example.org", "wrong")[0].status_code == 200
    assert log_in(bob.email, PASSWORD)[0].status_code == 429
    assert log_in(bob.email, PASSWORD, address="198.51.100.1")[0].status_code == 302


def test_the_wait_ends_with_the_window(settings, alice):
    settings.EXPUSHER_LOGIN_FAILURES_PER_ACCOUNT = 1
    settings.EXPUSHER_THROTTLE_WINDOW_SECONDS = 2
    log_in(alice.email, "wrong")
    response, _ = log_in(alice.email, PASSWORD)
    if response.status_code == 429:  # unless the window just rolled over
        time.sleep(int(response["Retry-After"]))
    response, client = log_in(alice.email, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_a_successful_log_in_clears_the_accounts_failures(settings, alice):
    settings.EXPUSHER_LOGIN_FAILURES_PER_ACCOUNT = 2
    log_in(alice.email, "wrong")
    assert log_in(alice.email, PASSWORD)[0].status_code == 302
    log_in(alice.email, "wrong")
    assert log_in(alice.email, PASSWORD)[0].status_code == 302
