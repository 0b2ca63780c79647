"""Pusher webhooks: signed POSTs with retry, fed by core notifications.

What the core tells (realtime.notifications) becomes Pusher's webhook events: a topic
occupied or vacated (decided once across processes by realtime.occupancy), a member's
first connection in or last one out (decided once by realtime.presence), a client event,
a cache miss and, if the application asks for it, a subscription count. They describe
topics, not protocols: a Phoenix join occupies a topic as a pusher-js subscribe does.

Nothing here is on a socket's path: the listener only appends to this process's inbox,
and a task moves the events an application wants (its snapshot says which, and where to)
to the queue (realtime.pusher.webhook_queue). A worker in every process takes batches
from it and POSTs them (realtime.pusher.webhook_delivery), retrying a failed URL with
exponential backoff for EXPUSHER_WEBHOOK_RETRY_SECONDS, then dropping the batch with a log
line. Each POST's outcome is told (WEBHOOK_SENT / WEBHOOK_FAILED) and kept for the
application page (organizations.webhook_log).
"""

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.dispatch import receiver

from organizations.local_cache import LocalMemo, seconds_within
from organizations.signals import application_changed
from organizations.webhook_log import webhook_delivery_record
from realtime import notifications
from realtime.applications import AppSnapshot, app_snapshot_by_pk
from realtime.presence import get_presence
from realtime.pusher import webhook_delivery
from realtime.pusher.webhook_events import EVENTS, TEST_EVENTS, coalesced
from realtime.pusher.webhook_queue import Batch, MemoryWebhookQueue, RedisWebhookQueue

logger = logging.getLogger(__name__)

TICK = 0.1  # seconds between two looks at the queue
MAX_INBOX = 100_000  # events waiting to be queued in this process, at most
MAX_BACKOFF = 60.0


