"""Topic names, topic patterns and the channel-layer group a topic maps to.

A pattern is an exact topic, a prefix ending in "*", or "*" alone. Matching is a string
comparison: no regular expression built from user input is ever compiled.
"""

import hashlib
import re
from collections.abc import Iterable

MAX_TOPIC_LENGTH = 200
TOPIC_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:]{1,200}")
# A pattern is a topic, optionally followed by one "*", or "*" alone.
PATTERN_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:]{0,200}\*?")
PRESENCE_PREFIXES = ("presence:", "presence-")
RESERVED_EVENT_PREFIXES = ("phx_", "presence_")


def event_is_valid(event: object) -> bool:
    """Event names use the topic alphabet; `phx_*` and `presence_*` belong to the protocol."""
    return (
        isinstance(event, str)
        and TOPIC_RE.fullmatch(event) is not None
        and not event.startswith(RESERVED_EVENT_PREFIXES)
    )


def topic_is_valid(topic: object) -> bool:
    return isinstance(topic, str) and TOPIC_RE.fullmatch(topic) is not None


def pattern_is_valid(pattern: object) -> bool:
    return (
        isinstance(pattern, str)
        and 0 < len(pattern) <= MAX_TOPIC_LENGTH + 1
        and PATTERN_RE.fullmatch(pattern) is not None
    )


def pattern_matches(pattern: str, topic: str) -> bool:
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic


def topic_allowed(patterns: Iterable[str], topic: str) -> bool:
    """True if any pattern matches the topic."""
    return any(pattern_matches(p, topic) for p in patterns)


def is_presence_topic(topic: str) -> bool:
    return topic.startswith(PRESENCE_PREFIXES)


def group_name(app_id: int, topic: str) -> str:
    """The channel-layer group of a topic of an application.

    Layer group names allow only [A-Za-z0-9-_.] and fewer than 100 characters, while
    topics contain ':' and may be 200 long, so the topic is hashed. The application id
    is part of the name: equal topics of two applications never share a group.
    """
    digest = hashlib.sha256(topic.encode()).hexdigest()[:40]
    return f"t.{app_id}.{digest}"
