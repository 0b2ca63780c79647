"""The REST trigger endpoints on a lean async path, in front of Django.

    POST    /api/organizations/{org}/applications/{app}/event/{event}   one event
    POST    /api/organizations/{org}/applications/{app}/events          a batch
    OPTIONS on both, for CORS preflights

Through Django each trigger is a whole request: nine middleware, DRF's Request and a
worker thread each way, several milliseconds of CPU. expusher.asgi routes these paths here
instead (and expusher.front_door serves kept-alive connections that start with one):
the same decisions are taken with the same code as the DRF views (api.views.events),
api.authentication's refusals, api.scoping, api.triggers, DRF's own parsers, serializer,
negotiator and renderer, api.exceptions' handler, on the event loop, with every cached
answer from this process's short memos (organizations.local_cache). A warm trigger makes
no thread hop and reads no database row; publishing is realtime.events.
event_trigger_checked (503 while Redis heals, as the views).

The answer must be Django's, byte for byte and header for header: tests/api/
test_fast_triggers.py compares the two over a matrix of good and bad requests. A request
this path would not answer the same way goes to Django whole: api.fast_admission lists
which, from the head; after the body, a form with more fields than Django accepts does too.
"""

import io

from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import FormParser
from rest_framework.request import is_form_media_type

from api import fast_responses as answers
from api.authentication import JwtCaller
from api.fast_admission import BATCH, EVENT, PREFLIGHT, Admitted, admit, body_limit, serves
from api.fast_auth import caller_of
from api.parsers import json_body_parse
from api.scoping import application_in_scope
from api.triggers import batch_prepare, event_payload, event_prepare, event_topic
from api.views.events import EventBatchApi
from realtime.applications import app_snapshot_async
from realtime.events import event_trigger_checked
from realtime.http_body import body_read
from realtime.stats import counts, flusher

__all__ = ["ADMITTED", "admitted_scope", "body_limit", "serves", "trigger_application"]

# The front door decides before it reads a body and leaves its decision in the scope.
ADMITTED = "expusher.trigger_admitted"


class _ToDjango(Exception):
    """Django answers this request (found out after reading its body)."""


def admitted_scope(scope) -> dict | None:
    """`scope`, carrying the fast path's decision, if the fast path answers it; else None."""
    admitted = admit(scope)
    if admitted is None:
        return None
    return {**scope, "extensions": {**(scope.get("extensions") or {}), ADMITTED: admitted}}


def trigger_application(django_application):
    """The ASGI application (HTTP scopes of `serves()` paths): answers what it admits,
    hands the rest to `django_application`."""

    async def trigger_api(scope, receive, send) -> None:
        admitted = (scope.get("extensions") or {}).get(ADMITTED) or admit(scope)
        if admitted is None or answers.private_network_asked(admitted.headers):
            await django_application(scope, receive, send)
            return
        body, complete = b"", True
        if admitted.content_length:
            read = await body_read(receive, body_limit())
            if read is None:
                return  # the client went away
            body, complete = read
        try:
            if not complete:
                raise _ToDjango()  # more body than the head said
            status, headers, content = await _respond(admitted, body, scope["path"])
        except _ToDjango:
            await django_application(scope, _replay(body, not complete, receive), send)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return trigger_api


async def _respond(admitted: Admitted, body: bytes, path: str) -> tuple[int, list, bytes]:
    try:
        cors = await answers.cors_allows(admitted.app, admitted.headers)
    except Exception:
        raise _ToDjango() from None  # Django would answer 500 after the view ran
    origin = admitted.headers.get("origin") if cors else None
    if admitted.kind == PREFLIGHT:
        return 200, answers.preflight_headers(admitted.secure, origin), b""
    request = counts.ApiRequest("rest")
    status, content, extra = await _answer(admitted, body, request)
    request.status = status
    request.count()
    flusher.keep_flushing()
    answers.log_refusal(status, path)
    return status, answers.view_headers(status, content, extra, admitted.secure, origin), content


async def _answer(
    admitted: Admitted, body: bytes, request: counts.ApiRequest
) -> tuple[int, bytes, list]:
    """What the DRF view answers: (status, body, its extra headers); `request` learns the
    application once the caller may use it."""
    try:
        caller = await caller_of(admitted.headers.get("authorization", "").encode("latin1"))
        if caller is None:
            raise NotAuthenticated()  # IsAuthenticated, DRF's default permission
        application = application_in_scope(
            await app_snapshot_async(admitted.app), caller, admitted.org
        )
        request.app_id = application.id
        claims = caller.claims if isinstance(caller, JwtCaller) else None
        data = _data(admitted, body)
        if admitted.kind == EVENT:
            await _trigger_event(admitted, application, caller, claims, data)
            return 200, b"{}", []
        assert admitted.kind == BATCH
        sent = await _trigger_batch(application, caller, claims, data)
        return 200, answers.render({"sent": sent}), []
    except _ToDjango:
        raise
    except Exception as exc:
        return answers.error_answer(exc)


async def _trigger_event(admitted: Admitted, application, caller, claims, data) -> None:
    payload = event_payload(data, admitted.query)
    topic = event_topic(payload, admitted.query)
    payload_json = event_prepare(application, claims, topic, admitted.event, payload)
    await event_trigger_checked(
        application.id, topic, admitted.event, payload_json, credential=caller
    )


async def _trigger_batch(application, caller, claims, data) -> int:
    batch = EventBatchApi.InputSerializer(data=data)
    batch.is_valid(raise_exception=True)
    prepared = batch_prepare(application, claims, batch.validated_data["events"])
    for topic, event, payload_json in prepared:
        await event_trigger_checked(application.id, topic, event, payload_json, credential=caller)
    return len(prepared)


def _data(admitted: Admitted, body: bytes):
    """request.data, as DRF parses it (api.fast_admission chose the parser)."""
    if not admitted.content_length:
        content_type = admitted.headers.get("content-type", "")
        return QueryDict("") if content_type and is_form_media_type(content_type) else {}
    if admitted.body_kind == "json":
        return json_body_parse(body, admitted.encoding)
    try:
        return FormParser().parse(io.BytesIO(body), None, {"encoding": admitted.encoding})
    except TooManyFieldsSent:
        raise _ToDjango() from None


def _replay(body: bytes, more_body: bool, receive):
    """`receive` for Django after this path read (some of) the body: that part once, then
    the connection's own messages (the rest, and the disconnect Django listens for)."""
    replayed = False

    async def replaying_receive():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": more_body}

    return replaying_receive
