"""GET /apps/{app_id}/channels[/{channel}[/users]]: what is occupied, and by whom.

Counts and members come from the presence store (realtime.presence), so they span every
server process and both protocols: a Phoenix socket joined to `presence-room` is one more
subscription and, with its JWT's `sub`, one more user. A channel is occupied while it has
at least one subscription. Topics are one namespace, so Phoenix-style topics
(`room:lobby`) are listed too.
"""

import re

from realtime.applications import AppSnapshot
from realtime.presence import get_presence
from realtime.pusher import http_errors as errors
from realtime.pusher.http_auth import SignedRequest
from realtime.topics import is_cache_topic, topic_is_valid

PRESENCE_PREFIX = "presence-"
LIST_INFO = frozenset({"subscription_count", "user_count"})
SHOW_INFO = frozenset({"subscription_count", "user_count", "cache"})
PREFIX_RE = re.compile(r"[A-Za-z0-9_\-=@,.;:#]{0,200}")


def parse_info(value: object, allowed: frozenset[str]) -> frozenset[str]:
    """`info`, a comma-separated list of attributes, each one of `allowed`."""
    if value is None:
        return frozenset()
    names = frozenset(n.strip() for n in value.split(",")) if isinstance(value, str) else None
    if names is None or not names - {""} <= allowed:
        raise errors.InvalidInfo(f"info is a comma-separated list of {', '.join(sorted(allowed))}.")
    return names - {""}


def _is_presence(channel: str) -> bool:
    # Pusher's presence channels only: a Phoenix "presence:" topic has no Pusher members.
    return channel.startswith(PRESENCE_PREFIX)


async def channel_info(app: AppSnapshot, channels: list[str], info: frozenset[str]) -> dict:
    """{channel: {"subscription_count"?, "user_count"? (presence- only)}} as `info` asks."""
    store = get_presence()
    counts = await store.subscription_counts(app.id) if "subscription_count" in info else {}
    answer = {}
    for channel in channels:
        attributes = {}
        if "subscription_count" in info:
            attributes["subscription_count"] = counts.get(channel, 0)
        if "user_count" in info and _is_presence(channel):
            attributes["user_count"] = len(await store.members(app.id, channel))
        answer[channel] = attributes
    return answer


async def channels_list(request: SignedRequest) -> dict:
    """?filter_by_prefix=&info= → {"channels": {name: {...}}} of the occupied channels.

    user_count needs filter_by_prefix=presence- (Pusher answers 400 otherwise)."""
    prefix = request.params.get("filter_by_prefix", "")
    if PREFIX_RE.fullmatch(prefix) is None:
        raise errors.InvalidField(f"Invalid filter_by_prefix {prefix[:200]!r}.")
    info = parse_info(request.params.get("info"), LIST_INFO)
    if "user_count" in info and not _is_presence(prefix):
        raise errors.InvalidInfo("user_count needs filter_by_prefix=presence-.")
    counts = await get_presence().subscription_counts(request.app.id)
    occupied = sorted(name for name, n in counts.items() if n > 0 and name.startswith(prefix))
    return {"channels": await channel_info(request.app, occupied, info)}


async def channel_show(request: SignedRequest, channel: str) -> dict:
    """?info=subscription_count,user_count,cache → {"occupied", ...}.

    user_count is for presence- channels only and cache for cache channels only (400
    otherwise); "cache" is {"event", "data"} of the channel's last event, left out when
    there is none (a cache channel keeps it for 30 minutes).
    """
    _check_channel(channel)
    info = parse_info(request.params.get("info"), SHOW_INFO)
    if "user_count" in info and not _is_presence(channel):
        raise errors.InvalidInfo("user_count is only available for presence- channels.")
    if "cache" in info and not is_cache_topic(channel):
        raise errors.InvalidInfo("cache is only available for cache channels (cache-…).")
    store, app = get_presence(), request.app
    subscriptions = (await store.subscription_counts(app.id)).get(channel, 0)
    answer: dict = {"occupied": subscriptions > 0}
    if "user_count" in info:
        answer["user_count"] = len(await store.members(app.id, channel))
    if "subscription_count" in info:
        answer["subscription_count"] = subscriptions
    if "cache" in info:
        last = await store.cache_get(app.id, channel)
        if last is not None:
            # An event a Phoenix client or the REST API published has no Pusher data
            # string: its JSON payload stands in, as Pusher sockets receive it.
            data = last["data"] if last.get("data") is not None else last["payload"]
            answer["cache"] = {"event": last["event"], "data": data}
    return answer


async def channel_users(request: SignedRequest, channel: str) -> dict:
    """→ {"users": [{"id": user_id}]}: the members of a presence- channel."""
    _check_channel(channel)
    if not _is_presence(channel):
        raise errors.NotPresenceChannel("Only presence- channels have users.")
    members = await get_presence().members(request.app.id, channel)
    return {"users": [{"id": user_id} for user_id in members]}


def _check_channel(channel: str) -> None:
    if not topic_is_valid(channel):
        raise errors.InvalidChannel(channel)
