"""Validation of application settings, independent of the realtime app.

organizations must not import realtime, so the topic pattern rule is restated here. It
mirrors realtime.topics: a pattern is 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; :
optionally followed by one "*", or "*" alone. tests/organizations/test_validators.py
checks that both definitions agree.
"""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

TOPIC_PATTERN_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:]{1,200}\*?|\*")


def topic_pattern_validate(pattern: str) -> None:
    if not TOPIC_PATTERN_RE.fullmatch(pattern):
        raise ValidationError(
            "%(pattern)s is not a valid topic pattern: use 1-200 characters of "
            "A-Z a-z 0-9 _ - = @ , . ; : optionally ending in *, or * alone.",
            params={"pattern": pattern},
            code="invalid_pattern",
        )


def origin_normalize(origin: str) -> str:
    """Return the origin as browsers send it (scheme://host[:port]) or raise ValidationError.

    Browsers send the Origin header in lower case and without a path, so anything else
    could never match and is rejected here rather than silently ignored at connect time.
    """
    value = origin.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ValidationError(
            "%(origin)s is not an origin: write it as https://example.com or "
            "http://localhost:3000, without a path.",
            params={"origin": origin},
            code="invalid_origin",
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literals keep their brackets in an origin
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


# The webhook events an application may ask for (Pusher's names). subscription_count is
# opt-in, as on Pusher: it is sent on every change of a channel's subscriber count.
WEBHOOK_EVENTS = (
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "client_event",
    "cache_miss",
    "subscription_count",
)
MAX_WEBHOOK_EXTRA_URLS = 4


def webhook_url_validate(url: str) -> None:
    """http or https with a host; whether the host may be called is decided when sending
    (realtime.pusher.webhook_targets), since a name may resolve differently then."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "%(url)s is not a webhook URL: use http:// or https:// and a host.",
            params={"url": url},
            code="invalid_webhook_url",
        )


def webhook_extra_urls_validate(urls: object) -> None:
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise ValidationError("Webhook URLs must be a list of strings.", code="invalid")
    if len(urls) > MAX_WEBHOOK_EXTRA_URLS:
        raise ValidationError(
            "At most %(n)d more webhook URLs.", params={"n": MAX_WEBHOOK_EXTRA_URLS}, code="max"
        )
    for url in urls:
        webhook_url_validate(url)


def webhook_events_validate(events: object) -> None:
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise ValidationError("Webhook events must be a list of event names.", code="invalid")
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise ValidationError(
            "Unknown webhook events: %(unknown)s (known: %(known)s).",
            params={"unknown": ", ".join(unknown), "known": ", ".join(WEBHOOK_EVENTS)},
            code="unknown_webhook_event",
        )
