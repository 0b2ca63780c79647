"""Which REST trigger requests the async path (api.fast_triggers) answers itself.

Only those it answers exactly as Django and DRF would; everything else goes to Django
whole. Decided from the request head alone, so the front door (expusher.front_door) can
give such a request back to daphne before reading its body. Handed to Django:

* other methods than POST, and an OPTIONS that is no CORS preflight (DRF authenticates
  those first, then answers 405 or its metadata);
* a plain-HTTP request when SECURE_SSL_REDIRECT is on (Django redirects it), a root path
  (daphne --root-path), a Host header Django refuses (400), and, except for preflights
  (django-cors-headers answers them before the session and CSRF middleware run), any
  request with cookies: those middleware may answer a malformed session or CSRF cookie
  with a Set-Cookie;
* a query string that is not UTF-8, that holds more fields than
  DATA_UPLOAD_MAX_NUMBER_FIELDS, or that has `format=` (DRF's renderer override);
* an Accept header for which DRF would not pick its plain JSON renderer (the browsable
  API for text/html, `indent=`, or 406);
* a body that is neither JSON nor form-encoded: multipart (uploads), or a type DRF
  answers 415; and a Content-Type over 256 characters;
* a middleware list or setting this path was not written for (below), so that a new
  middleware is never silently skipped by the triggers.

What DRF would read of the body follows Django's ASGIRequest: headers whose name holds an
underscore are ignored, repeated ones are joined with ",", and a missing or malformed
Content-Length means an empty body whatever arrives (as with a chunked one).
"""

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from corsheaders.conf import conf as cors_conf
from django.conf import settings
from django.http import QueryDict
from django.http.request import split_domain_port, validate_host
from django.utils.http import parse_header_parameters
from rest_framework.parsers import FormParser
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from api.parsers import JSONParser
from api.views.events import EventTriggerApi
from organizations.settings_answers import settings_answer

TRIGGER_ROUTE = re.compile(
    r"/api/organizations/(?P<org>[^/]+)/applications/(?P<app>[^/]+)/(?:event/(?P<event>[^/]+)|events)"
)
# The middleware this path reproduces (api.fast_responses adds what they add).
KNOWN_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "expusher.csp.ContentSecurityPolicyMiddleware",  # HTML only: the triggers answer JSON
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
MAX_CONTENT_TYPE_LENGTH = 256  # DRF refuses longer ones (415)
MEMO_ENTRIES = 256
EVENT, BATCH, PREFLIGHT = "event", "batch", "preflight"
UNREADABLE = "unreadable"  # a SECURE_PROXY_SSL_HEADER this path cannot read (not HTTP_*)


@dataclass(slots=True)
class Admitted:
    """A request this path answers, with what the views would read of its head."""

    kind: str  # EVENT, BATCH or PREFLIGHT
    org: str
    app: str
    event: str | None
    headers: dict[str, str]  # lower-case name -> value, as Django's META holds them
    secure: bool
    query: QueryDict | None = None  # request.query_params (not read for a preflight)
    content_length: int = 0  # 0: DRF reads no body at all
    body_kind: str | None = None  # "json" or "form" (with a body), else None
    encoding: str = "utf-8"  # what DRF decodes the body with


def serves(path: str) -> bool:
    """Is this path one of the trigger endpoints (else it is Django's)?"""
    return path.startswith("/api/organizations/") and TRIGGER_ROUTE.fullmatch(path) is not None


def admit(scope) -> Admitted | None:
    """The request, if this path answers it; None: Django does."""
    match = TRIGGER_ROUTE.fullmatch(scope["path"])
    method = scope["method"]
    if match is None or method not in ("POST", "OPTIONS") or scope.get("root_path"):
        return None
    if not _configuration_known() or not scope.get("raw_path", b"").isascii():
        return None
    if not _cors_url_matcher()(scope["path"]):
        return None  # django-cors-headers would not treat it as a trigger: neither do we
    headers = _headers(scope)
    secure = _secure(scope, headers)
    if secure is None or (_ssl_redirect() and not secure):
        return None
    org, app, event = match["org"], match["app"], match["event"]
    if method == "OPTIONS":
        if "access-control-request-method" not in headers:
            return None
        return Admitted(PREFLIGHT, org, app, event, headers, secure)
    if "cookie" in headers or not _host_allowed(headers.get("host")):
        return None
    query = _query(scope.get("query_string", b""))
    if query is None or not _renders_json(headers.get("accept")):
        return None
    admitted = Admitted(EVENT if event is not None else BATCH, org, app, event, headers, secure)
    admitted.query = query
    admitted.content_length = _content_length(headers)
    content_type = headers.get("content-type", "")
    if len(content_type) > MAX_CONTENT_TYPE_LENGTH or admitted.content_length > body_limit():
        return None
    if admitted.content_length:
        admitted.body_kind, admitted.encoding = _body_kind(content_type)
        if admitted.body_kind is None:
            return None
    return admitted


# The answers below depend on settings only: every request asks, so they are worked out
# once and forgotten when a setting changes (tests).


