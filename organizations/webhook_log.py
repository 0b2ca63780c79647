"""What an application's webhooks did lately: its last deliveries and how many failed.

Written by the webhook sender (realtime.pusher.webhooks) after each POST, read by the
application page. It lives in Django's cache (Redis, shared by every process, when
REDIS_URL is set), not in the database: it is a recent history for people to look at,
and two processes appending at the same instant may lose one entry of it. The counts are
atomic increments.
"""

from django.core.cache import cache

KEEP = 20  # deliveries kept per application
KEEP_SECONDS = 7 * 24 * 3600
COUNTS = ("sent", "failed", "dropped")


def _key(app_pk: int) -> str:
    return f"webhooks:deliveries:{app_pk}"


def _count_key(app_pk: int, name: str) -> str:
    return f"webhooks:{name}:{app_pk}"


def webhook_delivery_record(app_pk: int, delivery: dict, *, counted: str) -> None:
    """Keep `delivery` (at, url, events, status, attempts, error) first in the list and
    add one to the `counted` count (sent, failed: an attempt that failed, dropped: a batch
    given up after its last attempt)."""
    deliveries = [delivery, *(cache.get(_key(app_pk)) or [])][:KEEP]
    cache.set(_key(app_pk), deliveries, KEEP_SECONDS)
    key = _count_key(app_pk, counted)
    cache.add(key, 0, KEEP_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, KEEP_SECONDS)


def webhook_deliveries_recent(app_pk: int) -> list[dict]:
    return cache.get(_key(app_pk)) or []


def webhook_delivery_counts(app_pk: int) -> dict[str, int]:
    values = cache.get_many([_count_key(app_pk, name) for name in COUNTS])
    return {name: int(values.get(_count_key(app_pk, name)) or 0) for name in COUNTS}
