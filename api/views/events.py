"""REST triggers: a customer's backend (or browser, with a JWT) publishes events.

POST /api/organizations/{org}/applications/{app}/event/{event}   one event
POST /api/organizations/{org}/applications/{app}/events          a batch, all-or-nothing

The application comes from a short-lived cache and claims from the JWT itself, so a
trigger with a JWT reads no database row on its way to the hub.

In the server these views answer only what api.fast_triggers hands over (multipart bodies,
other methods, unusual Accept or Content-Type headers...); it answers the rest the same way
on the event loop, and tests/api/test_fast_triggers.py holds the two to the same answers.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import JwtAuthentication, JwtCaller, SecretTokenAuthentication
from api.parsers import JSONParser
from api.scoping import application_snapshot_for_caller
from api.triggers import DEFAULT_TOPIC, batch_prepare, event_payload, event_prepare, event_topic
from realtime.events import event_trigger_sync
from realtime.stats import counts


class _TriggerApi(APIView):
    authentication_classes = [JwtAuthentication, SecretTokenAuthentication]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    counted: counts.ApiRequest | None = None

    def initial(self, request, *args, **kwargs):
        self.counted = counts.ApiRequest("rest")
        super().initial(request, *args, **kwargs)

    def _application(self, org: str, app: str):
        application = application_snapshot_for_caller(self.request.user, org, app)
        self.counted.app_id = application.id
        return application

    def finalize_response(self, request, response, *args, **kwargs):
        # Statistics: every trigger request, answered however (the lean path in
        # api.fast_triggers counts those it answers itself).
        if self.counted is not None and request.method == "POST":
            self.counted.status = response.status_code
            self.counted.count()
        return super().finalize_response(request, response, *args, **kwargs)

    def _claims(self):
        caller = self.request.user
        return caller.claims if isinstance(caller, JwtCaller) else None


class EventTriggerApi(_TriggerApi):
    """Trigger one event. The payload is the JSON body, or the form/query fields; `topic`
    (default "general") is taken out of either."""

    @extend_schema(
        tags=["events"],
        request={"application/json": dict},
        responses={200: dict},
        parameters=[OpenApiParameter("topic", str, description="default: general")],
    )
    def post(self, request, org: str, app: str, event: str):
        application = self._application(org, app)
        payload = event_payload(request.data, request.query_params)
        topic = event_topic(payload, request.query_params)
        payload_json = event_prepare(application, self._claims(), topic, event, payload)
        event_trigger_sync(application.id, topic, event, payload_json, credential=self.request.user)
        return Response({})


class EventBatchApi(_TriggerApi):
    class InputSerializer(serializers.Serializer):
        class EventSerializer(serializers.Serializer):
            topic = serializers.CharField(default=DEFAULT_TOPIC)
            event = serializers.CharField()
            payload = serializers.DictField(default=dict)

        events = EventSerializer(many=True, allow_empty=False)

    @extend_schema(tags=["events"], request=InputSerializer, responses={200: dict})
    def post(self, request, org: str, app: str):
        application = self._application(org, app)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prepared = batch_prepare(application, self._claims(), data.validated_data["events"])
        for topic, event, payload_json in prepared:
            event_trigger_sync(
                application.id, topic, event, payload_json, credential=self.request.user
            )
        return Response({"sent": len(prepared)})
