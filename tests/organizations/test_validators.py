"""organizations.validators restates realtime.topics' pattern rule; both must agree."""

import pytest
from django.core.exceptions import ValidationError

from organizations.validators import origin_normalize, topic_pattern_validate
from realtime.topics import pattern_is_valid

PATTERNS = [
    "*",
    "public:*",
    "private:user-42",
    "presence:room-7",
    "private-chat",
    "a=b@c,d.e;f:g_h-i",
    "x" * 200,
    "x" * 200 + "*",
    "",
    "**",
    "a*b",
    "*a",
    "x" * 201,
    "room/1",
    "room 1",
    "café",
    "chat:*\n",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_it_agrees_with_realtime(pattern):
    try:
        topic_pattern_validate(pattern)
        valid = True
    except ValidationError:
        valid = False

    assert valid == pattern_is_valid(pattern)


@pytest.mark.parametrize(
    "origin, normalized",
    [
        ("https://Example.com", "https://example.com"),
        ("https://example.com/", "https://example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_it_normalizes_origins(origin, normalized):
    assert origin_normalize(origin) == normalized


@pytest.mark.parametrize(
    "origin",
    [
        "example.com",
        "ftp://example.com",
        "https://example.com/app",
        "https://example.com?x=1",
        "https://user:pw@example.com",
        "https://example.com:99999",
        "https://",
    ],
)
def test_it_rejects_non_origins(origin):
    with pytest.raises(ValidationError):
        origin_normalize(origin)
