"""POST /api/sessions: a customer's backend trades its secret token for a JWT."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import InvalidSecretToken, InvalidSessionRequest
from api.fields import MAX_PATTERNS, TopicPatternField
from api.parsers import JSONParser
from api.services import session_create
from organizations.selectors import secret_token_authenticate
from organizations.services import secret_token_mark_used
from organizations.throttle import client_address, failures_per_address
from realtime.tokens import MAX_USER_ID_LENGTH


class SessionCreateApi(APIView):
    # The secret token arrives in the body (form or JSON), as in ExPusherLite.
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=200, trim_whitespace=True)
        listen = serializers.ListField(
            child=TopicPatternField(), max_length=MAX_PATTERNS, default=["*"]
        )
        publish = serializers.ListField(
            child=TopicPatternField(), max_length=MAX_PATTERNS, default=["*"]
        )
        apps = serializers.ListField(
            child=serializers.CharField(max_length=32), max_length=100, required=False
        )
        user_id = serializers.CharField(max_length=MAX_USER_ID_LENGTH, required=False)
        user_info = serializers.DictField(required=False)
        ttl = serializers.IntegerField(min_value=1, required=False)

    class OutputSerializer(serializers.Serializer):
        jwt = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, auth=[])
    def post(self, request):
        # Guessing secret tokens: past a number of failures an address waits (429), even
        # with the right token (organizations.throttle).
        address, limit = client_address(request), failures_per_address("sessions")
        wait = limit.retry_after(address)
        if wait:
            raise Throttled(wait)
        token = secret_token_authenticate(self._presented_token(request))
        if token is None:
            limit.failed(address)
            raise InvalidSecretToken()
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            raise InvalidSessionRequest(_first_error(data.errors))
        fields = {k: v for k, v in data.validated_data.items() if k != "token"}
        session = session_create(token=token, **fields)
        secret_token_mark_used(token=token)
        return Response(self.OutputSerializer(session).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _presented_token(request) -> str:
        value = request.data.get("token", "")
        return value.strip() if isinstance(value, str) else ""


def _first_error(errors: dict) -> str:
    field, messages = next(iter(errors.items()))
    detail = messages[0] if isinstance(messages, list) else messages
    if isinstance(detail, dict):  # errors of a list item, keyed by index
        detail = next(iter(detail.values()))[0]
    return f"{field}: {detail}"
