"""Realtime JWTs (realtime.tokens): what verify() accepts and what it refuses.

Tokens are forged here with PyJWT directly, as an attacker would, so that each test
changes one thing about an otherwise valid token.
"""

import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from realtime import tokens

# Spelled out rather than read from realtime.tokens, so that dropping one fails a test.
REQUIRED = ["exp", "iat", "iss", "aud", "sid", "org", "apps", "listen", "publish"]


def _claims(**changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": settings.EXPUSHER_JWT_ISSUER,
        "aud": settings.EXPUSHER_JWT_AUDIENCE,
        "org": 1,
        "sid": 2,
        "apps": ["app-key"],
        "listen": ["room:*"],
        "publish": ["room:1"],
        "iat": now,
        "exp": now + 60,
    }
    return claims | changes


def _sign(claims: dict, key=None, algorithm: str = "HS256") -> str:
    return pyjwt.encode(claims, settings.EXPUSHER_JWT_KEY if key is None else key, algorithm)


def test_it_verifies_what_it_issues():
    jwt, expires_at = tokens.issue(
        organization_id=1,
        token_id=2,
        apps=["app-key"],
        listen=["room:*"],
        publish=["room:1"],
        ttl=60,
        user_id="u1",
        info={"name": "Alice"},
    )
    claims = tokens.verify(jwt)
    assert (claims.organization_id, claims.token_id, claims.apps) == (1, 2, ("app-key",))
    assert (claims.listen, claims.publish) == (("room:*",), ("room:1",))
    assert (claims.user_id, claims.info, claims.expires_at) == ("u1", {"name": "Alice"}, expires_at)
    assert pyjwt.get_unverified_header(jwt)["alg"] == "HS256"
    raw = pyjwt.decode(jwt, options={"verify_signature": False})
    assert raw["iss"] == settings.EXPUSHER_JWT_ISSUER
    assert raw["aud"] == settings.EXPUSHER_JWT_AUDIENCE
    assert set(REQUIRED) | {"sub", "info", "jti"} == set(raw)


def test_it_accepts_a_token_forged_with_the_right_key():
    # The baseline of the tests below: each changes one thing about this token.
    assert tokens.verify(_sign(_claims())).organization_id == 1


def test_it_refuses_an_unsigned_token():
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(pyjwt.encode(_claims(), None, algorithm="none"))


# PyJWT warns that our key is short for HS384/HS512; it is HS256's key, and is refused anyway.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_it_refuses_other_hmac_algorithms_even_with_the_right_key(algorithm):
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(_sign(_claims(), algorithm=algorithm))


def test_it_refuses_an_rs256_token():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(_sign(_claims(), key=key, algorithm="RS256"))


def test_it_refuses_a_token_signed_with_another_key():
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(_sign(_claims(), key=settings.SECRET_KEY))


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"aud": [settings.EXPUSHER_JWT_AUDIENCE, "someone-else"]},  # ours alone, not among others
        {"aud": [settings.EXPUSHER_JWT_AUDIENCE]},
        {"iss": "someone-else"},
    ],
    ids=["other-aud", "aud-list", "aud-list-of-one", "other-iss"],
)
def test_it_refuses_another_audience_or_issuer(changes):
    with pytest.raises(tokens.TokenInvalid) as refused:
        tokens.verify(_sign(_claims(**changes)))
    assert not isinstance(refused.value, tokens.TokenExpired)


@pytest.mark.parametrize("claim", REQUIRED)
def test_it_refuses_a_token_missing_a_required_claim(claim):
    claims = _claims()
    del claims[claim]
    with pytest.raises(tokens.TokenInvalid) as refused:
        tokens.verify(_sign(claims))
    assert not isinstance(refused.value, tokens.TokenExpired)


@pytest.mark.parametrize("claim", [c for c in REQUIRED if c != "iss"])  # PyJWT won't sign iss=null
def test_a_null_claim_is_no_better_than_a_missing_one(claim):
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(_sign(_claims(**{claim: None})))


def test_an_expired_token_raises_token_expired():
    jwt, _ = tokens.issue(organization_id=1, token_id=2, apps=[], listen=[], publish=[], ttl=-10)
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(jwt)
    now = int(time.time())
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(_sign(_claims(iat=now - 120, exp=now - 1)))


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", None, 42], ids=repr)
def test_it_refuses_malformed_tokens(token):
    with pytest.raises(tokens.TokenInvalid) as refused:
        tokens.verify(token)
    assert not isinstance(refused.value, tokens.TokenExpired)


def test_it_refuses_oversized_tokens_before_decoding():
    jwt = _sign(_claims(info={"pad": "x" * 8192}))
    assert len(jwt) > tokens.MAX_TOKEN_LENGTH
    with pytest.raises(tokens.TokenInvalid, match="oversized"):
        tokens.verify(jwt)
