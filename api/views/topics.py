"""Who listens where: an application's occupied topics, one topic's counts, its members.

GET /api/organizations/{org}/applications/{app}/topics?prefix=P
GET /api/organizations/{org}/applications/{app}/topics/{topic}
GET /api/organizations/{org}/applications/{app}/topics/{topic}/presence

Counts are summed over every live server process (realtime.presence), so any process
answers the same. A secret token sees every topic of the application; a JWT only the
topics its `listen` claim covers, as a socket with that JWT could join no others.
"""

from asgiref.sync import async_to_sync
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import JwtAuthentication, JwtCaller, SecretTokenAuthentication
from api.exceptions import Forbidden, InvalidPrefix, InvalidTopic, NotPresenceTopic
from api.openapi import APP, ORG, errors
from api.scoping import application_snapshot_for_caller
from realtime.presence import get_presence
from realtime.topics import is_presence_topic, topic_allowed, topic_is_valid

TAGS = ["topics"]
TOPIC = OpenApiParameter(
    "topic", OpenApiTypes.STR, OpenApiParameter.PATH, description="A topic, e.g. presence:room-7."
)


async def _occupied(app_id: int, prefix: str, patterns: list[str] | None) -> dict[str, dict]:
    """{topic: {"subscription_count", "user_count" (presence topics)}} of occupied topics."""
    store = get_presence()
    found = {}
    for topic, count in sorted((await store.subscription_counts(app_id)).items()):
        if not topic.startswith(prefix) or (
            patterns is not None and not topic_allowed(patterns, topic)
        ):
            continue
        found[topic] = {"subscription_count": count}
        if is_presence_topic(topic):
            found[topic]["user_count"] = len(await store.members(app_id, topic))
    return found


async def _counts(app_id: int, topic: str) -> tuple[int, int]:
    """(subscription_count, user_count) of one topic; user_count is 0 off presence topics."""
    store = get_presence()
    subscriptions = (await store.subscription_counts(app_id)).get(topic, 0)
    users = len(await store.members(app_id, topic)) if is_presence_topic(topic) else 0
    return subscriptions, users


async def _members(app_id: int, topic: str) -> list[dict]:
    members = await get_presence().members(app_id, topic)
    return [
        {
            "id": user_id,
            "info": entry["metas"][0].get("info", {}),
            "connections": len(entry["metas"]),
        }
        for user_id, entry in sorted(members.items())
    ]


class _TopicsApi(APIView):
    authentication_classes = [JwtAuthentication, SecretTokenAuthentication]

    def _listen(self) -> list[str] | None:
        """The caller's listen patterns, or None for a secret token (every topic)."""
        caller = self.request.user
        return list(caller.claims.listen) if isinstance(caller, JwtCaller) else None

    def _topic(self, topic: str) -> str:
        if not topic_is_valid(topic):
            raise InvalidTopic(topic)
        patterns = self._listen()
        if patterns is not None and not topic_allowed(patterns, topic):
            raise Forbidden(f"This JWT may not listen on {topic!r}.")
        return topic


class TopicListApi(_TopicsApi):
    """Occupied topics (at least one subscribed socket), optionally under a prefix."""

    class OutputSerializer(serializers.Serializer):
        topics = serializers.DictField(
            child=serializers.DictField(child=serializers.IntegerField()),
            help_text='{"<topic>": {"subscription_count": n, "user_count": u (presence topics)}}',
        )

    @extend_schema(
        operation_id="topics_list",
        tags=TAGS,
        parameters=[ORG, APP, OpenApiParameter("prefix", str, description="only topics with it")],
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, org: str, app: str):
        application = application_snapshot_for_caller(request.user, org, app)
        prefix = request.query_params.get("prefix", "")
        if prefix and not topic_is_valid(prefix):
            raise InvalidPrefix(prefix)
        topics = async_to_sync(_occupied)(application.id, prefix, self._listen())
        return Response({"topics": topics})


class TopicGetApi(_TopicsApi):
    class OutputSerializer(serializers.Serializer):
        topic = serializers.CharField()
        occupied = serializers.BooleanField()
        subscription_count = serializers.IntegerField()
        user_count = serializers.IntegerField(help_text="Distinct users; 0 off presence topics.")

    @extend_schema(
        operation_id="topic_retrieve",
        tags=TAGS,
        parameters=[ORG, APP, TOPIC],
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, org: str, app: str, topic: str):
        application = application_snapshot_for_caller(request.user, org, app)
        topic = self._topic(topic)
        subscriptions, users = async_to_sync(_counts)(application.id, topic)
        return Response(
            {
                "topic": topic,
                "occupied": subscriptions > 0,
                "subscription_count": subscriptions,
                "user_count": users,
            }
        )


class TopicPresenceApi(_TopicsApi):
    """The members of a presence topic: one entry per user, however many sockets it has."""

    class OutputSerializer(serializers.Serializer):
        class MemberSerializer(serializers.Serializer):
            id = serializers.CharField()
            info = serializers.DictField(help_text="The public `info` of its first connection.")
            connections = serializers.IntegerField()

        members = MemberSerializer(many=True)

    @extend_schema(
        operation_id="topic_presence",
        tags=TAGS,
        parameters=[ORG, APP, TOPIC],
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, org: str, app: str, topic: str):
        application = application_snapshot_for_caller(request.user, org, app)
        topic = self._topic(topic)
        if not is_presence_topic(topic):
            raise NotPresenceTopic(topic)
        return Response({"members": async_to_sync(_members)(application.id, topic)})
