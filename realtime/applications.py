"""What the realtime path needs to know about an application, loaded once and cached.

Sockets read this at connect and REST triggers on each call, so it is cached for a few
seconds (EXPUSHER_APP_CACHE_SECONDS): archiving an application or changing its settings
takes effect for new connections and triggers within that time, and the per-message path
never touches the database.
"""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache

from organizations.models import Application
from organizations.selectors import application_get_by_app_id, application_get_by_key


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
        )


_MISSING = "missing"


def app_snapshot(ident: str) -> AppSnapshot | None:
    """The active application with this key (or numeric app id), or None; both cached."""
    if not isinstance(ident, str) or not 0 < len(ident) <= 32:
        return None
    key = f"app-snapshot:{ident}"
    cached = cache.get(key)
    if cached == _MISSING:
        return None
    if cached is not None:
        return AppSnapshot(**cached)
    app = application_get_by_key(ident)
    if app is None and ident.isdecimal():
        app = application_get_by_app_id(int(ident))
    snapshot = AppSnapshot.of(app) if app is not None else None
    cache.set(key, asdict(snapshot) if snapshot else _MISSING, settings.EXPUSHER_APP_CACHE_SECONDS)
    return snapshot
