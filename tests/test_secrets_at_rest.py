"""No plaintext secret is ever written to the database.

Secret tokens are stored as peppered digests; application secrets are encrypted with
EXPUSHER_ENCRYPTION_KEY. The check reads everything the database holds through dumpdata
(portable across SQLite and PostgreSQL) and, for a file-based SQLite, the raw file too.
"""

import io
import os

import pytest
from django.core.management import call_command
from django.db import connection

from organizations import secrets, selectors, services


@pytest.fixture
def stored_secrets(alice, alice_org, alice_app_and_secret, alice_token_and_secret, charlie_org):
    """Plaintexts handed out to users: two app secrets and three secret tokens."""
    charlie_app, charlie_app_secret = services.application_create(
        organization=charlie_org, name="Charlie App"
    )
    _, revoked = services.secret_token_create(organization=alice_org, label="old")
    services.secret_token_revoke(token=selectors.secret_token_authenticate(revoked))
    _, _, signup_token = services.user_signup(
        email="dora@example.org", password="quiet-river-2049", organization_name="Dora Ltd"
    )
    return {
        "app_secrets": [alice_app_and_secret[1], charlie_app_secret],
        "tokens": [alice_token_and_secret[1], revoked, signup_token],
    }


def database_dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def raw_database_file() -> bytes:
    """The SQLite file's bytes, or b"" when the database is not a file (in-memory, PostgreSQL)."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or not os.path.isfile(name):
        return b""
    with open(name, "rb") as db_file:
        return db_file.read()


@pytest.mark.django_db
def test_no_plaintext_secret_token_is_stored(stored_secrets):
    dump, raw = database_dump(), raw_database_file()

    for plaintext in stored_secrets["tokens"]:
        # Only the short lookup prefix may be stored; the rest of the secret may not.
        unstored = plaintext[len(secrets.secret_token_lookup(plaintext)) :]
        assert plaintext not in dump
        assert unstored not in dump
        assert unstored.encode() not in raw


@pytest.mark.django_db
def test_no_plaintext_app_secret_is_stored(stored_secrets):
    dump, raw = database_dump(), raw_database_file()

    for plaintext in stored_secrets["app_secrets"]:
        assert plaintext not in dump
        assert plaintext.encode() not in raw


@pytest.mark.django_db
def test_the_dump_does_hold_the_rows(stored_secrets, alice_app):
    # Guards the two tests above against passing on an empty or partial dump.
    dump = database_dump()

    assert alice_app.app_key in dump
    assert alice_app.secret_encrypted in dump
    assert "dora@example.org" in dump


@pytest.mark.django_db
def test_app_secret_decrypts_with_the_configured_key_only(alice_app_and_secret, settings):
    app, plaintext = alice_app_and_secret

    assert selectors.application_secret(app) == plaintext

    settings.EXPUSHER_ENCRYPTION_KEYS = ["another-key-0123456789abcdefghijklmnopqrstuvwxyz"]
    with pytest.raises(ValueError, match="cannot decrypt"):
        selectors.application_secret(app)


@pytest.mark.django_db
def test_app_secret_stays_readable_after_a_key_rotation(alice_app_and_secret, settings):
    app, plaintext = alice_app_and_secret
    old_keys = list(settings.EXPUSHER_ENCRYPTION_KEYS)

    settings.EXPUSHER_ENCRYPTION_KEYS = ["new-key-0123456789abcdefghijklmnopqrstuvwxyz", *old_keys]

    assert selectors.application_secret(app) == plaintext