class Sender:
    """This process's inbox, queue and worker (one per event loop)."""

    def __init__(self, queue: MemoryWebhookQueue | RedisWebhookQueue) -> None:
        self.queue = queue
        self.inbox: list[tuple[int, dict]] = []
        self.inbox_full_since: float | None = None
        self.wake = asyncio.Event()
        self.client = webhook_delivery.new_client()
        self.tasks = [asyncio.ensure_future(self.pump()), asyncio.ensure_future(self.work())]
        self.sending: set[asyncio.Task] = set()

    async def pump(self) -> None:
        """Move the inbox, in order, to the queue: the events each application wants."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.inbox:
                taken, self.inbox = self.inbox, []
                by_app: dict[int, list[dict]] = {}
                for app, event in taken:
                    by_app.setdefault(app, []).append(event)
                for app, events in by_app.items():
                    await self.queue_wanted(app, events)

    async def queue_wanted(self, app: int, events: list[dict]) -> None:
        try:
            snapshot = await snapshot_of(app)
            if snapshot is not None:
                wanted = [e for e in events if snapshot.wants_webhook(e["name"])]
                if wanted:
                    await self.queue.push(app, wanted)
        except Exception as e:
            logger.warning("%d webhook events of app %s lost: %r", len(events), app, e)

    async def work(self) -> None:
        while True:
            try:
                for batch in await self.queue.take():
                    task = asyncio.ensure_future(self.send(batch))
                    self.sending.add(task)
                    task.add_done_callback(self.sending.discard)
            except Exception as e:
                logger.warning("cannot take webhook batches (trying again): %r", e)
                await asyncio.sleep(1)
            await asyncio.sleep(TICK)

    async def send(self, batch: Batch) -> None:
        try:
            snapshot = await snapshot_of(batch.app)
            urls = snapshot.webhook_urls if snapshot is not None else ()
            if batch.urls is not None:  # a retry: the URLs that failed and are still wanted
                urls = [url for url in batch.urls if url in urls]
            if not urls:
                await self.queue.done(batch)  # the application is gone, or stopped webhooks
                return
            events = coalesced(batch.events)
            outcomes = await deliver(self.client, snapshot, list(urls), events, batch.attempts + 1)
            failed = [outcome.url for outcome in outcomes if not outcome.ok]
            await self.after(batch, failed)
        except Exception:
            logger.exception("webhook batch %s of app %s: sending failed", batch.id, batch.app)

    async def after(self, batch: Batch, failed: list[str]) -> None:
        attempts = batch.attempts + 1
        backoff = min(2.0 ** (attempts - 1), MAX_BACKOFF)
        at = time.time() + backoff
        if not failed:
            await self.queue.done(batch)
        elif at > batch.since + settings.EXPUSHER_WEBHOOK_RETRY_SECONDS:
            logger.warning(
                "webhook batch %s of app %s (%d events) dropped after %d attempts to %s",
                batch.id,
                batch.app,
                len(batch.events),
                attempts,
                # Host names only: a URL's path or query may hold the customer's token.
                ", ".join(urlsplit(url).hostname or "?" for url in failed),
            )
            await self.queue.done(batch)
            why = f"dropped after {attempts} attempts"
            for url in failed:
                await _record(batch.app, url, batch.events, None, attempts, "dropped", why)
        else:
            again = Batch(batch.id, batch.app, batch.events, batch.since, attempts, failed)
            await self.queue.retry(batch, again, at)


async def deliver(
    client, snapshot: AppSnapshot, urls: list[str], events: list[dict], attempts: int = 1
) -> list[webhook_delivery.Outcome]:
    """POST `events` to each URL at once (attempt number `attempts`); tell and record
    each outcome."""
    body = webhook_delivery.body_of(events)
    headers = webhook_delivery.headers_for(snapshot.app_key, snapshot.secret, body)
    outcomes = await asyncio.gather(
        *(webhook_delivery.post(client, url, body, headers) for url in urls)
    )
    names = [event["name"] for event in events]
    for outcome in outcomes:
        kind = notifications.WEBHOOK_SENT if outcome.ok else notifications.WEBHOOK_FAILED
        fields = {"url": outcome.url, "events": names, "status": outcome.status}
        if not outcome.ok:
            fields["error"] = outcome.error
        notifications.notify(snapshot.id, kind, attempts=attempts, **fields)
        counted = "sent" if outcome.ok else "failed"
        await _record(
            snapshot.id, outcome.url, events, outcome.status, attempts, counted, outcome.error
        )
    return outcomes


async def _record(app, url, events, status, attempts, counted, error=None) -> None:
    delivery = {
        "at": time.time(),
        "url": url,
        "events": [event["name"] for event in events],
        "status": status,
        "attempts": attempts,
        "error": error,
    }
    try:
        await sync_to_async(webhook_delivery_record)(app, delivery, counted=counted)
    except Exception as e:
        logger.warning("cannot record a webhook delivery of app %s: %r", app, e)


_snapshots = LocalMemo(lambda: seconds_within(settings.EXPUSHER_APP_CACHE_SECONDS))


@receiver(application_changed, dispatch_uid="webhooks-forget-application")
def _forget_application(sender, application, **kwargs) -> None:
    """A secret rotated or the application archived: sign and send as it is now."""
    _snapshots.forget(("pk", application.pk))


async def snapshot_of(app: int) -> AppSnapshot | None:
    return await _snapshots.through(("pk", app), app_snapshot_by_pk, app)


_senders: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Sender]" = (
    weakref.WeakKeyDictionary()
)


def sender() -> Sender:
    """This event loop's sender, started on first use."""
    loop = asyncio.get_running_loop()
    found = _senders.get(loop)
    if found is None:
        store = get_presence()
        queue = (
            RedisWebhookQueue(store.redis, settings.EXPUSHER_REDIS_PREFIX)
            if settings.REDIS_URL
            else MemoryWebhookQueue()
        )
        found = _senders[loop] = Sender(queue)
    return found


def hear(notice: notifications.Notice) -> None:
    """The listener: O(1), no I/O; a notice no webhook stands for costs a few tests."""
    webhook = EVENTS.get(notice.kind)
    if webhook is None:
        if notice.kind == notifications.CONNECTION_OPENED:
            sender()  # with Redis, every serving process helps with the queue
        return
    name, make = webhook
    known = _snapshots.get(("pk", notice.app_id))
    if isinstance(known, AppSnapshot) and not known.wants_webhook(name):
        return
    event = make(notice.fields)
    if event is None:
        return
    found = sender()
    if len(found.inbox) >= MAX_INBOX:  # the queue is unreachable and events pile up
        if found.inbox_full_since is None:
            found.inbox_full_since = time.monotonic()
            logger.warning("webhook inbox full: events are dropped until it drains")
        return
    found.inbox_full_since = None
    found.inbox.append((notice.app_id, event))
    found.wake.set()


def install() -> Callable[[], None]:
    """Send webhooks from this process on (called at start-up); returns the stop."""
    return notifications.listen(hear)


async def shutdown() -> None:
    """Stop this event loop's sender (for tests: a server's ends with its process)."""
    found = _senders.pop(asyncio.get_running_loop(), None)
    if found is not None:
        tasks = [*found.tasks, *found.sending]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await found.client.aclose()


async def send_test(snapshot: AppSnapshot) -> list[webhook_delivery.Outcome]:
    """POST the test events to each of the snapshot's URLs now, once (no queue, no retry)."""
    async with webhook_delivery.new_client() as client:
        return await deliver(client, snapshot, list(snapshot.webhook_urls), TEST_EVENTS)
