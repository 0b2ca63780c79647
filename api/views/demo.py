"""Pages outside /api/: the chat demo (/demo/) and the PusherLite bundle (/js/pusher.js)."""

import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from api.services import demo_session
from organizations.models import Application
from organizations.selectors import organization_get

# Created by `manage.py seed_demo`.
DEMO_ORGANIZATION_SLUG = "demo"
DEMO_APPLICATION_NAME = "Demo Chat"

BUNDLE_PATH = Path(settings.BASE_DIR) / "static" / "expusher" / "pusher.js"
_bundle_cache: dict[Path, tuple[bytes, str]] = {}


def _demo_application() -> Application | None:
    organization = organization_get(ident=DEMO_ORGANIZATION_SLUG)
    if organization is None:
        return None
    return organization.applications.filter(name=DEMO_APPLICATION_NAME, archived=False).first()


@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    """The chat demo: every visitor gets a fresh JWT for the demo application."""
    application = _demo_application()
    if application is None:
        return render(request, "demo/chat.html", {"application": None}, status=404)
    user_id = f"visitor-{secrets.token_hex(4)}"
    jwt, expires_at = demo_session(application=application, user_id=user_id)
    config = {
        "appKey": application.app_key,
        "jwt": jwt,
        "uniqueUserId": user_id,
        "triggerUrl": reverse(
            "api-event-trigger",
            kwargs={
                "org": application.organization.slug,
                "app": application.app_key,
                "event": "new_message",
            },
        ),
    }
    context = {"application": application, "config": config, "expires_at": expires_at}
    response = render(request, "demo/chat.html", context)
    # The page embeds a personal JWT: never let a shared cache keep it.
    response["Cache-Control"] = "no-store"
    return response


def _bundle() -> tuple[bytes, str]:
    """The built bundle and its ETag, read once per process; Http404 until it is built."""
    if BUNDLE_PATH not in _bundle_cache:
        try:
            content = BUNDLE_PATH.read_bytes()
        except FileNotFoundError:
            raise Http404("pusher.js is not built: run `npm run build`") from None
        _bundle_cache[BUNDLE_PATH] = (content, f'"{hashlib.sha256(content).hexdigest()[:32]}"')
    return _bundle_cache[BUNDLE_PATH]


@require_GET
def pusher_js(request: HttpRequest) -> HttpResponse:
    """/js/pusher.js, the PusherLite client (static/expusher/pusher.js, built by esbuild)."""
    content, etag = _bundle()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    return response
