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
