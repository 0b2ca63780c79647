"""POST .../applications/{app}/secret (rotate), POST .../applications/{app}/restore, and
PATCH .../tokens/{id} (rename, describe)."""

from organizations import services
from organizations.models import Application, SecretToken
from organizations.selectors import application_secret


def _app_url(organization, application, tail: str) -> str:
    return f"/api/organizations/{organization.slug}/applications/{application.app_key}/{tail}"


def test_a_rotation_answers_the_new_secret_once(client_for, alice_org, alice_app_and_secret):
    application, old = alice_app_and_secret

    response = client_for("alice_secret").post(
        _app_url(alice_org, application, "secret"), {"grace_seconds": 60}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    application.refresh_from_db()
    assert body["app_secret"] == application_secret(application) != old
    assert body["previous_secret_expires"] is not None
    shown = client_for("alice_secret").get(f"/api/organizations/{alice_org.slug}/applications")
    assert body["app_secret"] not in shown.content.decode()


def test_a_rotation_without_grace_drops_the_old_secret(client_for, alice_org, alice_app):
    response = client_for("alice_secret").post(
        _app_url(alice_org, alice_app, "secret"), {}, format="json"
    )

    assert response.json()["previous_secret_expires"] is None
    assert Application.objects.get(pk=alice_app.pk).previous_secret_encrypted == ""


def test_a_rotation_refuses_a_grace_period_over_a_week(client_for, alice_org, alice_app):
    response = client_for("alice_secret").post(
        _app_url(alice_org, alice_app, "secret"), {"grace_seconds": 10**9}, format="json"
    )

    assert response.status_code == 400
    assert "grace_seconds" in response.json()["error"]["fields"]


def test_members_jwts_and_outsiders_cannot_rotate(client_for, alice_org, alice_app):
    before = Application.objects.get(pk=alice_app.pk).secret_encrypted
    url = _app_url(alice_org, alice_app, "secret")

    assert client_for("bob_session").post(url, {}, format="json").status_code == 403
    assert client_for("alice_jwt").post(url, {}, format="json").status_code == 401
    assert client_for("charlie_secret").post(url, {}, format="json").status_code == 404
    assert Application.objects.get(pk=alice_app.pk).secret_encrypted == before


def test_an_archived_application_is_restored_not_rotated(client_for, alice_org, alice_app):
    services.application_archive(application=alice_app)
    client = client_for("alice_secret")

    assert client.post(_app_url(alice_org, alice_app, "secret"), {}).status_code == 409
    response = client.post(_app_url(alice_org, alice_app, "restore"))

    assert response.status_code == 200 and response.json()["archived"] is False
    assert not Application.objects.get(pk=alice_app.pk).archived


def test_members_cannot_restore(client_for, alice_org, alice_app):
    services.application_archive(application=alice_app)

    response = client_for("bob_session").post(_app_url(alice_org, alice_app, "restore"))

    assert response.status_code == 403
    assert Application.objects.get(pk=alice_app.pk).archived


def test_a_token_is_renamed_and_described(client_for, alice_org, alice_token_and_secret):
    token, _ = alice_token_and_secret
    url = f"/api/organizations/{alice_org.slug}/tokens/{token.pk}"

    response = client_for("alice_secret").patch(
        url, {"description": "the deploy robot"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["label"] == "ci"
    assert response.json()["description"] == "the deploy robot"
    assert SecretToken.objects.get(pk=token.pk).description == "the deploy robot"
    too_long = client_for("alice_secret").patch(url, {"label": "x" * 101}, format="json")
    assert too_long.status_code == 400
