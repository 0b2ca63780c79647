"""One open console: a hub subscriber of its application's console topic, read as
server-sent events.

The hub hands it each rows message like any socket's (the frame is rendered once per
process for every console, as `data: {"rows": [...]}`); it queues the frames for the
HTTP response, which yields them as they come. A browser that reads too slowly loses
rows, counted and told in a "sampled" row, instead of holding the hub up. A comment line
every KEEPALIVE_SECONDS keeps proxies from closing a quiet stream.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

from realtime.console import registry
from realtime.console.rows import sampled_row
from realtime.hub import get_hub
from realtime.messages import Event, HubMessage, PresenceChange, json_text
from realtime.topics import CONSOLE_TOPIC

KEEPALIVE_SECONDS = 15.0
QUEUE_FRAMES = 1000
OPENED = "console_opened"  # the first row: the stream is live


def _sse(payload: str) -> str:
    # json_text never writes a raw line break, so the payload is one `data:` line.
    return f"data: {payload}\n\n"


class ConsoleSubscriber:
    """The hub's Subscriber interface (realtime.hub.Subscriber) for one console."""

    wire_format = "console/sse"
    direct = None

    def __init__(self) -> None:
        self.id = f"console.{secrets.token_hex(8)}"
        self.frames: asyncio.Queue[str] = asyncio.Queue(QUEUE_FRAMES)
        self.lost = 0  # frames the browser did not read in time

    def frame_for(self, message: HubMessage) -> str | None:
        if isinstance(message, Event) and isinstance(message.payload, str):
            return _sse(message.payload)
        return None

    def knows(self, change: PresenceChange) -> bool:
        return False

    async def write(self, frame: str | bytes) -> None:
        try:
            self.frames.put_nowait(frame)
        except asyncio.QueueFull:
            self.lost += 1

    async def control(self, action: str, data: dict[str, Any]) -> None:
        """Consoles attach to no application's controls."""


async def console_events(app_id: int) -> AsyncIterator[str]:
    """The event stream of a console of `app_id`, until the client goes away (Django
    cancels the iteration then, and the subscriber leaves the hub)."""
    subscriber = ConsoleSubscriber()
    hub = get_hub()  # whose creation started this process's watch of other processes
    await hub.join(subscriber, app_id, CONSOLE_TOPIC)
    try:
        async with registry.console_open(app_id):
            yield "retry: 2000\n" + _sse(json_text({"rows": [_opened_row()]}))
            while True:
                try:
                    yield await asyncio.wait_for(subscriber.frames.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                if subscriber.lost:
                    lost, subscriber.lost = subscriber.lost, 0
                    yield _sse(json_text({"rows": [sampled_row(lost)]}))
    finally:
        await hub.leave(subscriber, app_id, CONSOLE_TOPIC)


def _opened_row() -> dict[str, Any]:
    return {**sampled_row(0), "kind": OPENED, "dropped": None}
