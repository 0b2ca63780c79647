"""The answers of the REST trigger fast path, header for header as Django's stack gives them.

A trigger view's answer is DRF's (Content-Type, Vary: Accept, Allow, and WWW-Authenticate
on a 401), then passes back through the middleware: X-Frame-Options, Content-Length,
django-cors-headers (Vary: origin, and Access-Control-* for an allowed origin) and
SecurityMiddleware. A CORS preflight is answered by django-cors-headers itself, so only
SecurityMiddleware adds to it. The middleware's own headers are computed by those
middleware classes (once per setting values), the CORS ones with django-cors-headers'
settings and the same per-application decision (api.cors), errors by the API's one
exception handler (api.exceptions), and 4xx/5xx answers are logged as Django logs them.
"""

from http.client import responses
from types import SimpleNamespace
from urllib.parse import urlsplit

from corsheaders.conf import conf as cors_conf
from corsheaders.middleware import CorsMiddleware
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.log import log_response
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.renderers import JSONRenderer

from api.cors import trigger_origin_allowed
from api.exceptions import exception_handler
from api.views.events import EventTriggerApi
from expusher import csp
from organizations.settings_answers import settings_answer
from realtime.applications import app_snapshot_async

Headers = list[tuple[bytes, bytes]]
_renderer = JSONRenderer()


def render(data) -> bytes:
    return _renderer.render(data)


def error_answer(exc: Exception) -> tuple[int, bytes, list[tuple[str, str]]]:
    """(status, body, the view's extra headers) for an exception, as the views answer it."""
    if isinstance(exc, NotAuthenticated | AuthenticationFailed):
        # APIView.handle_exception: the first authenticator's header makes it a 401.
        exc.auth_header = EventTriggerApi.authentication_classes[0]().authenticate_header(None)
    response = exception_handler(exc, {})
    copied = ("WWW-Authenticate", "Retry-After")
    extra = [(name, response[name]) for name in copied if name in response]
    return response.status_code, render(response.data), extra


async def cors_allows(app_ident: str, headers: dict[str, str]) -> bool:
    """Would django-cors-headers send the Access-Control-* headers? (Decided before the
    view runs: should it raise, the request goes to Django whole.)"""
    origin = headers.get("origin")
    if not origin:
        return False
    try:
        url = urlsplit(origin)
    except ValueError:
        return False
    if cors_conf.CORS_ALLOW_ALL_ORIGINS or _cors().origin_found_in_white_lists(origin, url):
        return True
    return trigger_origin_allowed(await app_snapshot_async(app_ident), origin)


def view_headers(
    status: int, body: bytes, extra: list[tuple[str, str]], secure: bool, origin: str | None
) -> Headers:
    before, after = _view_head(secure)
    if extra:
        before = [before[0], *_encoded(extra), *before[1:]]
    head = [*before, (b"Content-Length", str(len(body)).encode())]
    if origin is not None:
        head += _encoded(_cors_headers("POST", origin))
    return head + after


# What depends on settings only (_view_head, _middleware_headers, _private_network_allowed)
# is worked out once, and forgotten when a setting changes (tests).


@settings_answer
def _view_head(secure: bool) -> tuple[Headers, Headers]:
    """Every view answer's headers (settings decide them): those before Content-Length, the
    view's extra ones left out (they follow Content-Type), and those after it, CORS's left
    out (they come first)."""
    before = [("Content-Type", "application/json"), ("Vary", _vary("origin"))]
    before += [("Allow", _allow()), *_middleware_headers(secure, framed=True)]
    return _encoded(before), _encoded(_middleware_headers(secure, framed=False))


def _encoded(head: list[tuple[str, str]]) -> Headers:
    return [(name.encode("latin1"), value.encode("latin1")) for name, value in head]


def preflight_headers(secure: bool, origin: str | None) -> Headers:
    head = [("content-length", "0"), ("Content-Type", "text/html; charset=utf-8")]
    head.append(("Vary", "origin"))
    # django-cors-headers answers a preflight as an empty HTML page: it gets the policy.
    head.append(("Content-Security-Policy", csp.POLICY))
    head += _cors_headers("OPTIONS", origin)
    head += _middleware_headers(secure, framed=False)
    return _encoded(head)


def log_refusal(status: int, path: str) -> None:
    """What Django's handler logs for an answer of 400 and above."""
    if status >= 400:
        reason = responses.get(status, "Unknown Status Code")
        log_response("%s: %s", reason, path, response=SimpleNamespace(status_code=status))


def _vary(added: str) -> str:
    # DRF varies on Accept when a view has several renderers; cors-headers adds `origin`.
    renders = len(EventTriggerApi.renderer_classes) > 1
    return f"Accept, {added}" if renders else added


_allowed_methods: str | None = None


def _allow() -> str:
    global _allowed_methods
    if _allowed_methods is None:
        _allowed_methods = ", ".join(EventTriggerApi().allowed_methods)
    return _allowed_methods


def _cors_headers(method: str, origin: str | None) -> list[tuple[str, str]]:
    """What CorsMiddleware.add_response_headers adds once the origin is allowed
    (`origin` is None when it is not)."""
    if origin is None:
        return []
    conf = cors_conf
    head = []
    if conf.CORS_ALLOW_ALL_ORIGINS and not conf.CORS_ALLOW_CREDENTIALS:
        head.append(("access-control-allow-origin", "*"))
    else:
        head.append(("access-control-allow-origin", origin))
    if conf.CORS_ALLOW_CREDENTIALS:
        head.append(("access-control-allow-credentials", "true"))
    if len(conf.CORS_EXPOSE_HEADERS):
        head.append(("access-control-expose-headers", ", ".join(conf.CORS_EXPOSE_HEADERS)))
    if method == "OPTIONS":
        head.append(("access-control-allow-headers", ", ".join(conf.CORS_ALLOW_HEADERS)))
        head.append(("access-control-allow-methods", ", ".join(conf.CORS_ALLOW_METHODS)))
        if conf.CORS_PREFLIGHT_MAX_AGE:
            head.append(("access-control-max-age", str(conf.CORS_PREFLIGHT_MAX_AGE)))
    # Access-Control-Allow-Private-Network needs a request header: see private_network_asked.
    return head


_cors_middleware: CorsMiddleware | None = None


def _cors() -> CorsMiddleware:
    global _cors_middleware
    if _cors_middleware is None:
        _cors_middleware = CorsMiddleware(lambda request: None)
    return _cors_middleware


def private_network_asked(headers: dict[str, str]) -> bool:
    """cors-headers answers this request header only with CORS_ALLOW_PRIVATE_NETWORK on;
    such requests go to Django."""
    return (
        _private_network_allowed()
        and headers.get("access-control-request-private-network") == "true"
    )


@settings_answer
def _private_network_allowed() -> bool:
    return bool(cors_conf.CORS_ALLOW_PRIVATE_NETWORK)


@settings_answer
def _middleware_headers(secure: bool, *, framed: bool) -> list[tuple[str, str]]:
    """The headers XFrameOptionsMiddleware (framed=True) or SecurityMiddleware adds to a
    response, computed by the middleware themselves for the current settings."""
    response = HttpResponse()
    before = set(response.headers)
    request = SimpleNamespace(is_secure=lambda: secure)
    middleware = XFrameOptionsMiddleware if framed else SecurityMiddleware
    middleware(lambda request: response).process_response(request, response)
    return [(name, value) for name, value in response.items() if name not in before]