@settings_answer
def body_limit() -> int:
    """The largest body this path reads (larger ones are Django's): a full batch at the
    payload limit fits even with every byte JSON-escaped, and never more than Django
    itself reads into memory (DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    batch = 6 * settings.EXPUSHER_MAX_EVENTS_PER_BATCH * settings.EXPUSHER_MAX_PAYLOAD_BYTES
    limit = max(settings.EXPUSHER_MAX_MESSAGE_BYTES, batch + 64 * 1024)
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit if django_limit is None else min(limit, django_limit)


@settings_answer
def _configuration_known() -> bool:
    return (
        tuple(settings.MIDDLEWARE) == KNOWN_MIDDLEWARE
        and not settings.DISALLOWED_USER_AGENTS
        and not settings.PREPEND_WWW
        and not settings.USE_X_FORWARDED_HOST
        and settings.FORCE_SCRIPT_NAME is None
    )


@settings_answer
def _ssl_redirect() -> bool:
    return bool(settings.SECURE_SSL_REDIRECT)


@settings_answer
def _cors_url_matcher() -> Callable[[str], re.Match | None]:
    """re.match with django-cors-headers' CORS_URLS_REGEX (a string or a compiled one)."""
    return re.compile(cors_conf.CORS_URLS_REGEX).match


@settings_answer
def _proxy_ssl_header() -> tuple[str, str] | str | None:
    """SECURE_PROXY_SSL_HEADER as (header name as in `headers`, the value meaning https);
    None without one, UNREADABLE when it names no HTTP header."""
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if not proxy_header:
        return None
    meta_name, secure_value = proxy_header
    if not meta_name.startswith("HTTP_"):
        return UNREADABLE
    return meta_name[5:].lower().replace("_", "-"), secure_value


@settings_answer
def _empty_query() -> QueryDict:
    # Immutable, so one can serve every request without a query string.
    return QueryDict()


def _headers(scope) -> dict[str, str]:
    raw = scope.get("headers", ())
    headers = {name.decode("latin1"): value.decode("latin1") for name, value in raw}
    if len(headers) < len(raw) or "_" in "".join(headers):
        return _headers_as_django(raw)  # a repeated header, or one Django drops
    return headers


def _headers_as_django(raw) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin1")
        if "_" in name:
            continue  # Django drops these: with "-" they would be ambiguous in META
        value = raw_value.decode("latin1")
        headers[name] = headers[name] + "," + value if name in headers else value
    return headers


def _secure(scope, headers: dict[str, str]) -> bool | None:
    """request.is_secure(); None when this path cannot tell the way Django does."""
    proxy_header = _proxy_ssl_header()
    if proxy_header == UNREADABLE:
        return None
    if proxy_header is not None:
        name, secure_value = proxy_header
        value = headers.get(name)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return (scope.get("scheme") or "http") == "https"


@settings_answer(maxsize=1024)  # bounded: the Host header is the client's to choose
def _host_allowed(host: str | None) -> bool:
    """request.get_host() would not raise DisallowedHost (CommonMiddleware calls it)."""
    if host is None:
        return False  # Django would fall back to the server's name: leave that to it
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _query(query_string: bytes) -> QueryDict | None:
    """request.query_params, unless Django or DRF would do something else with it."""
    if not query_string:
        return _empty_query()
    try:
        query = QueryDict(query_string.decode())
    except Exception:  # not UTF-8, or too many fields (Django raises while parsing)
        return None
    override = api_settings.URL_FORMAT_OVERRIDE
    if override and query.get(override):
        return None
    return query


def _content_length(headers: dict[str, str]) -> int:
    # DRF's own reading: anything int() refuses means no body.
    try:
        return int(headers.get("content-length", 0))
    except (ValueError, TypeError):
        return 0


_json_accepts: dict[str | None, bool] = {}
_body_kinds: dict[str, tuple[str | None, str]] = {}


def _renders_json(accept: str | None) -> bool:
    """DRF's negotiation would pick the JSON renderer, without `indent`."""
    known = _json_accepts.get(accept)
    if known is None:
        known = _json_accepts[accept] = _negotiate_json(accept)
        if len(_json_accepts) > MEMO_ENTRIES:
            _json_accepts.clear()
    return known


def _negotiate_json(accept: str | None) -> bool:
    view = EventTriggerApi
    request = SimpleNamespace(
        headers={} if accept is None else {"accept": accept}, query_params=QueryDict()
    )
    try:
        renderer, media_type = view.content_negotiation_class().select_renderer(
            request, [renderer() for renderer in view.renderer_classes]
        )
    except Exception:  # 406 (NotAcceptable)
        return False
    _, params = parse_header_parameters(media_type)
    return type(renderer) is JSONRenderer and "indent" not in params


def _body_kind(content_type: str) -> tuple[str | None, str]:
    """("json" or "form", the encoding DRF decodes with) for a Content-Type, or (None, …)
    when DRF would take another parser (multipart) or none (415)."""
    known = _body_kinds.get(content_type)
    if known is None:
        known = _body_kinds[content_type] = _select_parser(content_type)
        if len(_body_kinds) > MEMO_ENTRIES:
            _body_kinds.clear()
    return known


def _select_parser(content_type: str) -> tuple[str | None, str]:
    view = EventTriggerApi
    parser = view.content_negotiation_class().select_parser(
        SimpleNamespace(content_type=content_type), [parser() for parser in view.parser_classes]
    )
    kind = {JSONParser: "json", FormParser: "form"}.get(type(parser))
    # Django's request.encoding: the charset parameter, when Python knows that codec.
    _, params = parse_header_parameters(content_type)
    encoding = settings.DEFAULT_CHARSET
    if "charset" in params:
        try:
            codecs.lookup(params["charset"])
        except LookupError:
            pass
        else:
            encoding = params["charset"]
    return kind, encoding
