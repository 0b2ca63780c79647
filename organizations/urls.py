"""Web UI routes. Every route naming an organization's object starts with orgs/<org>/,
so organizations.views.access.organization_view decides who may see it."""

from django.contrib.auth import views as auth_views
from django.urls import path

from organizations.forms import InclusivePasswordResetForm
from organizations.views import accounts, applications, credentials, dashboard, members, tokens

account_patterns = [
    path("", accounts.home, name="home"),
    path("signup/", accounts.signup, name="signup"),
    path("signup/sent/", accounts.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", accounts.signup_confirm, name="signup_confirm"),
    path(
        "accounts/login/",
        accounts.LoginView.as_view(),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=InclusivePasswordResetForm),
        name="password_reset",
    ),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

organization_patterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/new-organization/", dashboard.organization_create, name="organization_create"),
    path("orgs/<slug:org>/", dashboard.organization_detail, name="organization_detail"),
    path("orgs/<slug:org>/settings/", dashboard.organization_update, name="organization_update"),
    path(
        "orgs/<slug:org>/apps/new/",
        applications.application_create,
        name="application_create",
    ),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/",
        applications.application_detail,
        name="application_detail",
    ),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/settings/",
        applications.application_update,
        name="application_update",
    ),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/archive/",
        applications.application_archive,
        name="application_archive",
    ),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/rotate-secret/",
        credentials.application_secret_rotate,
        name="application_secret_rotate",
    ),
    path(
        "orgs/<slug:org>/apps/<str:app_key>/restore/",
        credentials.application_unarchive,
        name="application_unarchive",
    ),
    path("orgs/<slug:org>/tokens/new/", tokens.secret_token_create, name="secret_token_create"),
    path(
        "orgs/<slug:org>/tokens/<int:token_id>/",
        tokens.secret_token_update,
        name="secret_token_update",
    ),
    path(
        "orgs/<slug:org>/tokens/<int:token_id>/revoke/",
        tokens.secret_token_revoke,
        name="secret_token_revoke",
    ),
    path("orgs/<slug:org>/members/add/", members.member_add, name="member_add"),
    path(
        "orgs/<slug:org>/members/<int:membership_id>/",
        members.member_update,
        name="member_update",
    ),
    path(
        "orgs/<slug:org>/members/<int:membership_id>/remove/",
        members.member_remove,
        name="member_remove",
    ),
]

urlpatterns = account_patterns + organization_patterns
