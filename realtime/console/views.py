"""The dashboard's console endpoints, behind the signed-in session.

GET  /orgs/<org>/apps/<app>/console/stream  the live log, as server-sent events
POST /orgs/<org>/apps/<app>/console/send    the event creator: channel, event, data

As every page under /orgs/<org>/ (organizations.views.access), a visitor who is not a
member of the organization gets 404, whether or not it exists, and only admins may
POST. The event creator publishes through realtime.events.event_trigger_checked, as the
REST trigger does, so its event reaches subscribers of both protocols and the log as an
`api_message` with api "dashboard". Errors have the REST API's shape:
{"error": {"code": ..., "message": ...}}.
"""

import json
import logging

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET, require_POST
from redis.exceptions import RedisError

from organizations import selectors
from realtime import errors
from realtime.console.stream import console_events
from realtime.events import event_encode, event_trigger_checked

logger = logging.getLogger(__name__)

TOPIC_RULE = "1-200 characters of A-Z a-z 0-9 _ - = @ , . ; :"


@sync_to_async
def _application_for(user, org: str, app_key: str):
    """(application, membership) when `user` is a member of its organization, else None."""
    if not user.is_authenticated:
        return None
    organization = selectors.organization_get_for_user(user=user, ident=org)
    if organization is None:
        return None
    application = selectors.application_get(organization=organization, ident=app_key)
    if application is None:
        return None
    return application, selectors.membership_get(user=user, organization=organization)


async def _found(request: HttpRequest, org: str, app_key: str):
    found = await _application_for(await request.auser(), org, app_key)
    if found is None:
        raise Http404("Not found in your organizations.")
    return found


@require_GET
async def console_stream(request: HttpRequest, org: str, app_key: str):
    application, _ = await _found(request, org, app_key)
    response = StreamingHttpResponse(
        console_events(application.id), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _object(text: str) -> dict | None:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@require_POST
async def console_send(request: HttpRequest, org: str, app_key: str):
    user = await request.auser()
    application, membership = await _found(request, org, app_key)
    if not membership.is_admin:
        return _error(403, "forbidden", "Only admins of this organization can send events.")
    topic = request.POST.get("channel", "").strip()
    event = request.POST.get("event", "").strip()
    payload = _object(request.POST.get("data", ""))
    if payload is None:
        return _error(400, "invalid_payload", 'data must be a JSON object, e.g. {"text": "hi"}.')
    try:
        payload_json = event_encode(topic, event, payload)
        await event_trigger_checked(
            application.id, topic, event, payload_json, api="dashboard", credential=user.email
        )
    except errors.InvalidTopic:
        return _error(400, "invalid_topic", f"Invalid channel {topic!r}: {TOPIC_RULE}")
    except errors.InvalidEvent as e:
        return _error(400, "invalid_event", e.detail)
    except errors.PayloadTooLarge as e:
        return _error(413, "payload_too_large", e.detail)
    except RedisError as e:
        logger.warning("console send for app %s: Redis unavailable: %r", application.app_key, e)
        return _error(503, "unavailable", "The service is briefly unavailable; try again.")
    return JsonResponse({"sent": {"channel": topic, "event": event}})
