"""Pusher's channel kinds, told by the name's prefix, and who may subscribe to each.

Pusher sockets follow Pusher's rules: public channels are open to anyone holding the app
key; `private-` (including `private-encrypted-`) and `presence-` channels need a signature
from the customer's backend; `#server-to-user-{id}` is for the signed-in user `id` only.
Names use Pusher's alphabet, without ":", so that a Pusher socket never reaches a Phoenix
topic such as `private:user-42`, which the JWT claims govern.
"""

import re
from dataclasses import dataclass

from realtime.topics import USER_TOPIC_PREFIX, is_cache_topic

CHANNEL_RE = re.compile(r"[-a-zA-Z0-9_=@,.;]{1,200}")


@dataclass(frozen=True, slots=True)
class ChannelKind:
    signed: bool  # needs `auth` from the customer's backend
    presence: bool
    encrypted: bool  # the server relays ciphertext it cannot read
    cache: bool  # remembers its last event
    user: bool  # `#server-to-user-{id}`


def channel_kind(name: str) -> ChannelKind:
    presence = name.startswith("presence-")
    private = name.startswith("private-")
    return ChannelKind(
        signed=presence or private,
        presence=presence,
        encrypted=name.startswith("private-encrypted-"),
        cache=is_cache_topic(name),
        user=name.startswith(USER_TOPIC_PREFIX),
    )


def channel_name_valid(name: object) -> bool:
    if not isinstance(name, str) or len(name) > 200:
        return False
    if name.startswith(USER_TOPIC_PREFIX):
        return CHANNEL_RE.fullmatch(name[len(USER_TOPIC_PREFIX) :]) is not None
    return CHANNEL_RE.fullmatch(name) is not None


def client_events_allowed(kind: ChannelKind) -> bool:
    """Client events go over private and presence channels only, as on Pusher."""
    return kind.signed
