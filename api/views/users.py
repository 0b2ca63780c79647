"""POST /api/organizations/{org}/applications/{app}/users/{user_id}/disconnect

Closes every socket of one user of the application, in every server process, with close
code 4009 (unauthorized: stock clients do not reconnect on their own). Only the
organization's backend may do this: a secret token, never a JWT.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import JwtAuthentication, JwtCaller, SecretTokenAuthentication
from api.exceptions import Forbidden, InvalidUserId
from api.openapi import APP, ORG, errors
from api.scoping import application_snapshot_for_caller
from realtime.hub import send_control_sync
from realtime.tokens import MAX_USER_ID_LENGTH

USER_ID = OpenApiParameter(
    "user_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The JWT's `sub` claim."
)


class UserDisconnectApi(APIView):
    # JwtAuthentication is here so that a JWT gets a clear 403, not a 401.
    authentication_classes = [JwtAuthentication, SecretTokenAuthentication]

    class OutputSerializer(serializers.Serializer):
        pass

    @extend_schema(
        operation_id="user_disconnect",
        tags=["users"],
        request=None,
        parameters=[ORG, APP, USER_ID],
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request, org: str, app: str, user_id: str):
        application = application_snapshot_for_caller(request.user, org, app)
        if isinstance(request.user, JwtCaller):
            raise Forbidden("Only a secret token may disconnect users.")
        if not 0 < len(user_id) <= MAX_USER_ID_LENGTH:
            raise InvalidUserId()
        send_control_sync(application.id, "disconnect_user", {"user_id": user_id})
        return Response({})
