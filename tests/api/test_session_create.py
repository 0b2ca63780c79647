import time

import jwt as pyjwt
import pytest
from django.conf import settings

from organizations import services
from realtime import tokens

URL = "/api/sessions"


def test_it_issues_a_jwt_with_requested_claims(api, alice_app, alice_secret):
    r = api.post(
        URL,
        {
            "token": alice_secret,
            "listen": ["room:*"],
            "publish": ["room:1"],
            "user_id": "u1",
            "user_info": {"name": "Alice"},
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    claims = tokens.verify(r.json()["jwt"])
    assert claims.listen == ("room:*",)
    assert claims.publish == ("room:1",)
    assert claims.user_id == "u1"
    assert claims.info == {"name": "Alice"}
    assert claims.apps == (alice_app.app_key,)
    assert claims.organization_id == alice_app.organization_id
    raw = pyjwt.decode(r.json()["jwt"], options={"verify_signature": False})
    assert raw["iss"] == settings.EXPUSHER_JWT_ISSUER
    assert raw["aud"] == settings.EXPUSHER_JWT_AUDIENCE
    assert {"exp", "iat", "jti", "sid"} <= set(raw)


def test_it_accepts_form_data_and_defaults_to_everything(api, alice_app, alice_secret):
    r = api.post(URL, {"token": alice_secret})
    assert r.status_code == 201
    claims = tokens.verify(r.json()["jwt"])
    assert claims.listen == ("*",) and claims.publish == ("*",)


@pytest.mark.parametrize("token", ["", "nope", "exps_" + "x" * 43, "exps_"])
def test_it_rejects_bad_tokens_with_401(api, alice_app, token):
    r = api.post(URL, {"token": token}, format="json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


def test_it_rejects_non_string_token_with_401(api, alice_app):
    r = api.post(URL, {"token": {"a": 1}}, format="json")
    assert r.status_code == 401


def test_it_rejects_revoked_token(api, alice_app, alice_token_and_secret):
    token, plaintext = alice_token_and_secret
    services.secret_token_revoke(token=token)
    r = api.post(URL, {"token": plaintext}, format="json")
    assert r.status_code == 401


def test_it_rejects_bad_patterns_with_422(api, alice_app, alice_secret):
    r = api.post(URL, {"token": alice_secret, "listen": ["bad topic!"]}, format="json")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid"


def test_it_rejects_apps_of_other_organizations(api, alice_app, alice_secret, charlie_app):
    r = api.post(URL, {"token": alice_secret, "apps": [charlie_app.app_key]}, format="json")
    assert r.status_code == 422


def test_it_limits_user_ids_to_128_characters(api, alice_app, alice_secret):
    r = api.post(URL, {"token": alice_secret, "user_id": "u" * 128}, format="json")
    assert r.status_code == 201, r.content
    assert tokens.verify(r.json()["jwt"]).user_id == "u" * 128
    r = api.post(URL, {"token": alice_secret, "user_id": "u" * 129}, format="json")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid"


def test_it_caps_the_ttl(api, alice_app, alice_secret, settings):
    settings.EXPUSHER_JWT_MAX_TTL = 60
    r = api.post(URL, {"token": alice_secret, "ttl": 999999}, format="json")
    claims = tokens.verify(r.json()["jwt"])
    assert claims.expires_at <= time.time() + 61
