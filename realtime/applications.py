"""What the realtime path needs to know about an application, loaded once and cached.

Sockets read this at connect and REST triggers on each call, so it is cached for a few
seconds (EXPUSHER_APP_CACHE_SECONDS): archiving an application or changing its settings
takes effect for new connections and triggers within that time, and the per-message path
never touches the database.
"""

import functools
import time
import weakref
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver

from organizations.local_cache import LocalMemo, seconds_within
from organizations.models import Application
from organizations.secrets import app_secret_decrypt
from organizations.selectors import (
    application_archived_cache_key,
    application_get_by_app_id,
    application_get_by_key,
    application_is_archived,
    application_key_by_pk,
    application_snapshot_cache_key,
)
from organizations.signals import application_changed


@dataclass(frozen=True)
class AppSnapshot:
    id: int
    app_key: str
    app_id: int
    organization_id: int
    organization_slug: str
    allowed_origins: tuple[str, ...]
    anonymous_listen: tuple[str, ...]
    anonymous_publish: tuple[str, ...]
    client_publishing: bool
    max_connections: int
    max_presence_members: int
    client_push_rate: int
    # Encrypted here too (the cache may be a shared Redis); `secret` decrypts it.
    secret_encrypted: str
    # Webhooks (realtime.pusher.webhooks): where to, which events; none when switched off.
    # Defaults, so that a snapshot cached by an older release still loads.
    webhook_urls: tuple[str, ...] = ()
    webhook_events: tuple[str, ...] = ()
    # The secret before the last rotation, which still verifies until this Unix time.
    previous_secret_encrypted: str = ""
    previous_secret_expires: float = 0.0

    @property
    def secret(self) -> str:
        """The Pusher app secret, which signs every Pusher HMAC we make."""
        return _decrypt(self.secret_encrypted)

    def verifying_secrets(self) -> tuple[str, ...]:
        """The secrets a signature we receive may be made with: the current one, and
        during a rotation's grace period the one before it (checked at every use, so it
        stops the moment the period ends, whatever the caches hold)."""
        if self.previous_secret_encrypted and time.time() < self.previous_secret_expires:
            return (self.secret, _decrypt(self.previous_secret_encrypted))
        return (self.secret,)

    @classmethod
    def of(cls, app: Application) -> "AppSnapshot":
        return cls(
            id=app.pk,
            app_key=app.app_key,
            app_id=app.app_id,
            organization_id=app.organization_id,
            organization_slug=app.organization.slug,
            allowed_origins=tuple(app.allowed_origins or ()),
            anonymous_listen=tuple(app.anonymous_listen or ()),
            anonymous_publish=tuple(app.anonymous_publish or ()),
            client_publishing=app.client_publishing,
            max_connections=app.max_connections,
            max_presence_members=app.max_presence_members,
            client_push_rate=app.client_push_rate,
            secret_encrypted=app.secret_encrypted,
            webhook_urls=tuple(app.webhook_urls) if app.webhooks_enabled else (),
            webhook_events=tuple(app.webhook_events or ()),
            previous_secret_encrypted=app.previous_secret_encrypted,
            previous_secret_expires=(
                app.previous_secret_expires.timestamp() if app.previous_secret_expires else 0.0
            ),
        )

    def wants_webhook(self, name: str) -> bool:
        return bool(self.webhook_urls) and name in self.webhook_events


_MISSING = "missing"


# The snapshot of each application that this process's sockets hold. Every socket keeps
# the snapshot it connected with, and the cache returns a fresh copy on every read: equal
# snapshots are handed out as one object (about 1 KiB less per connection), forgotten
# when no socket holds it any more.
_last_snapshots: weakref.WeakValueDictionary[str, AppSnapshot] = weakref.WeakValueDictionary()


def _shared(key: str, snapshot: AppSnapshot) -> AppSnapshot:
    last = _last_snapshots.get(key)
    if last == snapshot:
        return last
    _last_snapshots[key] = snapshot
    return snapshot


def app_snapshot(ident: str) -> AppSnapshot | None:
    """The active application with this key (or numeric app id), or None; both cached."""
    if not isinstance(ident, str) or not 0 < len(ident) <= 32:
        return None
    key = application_snapshot_cache_key(ident)
    cached = cache.get(key)
    if cached == _MISSING:
        return None
    if cached is not None:
        return _shared(key, AppSnapshot(**cached))
    app = application_get_by_key(ident)
    if app is None and ident.isdecimal() and len(ident) <= 18:  # fits a bigint
        app = application_get_by_app_id(int(ident))
    snapshot = AppSnapshot.of(app) if app is not None else None
    cache.set(key, asdict(snapshot) if snapshot else _MISSING, settings.EXPUSHER_APP_CACHE_SECONDS)
    return _shared(key, snapshot) if snapshot else None


def app_snapshot_by_pk(pk: int) -> AppSnapshot | None:
    """app_snapshot for the application with this primary key (notices carry it): the key
    never changes, so pk -> app key is cached for an hour and the snapshot as usual."""
    key = f"app-key-of:{pk}"
    app_key = cache.get(key)
    if app_key is None:
        app_key = application_key_by_pk(pk) or _MISSING
        cache.set(key, app_key, 3600)
    return None if app_key == _MISSING else app_snapshot(app_key)


_snapshots = LocalMemo(lambda: seconds_within(settings.EXPUSHER_APP_CACHE_SECONDS))


async def app_snapshot_async(ident: str) -> AppSnapshot | None:
    """app_snapshot from the event loop: remembered in this process for at most a second,
    so a change reaches it within EXPUSHER_APP_CACHE_SECONDS plus a second; only a miss
    goes to a worker thread."""
    if not isinstance(ident, str) or not 0 < len(ident) <= 32:
        return None
    return await _snapshots.through(ident, app_snapshot, ident)


@receiver(application_changed, dispatch_uid="realtime-forget-application")
def _forget_application(sender, application, **kwargs) -> None:
    """An application's secret or state changed: this process forgets its memo at once
    (organizations.services drops the shared cache's entries)."""
    _snapshots.forget(application.app_key)
    _snapshots.forget(str(application.app_id))


@functools.lru_cache(maxsize=1024)
def _decrypt(secret_encrypted: str) -> str:
    # Keyed by the ciphertext, so a rotated secret is a new entry, never a stale one.
    return app_secret_decrypt(secret_encrypted)


def app_is_archived(ident: str) -> bool:
    """Is `ident` (app key or numeric app id) an archived application? For refusals only:
    Pusher clients are told 4003 "application disabled" rather than 4001."""
    if not isinstance(ident, str) or not 0 < len(ident) <= 32:
        return False
    key = application_archived_cache_key(ident)
    archived = cache.get(key)
    if archived is None:
        archived = application_is_archived(ident)
        cache.set(key, archived, settings.EXPUSHER_APP_CACHE_SECONDS)
    return archived
