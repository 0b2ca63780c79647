"""REST triggers: a customer's backend (or browser, with a JWT) publishes events.

POST /api/organizations/{org}/applications/{app}/event/{event}   one event
POST /api/organizations/{org}/applications/{app}/events          a batch, all-or-nothing

The application comes from a short-lived cache and claims from the JWT itself, so a
trigger with a JWT reads no database row on its way to the hub.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import JwtAuthentication, JwtCaller, SecretTokenAuthentication
from api.exceptions import BatchTooLarge, InvalidPayload
from api.parsers import JSONParser
from api.scoping import application_snapshot_for_caller
from api.triggers import event_prepare
from realtime.events import event_trigger_sync

DEFAULT_TOPIC = "general"


class _TriggerApi(APIView):
    authentication_classes = [JwtAuthentication, SecretTokenAuthentication]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def _application(self, org: str, app: str):
        return application_snapshot_for_caller(self.request.user, org, app)

    def _claims(self):
        caller = self.request.user
        return caller.claims if isinstance(caller, JwtCaller) else None


class EventTriggerApi(_TriggerApi):
    """Trigger one event. The payload is the JSON body, or the form/query fields; `topic`
    (default "general") is taken out of either."""

    @extend_schema(
        request={"application/json": dict},
        responses={200: dict},
        parameters=[OpenApiParameter("topic", str, description="default: general")],
    )
    def post(self, request, org: str, app: str, event: str):
        application = self._application(org, app)
        payload = _payload(request)
        topic = payload.pop("topic", None) or request.query_params.get("topic") or DEFAULT_TOPIC
        payload_json = event_prepare(application, self._claims(), topic, event, payload)
        event_trigger_sync(application.id, topic, event, payload_json)
        return Response({})


class EventBatchApi(_TriggerApi):
    class InputSerializer(serializers.Serializer):
        class EventSerializer(serializers.Serializer):
            topic = serializers.CharField(default=DEFAULT_TOPIC)
            event = serializers.CharField()
            payload = serializers.DictField(default=dict)

        events = EventSerializer(many=True, allow_empty=False)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request, org: str, app: str):
        application = self._application(org, app)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        events = data.validated_data["events"]
        limit = settings.EXPUSHER_MAX_EVENTS_PER_BATCH
        if len(events) > limit:
            raise BatchTooLarge(limit)
        # Every event is validated before any is sent: a batch is all or nothing.
        prepared = [
            (
                e["topic"],
                e["event"],
                event_prepare(application, self._claims(), e["topic"], e["event"], e["payload"]),
            )
            for e in events
        ]
        for topic, event, payload_json in prepared:
            event_trigger_sync(application.id, topic, event, payload_json)
        return Response({"sent": len(prepared)})


def _payload(request) -> dict:
    data = request.data
    if isinstance(data, dict) and not hasattr(data, "getlist"):
        return dict(data)  # a JSON object
    if hasattr(data, "getlist"):
        fields = {key: data.get(key) for key in data}
        if not fields:
            fields = {key: request.query_params.get(key) for key in request.query_params}
        return fields
    raise InvalidPayload()
