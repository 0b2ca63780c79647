"""The Pusher HTTP API at /apps/{app_id}/..., a small ASGI application in front of Django.

expusher.asgi sends the paths `serves()` accepts here before Django sees them: no
middleware, no DRF, no worker thread, and no database row once the application is warm
(realtime.pusher.http_auth). Each request is routed by path and method, its body read up
to a limit, its application resolved and its signature checked, and only then handed to
a view (realtime.pusher.http_events, http_channels, http_users), which returns the JSON
to answer.

Every refusal has ExPusher's error shape, {"error": {"code", "message"}}, with the status
Pusher documents; a store fault (Redis down) is 503 with Retry-After, anything unexpected
is logged and answered with a generic 500. Refusals are logged by code, never with the
query string, which holds the signature.
"""

import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from organizations.settings_answers import settings_answer
from realtime.http_body import body_read
from realtime.messages import json_text
from realtime.pusher import http_errors as errors
from realtime.pusher.http_auth import (
    SignedRequest,
    application_by_id,
    application_by_key,
    check_signature,
)
from realtime.pusher.http_channels import channel_show, channel_users, channels_list
from realtime.pusher.http_events import trigger, trigger_batch
from realtime.pusher.http_users import terminate_connections
from realtime.stats import counts, flusher

logger = logging.getLogger(__name__)

View = Callable[..., Awaitable[dict]]
_APP = r"/apps/(?P<app_id>[^/]+)"
ROUTES: list[tuple[re.Pattern, dict[str, View]]] = [
    (re.compile(_APP + r"/events"), {"POST": trigger}),
    (re.compile(_APP + r"/batch_events"), {"POST": trigger_batch}),
    (re.compile(_APP + r"/channels"), {"GET": channels_list}),
    (re.compile(_APP + r"/channels/(?P<channel>[^/]+)"), {"GET": channel_show}),
    (re.compile(_APP + r"/channels/(?P<channel>[^/]+)/users"), {"GET": channel_users}),
    (
        re.compile(_APP + r"/users/(?P<user_id>[^/]+)/terminate_connections"),
        {"POST": terminate_connections},
    ),
    # pusher-http-python 3.x (terminate_user_connections) leaves out /apps/{app_id}: the
    # application is then the one whose key signed the request.
    (
        re.compile(r"/users/(?P<user_id>[^/]+)/terminate_connections"),
        {"POST": terminate_connections},
    ),
]
_TERMINATE_WITHOUT_APP = ROUTES[-1][0]
MAX_QUERY_PARAMS = 32
STORE_FAULTS = (RedisError, OSError, InterfaceError, OperationalError)


def serves(path: str) -> bool:
    """Is this path the Pusher HTTP API's (else it is Django's)?"""
    return path.startswith("/apps/") or _TERMINATE_WITHOUT_APP.fullmatch(path) is not None


@settings_answer  # asked by every request
def body_limit() -> int:
    """The largest body read: a full batch of events at the data limit fits, even with every
    byte of its data JSON-escaped (`\\u0001` is six bytes), plus room for the rest."""
    largest_batch = 6 * settings.EXPUSHER_MAX_EVENTS_PER_BATCH * settings.EXPUSHER_MAX_PAYLOAD_BYTES
    return max(settings.EXPUSHER_MAX_MESSAGE_BYTES, largest_batch + 64 * 1024)


async def pusher_http_api(scope, receive, send) -> None:
    """The ASGI application (HTTP scopes only)."""
    answered = counts.ApiRequest("pusher")
    try:
        await _answer(scope, receive, send, answered)
    finally:
        answered.count()
        flusher.keep_flushing()


async def _answer(scope, receive, send, answered: counts.ApiRequest) -> None:
    method, path = scope["method"], scope["path"]
    try:
        view, path_args = _route(method, path)
        body = await _read_body(scope, receive)
        if body is None:
            return  # the client went away
        params = _query(scope["query_string"])
        if "app_id" in path_args:
            app = await application_by_id(path_args.pop("app_id"))
        else:
            app = await application_by_key(params)
        check_signature(app, method, path, params, body)
        answered.app_id = app.id
        answer = await view(SignedRequest(app, params, body), **path_args)
    except errors.HttpApiError as e:
        logger.info("Pusher HTTP API refused %s %s: %s %s", method, path, e.status, e.code)
        answered.status = e.status
        await _respond(send, e.status, _error(e), e.headers)
    except STORE_FAULTS as e:
        logger.warning("Pusher HTTP API: store fault on %s %s: %r", method, path, e)
        answered.status = 503
        await _respond(send, 503, _error(errors.Unavailable()), errors.Unavailable.headers)
    except Exception:
        logger.exception("Pusher HTTP API: %s %s failed", method, path)
        answered.status = 500
        await _respond(send, 500, _error(errors.ServerError()))
    else:
        answered.status = 200
        await _respond(send, 200, answer)


def _route(method: str, path: str) -> tuple[View, dict[str, str]]:
    for pattern, views_by_method in ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            view = views_by_method.get(method)
            if view is None:
                raise errors.MethodNotAllowed(list(views_by_method))
            return view, match.groupdict()
    raise errors.NotFound()


async def _read_body(scope, receive) -> bytes | None:
    """The request body, refused with 413 as soon as it passes body_limit()."""
    limit = body_limit()
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise errors.BodyTooLarge(f"Request bodies are limited to {limit} bytes.")
    read = await body_read(receive, limit)
    if read is None:
        return None
    body, complete = read
    if not complete or len(body) > limit:
        raise errors.BodyTooLarge(f"Request bodies are limited to {limit} bytes.")
    return body


def _query(query_string: bytes) -> dict[str, str]:
    """The query parameters, decoded as parse_qsl decodes them (the libraries send them
    unescaped, so the common case is a plain split, four times quicker)."""
    text = query_string.decode("ascii", "replace")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        if len(pairs) > MAX_QUERY_PARAMS:
            raise errors.InvalidField("Too many query parameters.")
        return dict(pairs)
    parts = text.split("&")
    if len(parts) > MAX_QUERY_PARAMS and sum(1 for part in parts if part) > MAX_QUERY_PARAMS:
        raise errors.InvalidField("Too many query parameters.")
    params = {}
    for part in parts:
        if part:
            name, _, value = part.partition("=")
            params[name] = value  # the last of a repeated name wins, as with dict(pairs)
    return params


def _error(e: errors.HttpApiError) -> dict:
    return {"error": {"code": e.code, "message": e.detail}}


async def _respond(send, status: int, payload: dict, headers=()) -> None:
    # Most answers are {} (a trigger without info): the encoder's set-up costs more than that.
    body = json_text(payload).encode() if payload else b"{}"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
