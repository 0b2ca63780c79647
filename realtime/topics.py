"""Topic names, topic patterns and the channel-layer group a topic maps to.

A pattern is an exact topic, a prefix ending in "*", or "*" alone. Matching is a string
comparison: no regular expression built from user input is ever compiled.
"""

import functools
import hashlib
import re
from collections.abc import Iterable

MAX_TOPIC_LENGTH = 200
TOPIC_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:]{1,200}")
# A pattern is a topic, optionally followed by one "*", or "*" alone.
PATTERN_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:]{0,200}\*?")
# Events use the topic alphabet plus "\\", which Laravel's event names hold
# (App\\Events\\OrderShipped).
EVENT_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:\\]{1,200}")
PRESENCE_PREFIXES = ("presence:", "presence-")
# Pusher's cache channels remember their last event (cache-, private-cache-, ...).
CACHE_PREFIXES = ("cache-", "private-cache-", "private-encrypted-cache-", "presence-cache-")
# The protocols' own events: a publisher may not impersonate them.
RESERVED_EVENT_PREFIXES = ("phx_", "presence_", "pusher:", "pusher_internal:")
# Pusher's per-user channel: only its signed-in user subscribes, anyone may publish.
USER_TOPIC_PREFIX = "#server-to-user-"
# Each application's debug console log (realtime.console) travels through the hub on this
# topic. "#" is outside the topic alphabet, so no join, subscribe or trigger of either
# protocol or API can name it (topic_is_valid refuses it everywhere).
CONSOLE_TOPIC = "#console"


def event_is_valid(event: object) -> bool:
    """Event names are 1-200 characters; the protocols' own prefixes are reserved."""
    return (
        isinstance(event, str)
        and EVENT_RE.fullmatch(event) is not None
        and not event.startswith(RESERVED_EVENT_PREFIXES)
    )


def topic_is_valid(topic: object) -> bool:
    if not isinstance(topic, str):
        return False
    if topic.startswith(USER_TOPIC_PREFIX):
        return TOPIC_RE.fullmatch(topic[len(USER_TOPIC_PREFIX) :]) is not None and len(topic) <= 200
    return TOPIC_RE.fullmatch(topic) is not None


def user_topic(user_id: str) -> str:
    return USER_TOPIC_PREFIX + user_id


def is_cache_topic(topic: str) -> bool:
    return topic.startswith(CACHE_PREFIXES)


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


@functools.lru_cache(maxsize=4096)  # every publish asks, and busy topics are few
def group_name(app_id: int, topic: str) -> str:
    """The channel-layer group of a topic of an application.

    Layer group names allow only [A-Za-z0-9-_.] and fewer than 100 characters, while
    topics contain ':' and may be 200 long, so the topic is hashed. The application id
    is part of the name: equal topics of two applications never share a group.
    """
    digest = hashlib.sha256(topic.encode()).hexdigest()[:40]
    return f"t.{app_id}.{digest}"
