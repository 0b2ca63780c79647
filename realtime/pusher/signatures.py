"""Every HMAC of the Pusher protocol, signed with the application's secret. Pure functions.

Channel authorization, user sign-in and signed HTTP requests are checked in constant time
(hmac.compare_digest); webhooks are signed the same way for the customer to check.
"""

import hashlib
import hmac
from collections.abc import Mapping


def sign(secret: str, text: str) -> str:
    """hex(HMAC-SHA256(secret, text)), the signature of every Pusher HMAC."""
    return hmac.digest(secret.encode(), text.encode(), "sha256").hex()


def _auth_matches(key: str, secret: str, auth: object, text: str) -> bool:
    """`auth` is "<app key>:<hex signature of text>"."""
    if not isinstance(auth, str):
        return False
    auth_key, _, signature = auth.partition(":")
    expected = sign(secret, text)
    # Compared as bytes: compare_digest refuses non-ASCII strings, and a forgery may hold any.
    return hmac.compare_digest(auth_key.encode(), key.encode()) & hmac.compare_digest(
        signature.encode(), expected.encode()
    )


def channel_auth_valid(
    key: str, secret: str, auth: object, socket_id: str, channel: str, channel_data: str | None
) -> bool:
    """A private channel signs "socket_id:channel"; a presence channel appends
    ":channel_data", the exact string the client sends."""
    text = (
        f"{socket_id}:{channel}"
        if channel_data is None
        else f"{socket_id}:{channel}:{channel_data}"
    )
    return _auth_matches(key, secret, auth, text)


def user_auth_valid(key: str, secret: str, auth: object, socket_id: str, user_data: str) -> bool:
    """pusher:signin signs "socket_id::user::user_data"."""
    return _auth_matches(key, secret, auth, f"{socket_id}::user::{user_data}")


def request_string(method: str, path: str, params: Mapping[str, str]) -> str:
    """What a signed HTTP API request signs: method, path and the query, key-sorted,
    without auth_signature, as the official server libraries build it."""
    query = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "auth_signature")
    return f"{method.upper()}\n{path}\n{query}"


def request_signature_valid(secret: str, method: str, path: str, params: Mapping[str, str]) -> bool:
    signature = params.get("auth_signature", "")
    expected = sign(secret, request_string(method, path, params))
    return hmac.compare_digest(signature.encode(), expected.encode())


def body_md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def webhook_signature(secret: str, body: bytes) -> str:
    """X-Pusher-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.digest(secret.encode(), body, "sha256").hex()
