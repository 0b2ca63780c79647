"""POST /apps/{app_id}/events and /batch_events: trigger events, as Pusher's HTTP API does.

An event goes to every subscriber of each channel on both protocols (realtime.events):
Pusher sockets get `data` verbatim, Phoenix sockets the object it holds or
{"data": "<the string>"}. Everything in a request is validated before anything is sent.
`socket_id` names one connection not to deliver to (the publisher's own socket).
`info` asks for channel attributes after the trigger: subscription_count for every
channel, user_count for presence- channels (it is left out for the others).
"""

import re
from dataclasses import dataclass, replace

from django.conf import settings

from realtime import errors as core_errors
from realtime.events import api_message, event_from_data, event_publish
from realtime.messages import Event
from realtime.presence import get_presence
from realtime.pusher import http_errors as errors
from realtime.pusher.http_auth import SignedRequest
from realtime.pusher.http_channels import channel_info, parse_info
from realtime.topics import topic_is_valid

SOCKET_ID_RE = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}")
ENCRYPTED_PREFIX = "private-encrypted-"
TRIGGER_INFO = frozenset({"subscription_count", "user_count"})


@dataclass(frozen=True, slots=True)
class Trigger:
    events: list[Event]  # one per channel, in the order given
    info: frozenset[str]

    @property
    def channels(self) -> list[str]:
        return [event.topic for event in self.events]


async def trigger(request: SignedRequest) -> dict:
    """{name, data, channel | channels, socket_id?, info?} → {} or {"channels": {...}}."""
    checked = parse_trigger(request.json(), many=True)
    await _publish(request, checked)
    if not checked.info:
        return {}
    return {"channels": await channel_info(request.app, checked.channels, checked.info)}


async def trigger_batch(request: SignedRequest) -> dict:
    """{batch: [{name, data, channel, socket_id?, info?}]} → {} or {"batch": [{...}]}."""
    batch = request.json().get("batch")
    if not isinstance(batch, list):
        raise errors.InvalidField("batch must be a list of events.")
    limit = settings.EXPUSHER_MAX_EVENTS_PER_BATCH
    if len(batch) > limit:
        raise errors.BatchTooLarge(f"A batch holds at most {limit} events.")
    checked = []
    for index, item in enumerate(batch):
        try:
            if not isinstance(item, dict):
                raise errors.InvalidField("an event must be a JSON object.")
            checked.append(parse_trigger(item, many=False))
        except errors.HttpApiError as e:
            e.detail = f"batch[{index}]: {e.detail}"
            raise
    for one in checked:
        await _publish(request, one)
    if not any(one.info for one in checked):
        return {}
    answers = []
    for one in checked:
        info = await channel_info(request.app, one.channels, one.info) if one.info else {}
        answers.append(info.get(one.channels[0], {}))
    return {"batch": answers}


def parse_trigger(item: dict, *, many: bool) -> Trigger:
    """Validate one event; `many`: it may name several channels (`channels`)."""
    name, data = item.get("name"), item.get("data")
    if not isinstance(name, str):
        raise errors.InvalidEvent("name is required and must be a string.")
    if not isinstance(data, str):
        raise errors.InvalidField("data is required and must be a string (JSON-encode objects).")
    channels = _channels(item, many)
    socket_id = item.get("socket_id")
    if socket_id is not None and (
        not isinstance(socket_id, str) or SOCKET_ID_RE.fullmatch(socket_id) is None
    ):
        raise errors.InvalidSocketId()
    info = parse_info(item.get("info"), TRIGGER_INFO)
    try:
        first = event_from_data(channels[0], name, data, exclude=socket_id)
    except core_errors.InvalidTopic:
        raise errors.InvalidChannel(channels[0]) from None
    except core_errors.InvalidEvent as e:
        raise errors.InvalidEvent(f"Invalid event name: {e.detail}.") from None
    except core_errors.PayloadTooLarge as e:
        raise errors.PayloadTooLarge(f"data is too large: {e.detail}.") from None
    events = [first]
    for channel in channels[1:]:
        if not topic_is_valid(channel):
            raise errors.InvalidChannel(channel)
        events.append(replace(first, topic=channel))  # the data was checked once
    return Trigger(events, info)


def _channels(item: dict, many: bool) -> list[str]:
    channels = item.get("channels") if many else None
    if channels is not None:
        if not (
            isinstance(channels, list) and channels and all(isinstance(c, str) for c in channels)
        ):
            raise errors.InvalidField("channels must be a non-empty list of channel names.")
    elif isinstance(item.get("channel"), str):
        channels = [item["channel"]]
    else:
        raise errors.InvalidField(
            "channel (or channels) is required." if many else "channel is required."
        )
    limit = settings.EXPUSHER_MAX_CHANNELS_PER_TRIGGER
    if len(channels) > limit:
        raise errors.TooManyChannels(f"An event goes to at most {limit} channels.")
    channels = list(dict.fromkeys(channels))  # a channel named twice gets the event once
    if len(channels) > 1 and any(c.startswith(ENCRYPTED_PREFIX) for c in channels):
        raise errors.EncryptedMultiChannel()
    return channels


async def _publish(request: SignedRequest, checked: Trigger) -> None:
    await get_presence().check_ready()  # 503 while Redis is away or healing
    for event in checked.events:
        await event_publish(request.app.id, event)
    first = checked.events[0]
    topics = [event.topic for event in checked.events]
    credential = f"app key {request.app.app_key}"  # the Pusher HTTP API signs with it
    api_message(
        request.app.id, topics, first.event, first.data, api="pusher", credential=credential
    )
