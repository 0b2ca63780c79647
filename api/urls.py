"""REST API routes under /api/.

Paths have no trailing slash, as in ExPusherLite. A URL shared by several operations maps
each HTTP method to its own API class with api.dispatch.by_method.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.dispatch import by_method
from api.views import applications, credentials, organizations, tokens, topics, users
from api.views.events import EventBatchApi, EventTriggerApi
from api.views.sessions import SessionCreateApi

ORG = "organizations/<str:org>"
APP = "organizations/<str:org>/applications/<str:app>"

management_patterns = [
    path(
        "organizations",
        by_method(get=organizations.OrganizationListApi, post=organizations.OrganizationCreateApi),
        name="api-organizations",
    ),
    path(
        ORG,
        by_method(
            get=organizations.OrganizationGetApi,
            patch=organizations.OrganizationUpdateApi,
            delete=organizations.OrganizationArchiveApi,
        ),
        name="api-organization",
    ),
    path(
        f"{ORG}/applications",
        by_method(get=applications.ApplicationListApi, post=applications.ApplicationCreateApi),
        name="api-applications",
    ),
    path(
        APP,
        by_method(
            get=applications.ApplicationGetApi,
            patch=applications.ApplicationUpdateApi,
            delete=applications.ApplicationArchiveApi,
        ),
        name="api-application",
    ),
    path(
        f"{APP}/secret",
        credentials.ApplicationSecretRotateApi.as_view(),
        name="api-application-secret",
    ),
    path(
        f"{APP}/restore",
        credentials.ApplicationRestoreApi.as_view(),
        name="api-application-restore",
    ),
    path(
        f"{ORG}/tokens",
        by_method(get=tokens.SecretTokenListApi, post=tokens.SecretTokenCreateApi),
        name="api-tokens",
    ),
    path(
        f"{ORG}/tokens/<str:token>",
        by_method(
            get=tokens.SecretTokenGetApi,
            patch=tokens.SecretTokenUpdateApi,
            delete=tokens.SecretTokenRevokeApi,
        ),
        name="api-token",
    ),
]

urlpatterns = [
    path("sessions", SessionCreateApi.as_view(), name="api-session-create"),
    path(f"{APP}/event/<str:event>", EventTriggerApi.as_view(), name="api-event-trigger"),
    path(f"{APP}/events", EventBatchApi.as_view(), name="api-event-batch"),
    path(f"{APP}/topics", topics.TopicListApi.as_view(), name="api-topics"),
    path(f"{APP}/topics/<str:topic>", topics.TopicGetApi.as_view(), name="api-topic"),
    path(
        f"{APP}/topics/<str:topic>/presence",
        topics.TopicPresenceApi.as_view(),
        name="api-topic-presence",
    ),
    path(
        f"{APP}/users/<str:user_id>/disconnect",
        users.UserDisconnectApi.as_view(),
        name="api-user-disconnect",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), and our
    # template its page style as one, so the page runs under expusher.csp's policy.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    *management_patterns,
]
