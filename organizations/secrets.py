"""Secret material: organization secret tokens (hashed) and app secrets (encrypted).

Secret tokens are only ever *presented* by customers, so we keep an HMAC digest and a
short lookup prefix, never the plaintext. Application secrets sign Pusher HMACs, so the
server needs the plaintext: they are encrypted with EXPUSHER_ENCRYPTION_KEY instead.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from organizations.settings_answers import settings_answer

SECRET_TOKEN_PREFIX = "exps_"
LOOKUP_LENGTH = 8


def secret_token_generate() -> tuple[str, str, str]:
    """Return (plaintext, lookup, digest) for a new secret token.

    The lookup is the first characters of the plaintext after the fixed prefix: enough to
    find the row with an index, too little to guess the rest.
    """
    plaintext = SECRET_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return plaintext, secret_token_lookup(plaintext), secret_token_digest(plaintext)


def secret_token_lookup(plaintext: str) -> str:
    return plaintext[: len(SECRET_TOKEN_PREFIX) + LOOKUP_LENGTH]


def secret_token_digest(plaintext: str) -> str:
    peppered = _peppered().copy()
    peppered.update(plaintext.encode())
    return peppered.hexdigest()


@settings_answer
def _peppered() -> hmac.HMAC:
    # Every REST trigger with a secret token digests it: the setting is read and the HMAC
    # keyed once (a copy costs less than keying anew), forgotten when a setting changes.
    return hmac.new(settings.EXPUSHER_TOKEN_PEPPER.encode(), digestmod=hashlib.sha256)


def secret_token_matches(plaintext: str, digest: str) -> bool:
    return hmac.compare_digest(secret_token_digest(plaintext), digest)


def app_key_generate() -> str:
    return secrets.token_hex(10)


def app_id_generate() -> int:
    """A 7-digit id, as Pusher's numeric app ids look."""
    return 1_000_000 + secrets.randbelow(9_000_000)


def app_secret_generate() -> str:
    return secrets.token_hex(20)


def _fernet(purpose: str = "") -> MultiFernet:
    # Any string works as a key: it is stretched to Fernet's 32 bytes. The first key
    # encrypts; every key decrypts, so keys can be rotated by prepending a new one. A
    # purpose other than the app secrets' ("") gets keys of its own.
    keys = [
        Fernet(base64.urlsafe_b64encode(hashlib.sha256((purpose + k).encode()).digest()))
        for k in settings.EXPUSHER_ENCRYPTION_KEYS
    ]
    return MultiFernet(keys)


def app_secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def app_secret_decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt the application secret with the configured keys") from None


def sealed(purpose: str, plaintext: str) -> str:
    """Encrypt and authenticate `plaintext` for one purpose (a key of its own per purpose,
    derived from EXPUSHER_ENCRYPTION_KEY): what a link in an e-mail carries."""
    return _fernet(purpose).encrypt(plaintext.encode()).decode()


def unsealed(purpose: str, token: str, max_age: int) -> str:
    """The plaintext of a `sealed` token no older than `max_age` seconds; ValueError if it
    is not one (tampered, another purpose's, expired)."""
    try:
        return _fernet(purpose).decrypt(token.encode(), ttl=max_age).decode()
    except (InvalidToken, UnicodeError):
        raise ValueError("invalid or expired token") from None
