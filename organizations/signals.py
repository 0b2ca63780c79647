"""Signals organizations sends so that layers above it can react without being imported.

`application_changed` is sent (with `application=`) after an application's credentials or
state changed: a secret rotated, archived, restored. realtime forgets its process-local
snapshots of it at once (receivers in realtime.applications and realtime.pusher.http_auth),
so that this process never answers from a snapshot older than the change; other
processes' memos expire within a second.
"""

from django.dispatch import Signal

application_changed = Signal()
