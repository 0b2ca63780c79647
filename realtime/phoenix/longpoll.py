"""Phoenix long-polling transport at /socket/longpoll, as lib/phoenix/transports/long_poll.ex.

The official phoenix client falls back to this when WebSockets are blocked. The HTTP
status is always 200; the status the client acts on is in the JSON body:

* GET without a token authenticates exactly like the WebSocket (app_key, jwt or
  guardian_token, unique_identifier, vsn; the client's authToken arrives in the
  X-Phoenix-AuthToken header) and opens a session: `{"status": 410, "token": T}`.
  A refusal (an unknown vsn, or the application's connection quota, too) is 403: the
  client closes with 1008 and stops. A presence-store outage is 500: it retries.
* GET with the token (query `token` or header X-Phoenix-Longpoll-Token) answers the
  buffered frames at once (200), else waits up to EXPUSHER_LONGPOLL_WINDOW_MS for some
  (200) or none (204). A session that has ended or is unknown here is 410: the client
  reconnects and rejoins its channels.
* POST with the token carries client frames: `application/x-ndjson`, one frame a line,
  at most 100 lines (phoenix's MAX_LONGPOLL_BATCH_SIZE; a binary push is a base64 line),
  or one JSON frame in any other content type (older clients). `{"status": 200}` once
  all were handled, in order; 410 when the session's owner process cannot be reached.
  A line over EXPUSHER_MAX_MESSAGE_BYTES, or more than 100 lines, is 413, and then no
  frame of that body is handled; the session lives on (the phoenix client, which never
  sends such a body, reconnects on any non-200).

Sessions live in the process that created them (realtime.phoenix.longpoll_sessions). A
poll or a push that reaches another process (behind a plain round-robin balancer) is
served there through the owner (realtime.phoenix.longpoll_remote): no sticky routing.
If the owner has died, that request is 410 within a couple of seconds, and the client
opens a new session and rejoins its channels.

CORS: responses carry `access-control-allow-origin: <Origin>` only when the application
allows that origin (realtime.identity.origin_allowed, the WebSocket rule). Requests from
other origins are refused with 403 whatever they carry, as the WebSocket upgrade is.
"""

import base64
import binascii
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from realtime import errors
from realtime.applications import AppSnapshot, app_snapshot
from realtime.capacity import admission
from realtime.identity import origin_allowed
from realtime.phoenix.connect import aidentify_connection
from realtime.phoenix.longpoll_remote import RemoteSession, session_for_token
from realtime.phoenix.longpoll_sessions import LongPollSession, window_seconds
from realtime.refusals import connection_refused

logger = logging.getLogger(__name__)

MAX_BATCH = 100  # phoenix's MAX_LONGPOLL_BATCH_SIZE
NDJSON = "application/x-ndjson"
ALLOW_HEADERS = "x-phoenix-authtoken, x-phoenix-longpoll-token, content-type, accept"

_app_snapshot = database_sync_to_async(app_snapshot)


@csrf_exempt  # no cookies are involved: the JWT or the session token is the credential
async def longpoll(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return await _preflight(request)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST", "OPTIONS"])
    token = request.headers.get("X-Phoenix-Longpoll-Token") or request.GET.get("token")
    if not token:
        if request.method == "GET":
            return await _open(request)
        return _answer(request, await _app_of(request), {"status": 410})
    session = await session_for_token(token)
    if session is None:
        return _answer(request, await _app_of(request), {"status": 410})
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(session.app.allowed_origins, origin):
        return _answer(request, session.app, {"status": 403})
    if request.method == "GET":
        return await _poll(request, session)
    return await _post(request, session)


async def _open(request: HttpRequest) -> HttpResponse:
    params = request.GET
    app_key = params.get("app_key")
    origin = request.headers.get("Origin")
    try:
        with admission():
            identity, serializer = await aidentify_connection(
                params, origin, lambda: request.headers.get("X-Phoenix-AuthToken")
            )
            session = LongPollSession(identity, serializer)
            await session.start()
    except errors.ProtocolError as e:
        # Logged without the token. An outage is 500, which the client retries with
        # backoff; any other refusal is 403, after which it gives up.
        logger.info("refused long-poll session for app %r: %s", app_key, e.detail)
        told = isinstance(e, errors.OverQuota)  # Connection.admit told it
        await connection_refused(app_key, "phoenix", "longpoll", e, origin, told=told)
        status = 500 if isinstance(e, errors.Unavailable) else 403
        return _answer(request, await _app_of(request), {"status": status})
    # 410 with a token is how phoenix says "opened, now poll with this token".
    return _answer(request, identity.app, {"status": 410, "token": session.token, "messages": []})


async def _poll(request: HttpRequest, session: LongPollSession | RemoteSession) -> HttpResponse:
    frames = await session.poll(window_seconds())
    if frames is None:
        return _answer(request, session.app, {"status": 410})
    status = 200 if frames else 204
    return _answer(
        request, session.app, {"status": status, "token": session.token, "messages": frames}
    )


async def _post(request: HttpRequest, session: LongPollSession | RemoteSession) -> HttpResponse:
    limit = settings.EXPUSHER_MAX_MESSAGE_BYTES
    max_body = MAX_BATCH * (limit + 2)  # 100 lines of the largest size, with CRLFs
    body = request.read(max_body + 1)
    if request.content_type == NDJSON:
        frames = [line.rstrip(b"\r") for line in body.split(b"\n")]
    else:
        frames = [body]
    frames = [frame for frame in frames if frame.strip()]
    if (
        len(body) > max_body
        or len(frames) > MAX_BATCH
        or any(len(frame) > limit for frame in frames)
    ):
        logger.info(
            "long-poll POST of app %s refused: %d bytes in %d frames",
            session.app.app_key,
            len(body),
            len(frames),
        )
        return _answer(request, session.app, {"status": 413})
    binary = session.vsn == "2.0.0" and request.content_type == NDJSON
    if not await session.receive([_frame(line, binary) for line in frames]):
        return _answer(request, session.app, {"status": 410})  # its owner is out of reach
    return _answer(request, session.app, {"status": 200})


def _frame(line: bytes, binary: bool) -> str | bytes:
    """A text frame, or a binary one: the phoenix client sends an ArrayBuffer push (v2
    only) as a base64 line, and text frames always start with "["."""
    if binary and not line.startswith(b"["):
        try:
            return base64.b64decode(line, validate=True)
        except binascii.Error:
            pass  # not base64 either: the session answers it as a malformed frame
    # Undecodable bytes become U+FFFD, and the session answers the frame as malformed.
    return line.decode("utf-8", errors="replace")


async def _preflight(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=200)
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response["Access-Control-Max-Age"] = "3600"
    _cors(request, response, await _app_of(request))
    return response


async def _app_of(request: HttpRequest) -> AppSnapshot | None:
    """The application named by the app_key parameter (cached), for the CORS decision."""
    return await _app_snapshot(request.GET.get("app_key") or "")


def _answer(request: HttpRequest, app: AppSnapshot | None, body: dict) -> JsonResponse:
    response = JsonResponse(body)
    add_never_cache_headers(response)  # every poll has the same URL
    _cors(request, response, app)
    return response


def _cors(request: HttpRequest, response: HttpResponse, app: AppSnapshot | None) -> None:
    origin = request.headers.get("Origin")
    if origin and app is not None and origin_allowed(app.allowed_origins, origin):
        response["Access-Control-Allow-Origin"] = origin
    patch_vary_headers(response, ["Origin"])
