"""The REST triggers' async path (api.fast_triggers) answers exactly as the DRF views behind
Django do: for every request of the matrix below, the status, the body (byte for byte),
every header and what is logged are compared between Django's ASGI application and the
fast path, and the fast path must have answered itself or handed the request to Django,
as the case says."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.core.handlers.asgi import ASGIHandler

from api.fast_triggers import trigger_application
from organizations import local_cache
from realtime import tokens
from realtime.denylist import jwt_deny
from tests.api.fast_support import Request, World, call

pytestmark = pytest.mark.django_db(transaction=True)

FAST, DJANGO = "fast", "django"  # who must answer a case
CHATTY_LOGGERS = ("django.request", "api.exceptions")


@pytest.fixture
def world(alice_app, alice_token_and_secret, charlie_app, charlie_secret) -> World:
    token, secret = alice_token_and_secret
    return World(alice_app, secret, token, charlie_app, charlie_secret)


@dataclass
class Case:
    name: str
    build: Callable[[World], Request]
    who: str = FAST
    prepare: Callable | None = None  # async (world) -> None, before both calls

    def __str__(self) -> str:
        return self.name


async def _revoke(world: World) -> None:
    from organizations import services

    await sync_to_async(services.secret_token_revoke)(token=world.token)


async def _deny_the_jwt(world: World) -> None:
    world.denied = world.jwt(user_id="dave")
    claims = tokens.verify(world.denied)
    await jwt_deny(claims.jti, claims.expires_at)


async def _archive_app(world: World) -> None:
    from organizations import services

    await sync_to_async(services.application_archive)(application=world.app)
    await sync_to_async(cache.clear)()  # the cached snapshot would live a few seconds more


async def _origins_listed(world: World) -> None:
    await world.set_allowed_origins(["https://customer.example", "https://*.example.org"])
    await sync_to_async(cache.clear)()


def _nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


def _batch(n: int, **event) -> dict:
    return {"events": [{"topic": "room:1", "event": f"e{i}", **event} for i in range(n)]}


ORIGIN = [("origin", "https://customer.example")]
JSON = [("content-type", "application/json")]

CASES = [
    # Successes, both credentials, both ways of naming the application.
    Case("json, secret", lambda w: w.post(w.event_path(), bearer=w.secret, json_body={"a": [1]})),
    Case("json, jwt", lambda w: w.post(w.event_path(), bearer=w.jwt(), json_body={"a": "b"})),
    Case("form, jwt", lambda w: w.post(w.event_path(), bearer=w.jwt(), form={"n": "J", "m": "x"})),
    Case(
        "form with topic",
        lambda w: w.post(w.event_path(), bearer=w.secret, form={"topic": "room:1", "n": "1"}),
    ),
    Case(
        "topic in the query",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={"a": 1}, query="topic=room:2"),
    ),
    Case(
        "topic in the body wins",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={"topic": "x"}, query="topic=room:2"
        ),
    ),
    Case(
        "empty form, fields in the query",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            headers=[("content-type", "application/x-www-form-urlencoded")],
            query="a=1&a=2&topic=room:3",
        ),
    ),
    Case("no body at all", lambda w: w.post(w.event_path(), bearer=w.secret)),
    Case(
        "empty JSON body",
        lambda w: w.post(w.event_path(), bearer=w.secret, headers=JSON + [("content-length", "0")]),
    ),
    Case(
        "body without Content-Length is ignored",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            body=b"{not json",
            headers=JSON + [("transfer-encoding", "chunked"), ("content-length", "x")],
        ),
    ),
    Case(
        "charset utf-8",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            body='{"é": "ü"}'.encode(),
            headers=[("content-type", "application/json; charset=UTF-8")],
        ),
    ),
    Case(
        "charset latin-1",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            body='{"é": "ü"}'.encode("latin-1"),
            headers=[("content-type", "application/json; charset=latin-1")],
        ),
    ),
    Case(
        "app by app_id, org by id",
        lambda w: w.post(
            w.event_path(org=str(w.app.organization_id), app=str(w.app.app_id)),
            bearer=w.secret,
            json_body={},
        ),
    ),
    Case(
        "accept json, axios style",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            json_body={},
            headers=[("accept", "application/json, text/plain, */*")],
        ),
    ),
    Case(
        "a header with an underscore is ignored",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("content_type", "text/xml")]
        ),
    ),
    Case("batch", lambda w: w.post(w.batch_path(), bearer=w.secret, json_body=_batch(3))),
    Case("batch, jwt", lambda w: w.post(w.batch_path(), bearer=w.jwt(), json_body=_batch(10))),
    Case(
        "batch, default topic and payload",
        lambda w: w.post(w.batch_path(), bearer=w.secret, json_body={"events": [{"event": "e"}]}),
    ),
    # 401
    Case("no credentials", lambda w: w.post(w.event_path(), json_body={"a": 1})),
    Case(
        "basic auth",
        lambda w: w.post(
            w.event_path(), json_body={}, headers=[("authorization", "Basic dXNlcjpwYXNz")]
        ),
    ),
    Case(
        "bearer with two words",
        lambda w: w.post(w.event_path(), json_body={}, headers=[("authorization", "Bearer a b")]),
    ),
    Case(
        "bearer alone",
        lambda w: w.post(w.event_path(), json_body={}, headers=[("authorization", "Bearer")]),
    ),
    Case(
        "bearer not ascii",
        lambda w: w.post(w.event_path(), json_body={}, headers=[("authorization", "Bearer é")]),
    ),
    Case("unknown secret token", lambda w: w.post(w.event_path(), bearer="exps_nope", form={})),
    Case("garbage jwt", lambda w: w.post(w.event_path(), bearer="not-a-jwt", json_body={})),
    Case("expired jwt", lambda w: w.post(w.event_path(), bearer=w.jwt(ttl=-10), json_body={})),
    Case(
        "revoked secret token",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={}),
        prepare=_revoke,
    ),
    Case(
        "jwt of a revoked token",
        lambda w: w.post(w.event_path(), bearer=w.jwt(), json_body={}),
        prepare=_revoke,
    ),
    Case(
        "denied jwt",
        lambda w: w.post(w.event_path(), bearer=w.denied, json_body={}),
        prepare=_deny_the_jwt,
    ),
    Case(
        "401 before 404",
        lambda w: w.post(w.event_path(app="nope"), bearer="exps_nope", json_body={}),
    ),
    # 403 / 404
    Case(
        "jwt outside its publish claim",
        lambda w: w.post(w.event_path(), bearer=w.jwt(publish=["room:*"]), json_body={}),
    ),
    Case(
        "jwt without the app",
        lambda w: w.post(w.event_path(), bearer=w.jwt(apps=[]), json_body={}),
    ),
    Case(
        "batch outside the publish claim",
        lambda w: w.post(w.batch_path(), bearer=w.jwt(publish=["general"]), json_body=_batch(2)),
    ),
    Case("unknown app", lambda w: w.post(w.event_path(app="nope"), bearer=w.secret, form={})),
    Case(
        "another organization's app",
        lambda w: w.post(w.event_path(app=w.charlie_app.app_key), bearer=w.secret, form={}),
    ),
    Case(
        "another organization's slug",
        lambda w: w.post(
            w.event_path(org=w.charlie_app.organization.slug), bearer=w.secret, form={}
        ),
    ),
    Case(
        "charlie's token on alice's app",
        lambda w: w.post(w.event_path(), bearer=w.charlie_secret, form={}),
    ),
    Case(
        "archived app",
        lambda w: w.post(w.event_path(), bearer=w.secret, form={}),
        prepare=_archive_app,
    ),
    Case(
        "404 before a bad body",
        lambda w: w.post(w.event_path(app="nope"), bearer=w.secret, body=b"{", headers=JSON),
    ),
    # 400 / 413
    Case("bad json", lambda w: w.post(w.event_path(), bearer=w.secret, body=b"{", headers=JSON)),
    Case(
        "json nested too deep",
        lambda w: w.post(w.event_path(), bearer=w.secret, body=_nested(100_000), headers=JSON),
    ),
    Case("NaN", lambda w: w.post(w.event_path(), bearer=w.secret, body=b"[NaN]", headers=JSON)),
    Case(
        "not utf-8",
        lambda w: w.post(w.event_path(), bearer=w.secret, body=b'{"a":"\xff"}', headers=JSON),
    ),
    Case("json list", lambda w: w.post(w.event_path(), bearer=w.secret, json_body=[1, 2])),
    Case(
        "invalid event",
        lambda w: w.post(w.event_path("phx_join"), bearer=w.secret, json_body={}),
    ),
    Case(
        "invalid event, escaped",
        lambda w: w.post(w.event_path("bad event"), bearer=w.secret, json_body={}),
    ),
    Case(
        "invalid topic",
        lambda w: w.post(w.event_path(), bearer=w.secret, form={"topic": "bad topic"}),
    ),
    Case(
        "topic that is no string",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={"topic": 5}),
    ),
    Case(
        "payload too large",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={"blob": "x" * 11000}),
    ),
    Case(
        "batch too large",
        lambda w: w.post(w.batch_path(), bearer=w.secret, json_body=_batch(11)),
    ),
    Case(
        "batch with a bad topic is all or nothing",
        lambda w: w.post(
            w.batch_path(),
            bearer=w.secret,
            json_body={"events": [{"event": "e"}, {"topic": "bad topic", "event": "e"}]},
        ),
    ),
    Case(
        "batch missing events",
        lambda w: w.post(w.batch_path(), bearer=w.secret, json_body={"evts": []}),
    ),
    Case(
        "batch empty",
        lambda w: w.post(w.batch_path(), bearer=w.secret, json_body={"events": []}),
    ),
    Case(
        "batch event without a name, payload not an object",
        lambda w: w.post(w.batch_path(), bearer=w.secret, json_body={"events": [{"payload": [1]}]}),
    ),
    Case("batch as a list", lambda w: w.post(w.batch_path(), bearer=w.secret, json_body=[{}])),
    Case(
        "batch payload too large",
        lambda w: w.post(
            w.batch_path(), bearer=w.secret, json_body=_batch(1, payload={"b": "x" * 11000})
        ),
    ),
    Case(
        "batch form-encoded",
        lambda w: w.post(
            w.batch_path(), bearer=w.secret, form={"events[0]event": "e", "events[0]topic": "t"}
        ),
    ),
    # CORS
    Case(
        "origin, any allowed",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={}, headers=ORIGIN),
    ),
    Case(
        "origin on a 401",
        lambda w: w.post(w.event_path(), bearer="exps_nope", json_body={}, headers=ORIGIN),
    ),
    Case(
        "origin listed",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={}, headers=ORIGIN),
        prepare=_origins_listed,
    ),
    Case(
        "origin by wildcard",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            json_body={},
            headers=[("origin", "https://a.b.example.org")],
        ),
        prepare=_origins_listed,
    ),
    Case(
        "origin refused",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("origin", "https://evil.test")]
        ),
        prepare=_origins_listed,
    ),
    Case(
        "origin unparsable",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("origin", "http://[::1")]
        ),
    ),
    Case("preflight", lambda w: w.preflight(w.event_path())),
    Case("preflight, batch", lambda w: w.preflight(w.batch_path())),
    Case("preflight, listed", lambda w: w.preflight(w.event_path()), prepare=_origins_listed),
    Case(
        "preflight, refused",
        lambda w: w.preflight(w.event_path(), origin="https://evil.test"),
        prepare=_origins_listed,
    ),
    Case("preflight, unknown app", lambda w: w.preflight(w.event_path(app="nope"))),
    # Handed to Django whole.
    Case(
        "multipart",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            body=b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xx--\r\n',
            headers=[("content-type", "multipart/form-data; boundary=xx")],
        ),
        DJANGO,
    ),
    Case(
        "text/plain (415)",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, body=b"hi", headers=[("content-type", "text/plain")]
        ),
        DJANGO,
    ),
    Case(
        "a body without a type (415)",
        lambda w: w.post(w.event_path(), bearer=w.secret, body=b'{"a":1}'),
        DJANGO,
    ),
    Case(
        "browsable API",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("accept", "text/html")]
        ),
        DJANGO,
    ),
    Case(
        "indented JSON",
        lambda w: w.post(
            w.event_path(),
            bearer=w.secret,
            json_body={},
            headers=[("accept", "application/json; indent=4")],
        ),
        DJANGO,
    ),
    Case(
        "not acceptable (406)",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("accept", "text/csv")]
        ),
        DJANGO,
    ),
    Case(
        "format override",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={}, query="format=json"),
        DJANGO,
    ),
    Case(
        "host not allowed (400)",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("host", "evil.test")]
        ),
        DJANGO,
    ),
    Case(
        "cookies",
        lambda w: w.post(
            w.event_path(), bearer=w.secret, json_body={}, headers=[("cookie", "csrftoken=bad")]
        ),
        DJANGO,
    ),
    Case(
        "too many form fields",
        lambda w: w.post(w.event_path(), bearer=w.secret, form={f"f{i}": "1" for i in range(1100)}),
        DJANGO,
    ),
    Case(
        "body over the lean path's limit",
        lambda w: w.post(w.event_path(), bearer=w.secret, json_body={"blob": "x" * 700_000}),
        DJANGO,
    ),
    Case(
        "GET",
        lambda w: Request("GET", w.event_path(), [("host", "127.0.0.1:8000")]),
        DJANGO,
    ),
    Case(
        "OPTIONS without preflight",
        lambda w: Request(
            "OPTIONS",
            w.event_path(),
            [("host", "127.0.0.1:8000"), ("authorization", f"Bearer {w.secret}")],
        ),
        DJANGO,
    ),
]


@pytest.fixture
def apps():
    """make() -> (Django's ASGI application, the fast path in front of it, what the fast
    path handed to Django). Made after a test's settings changes: Django's middleware read
    the settings once, when the handler is built."""

    def make():
        django_application = ASGIHandler()
        handed: list[str] = []

        async def to_django(scope, receive, send):
            handed.append(scope["path"])
            await django_application(scope, receive, send)

        return django_application, trigger_application(to_django), handed

    return make


async def compare(world: World, request: Request, apps, caplog, *, exact=True) -> tuple:
    """Both answers and logs; the fast path's own memos start empty, as Django's view
    has none. When both answers are Django's (exact=False), only what is not random
    (a fresh CSRF cookie or token) is compared."""
    django_application, fast, handed = apps
    answers, logs = [], []
    for app in (django_application, fast):
        local_cache.forget_all()
        caplog.clear()
        answers.append(await call(app, request))
        logs.append(
            [
                (r.name, r.levelname, r.getMessage())
                for r in caplog.records
                if r.name.startswith(CHATTY_LOGGERS)
            ]
        )
    by_django, by_fast = answers
    if not exact:
        assert by_fast.status == by_django.status
        assert [k for k, _ in by_fast.headers] == [k for k, _ in by_django.headers]
        return by_django, handed
    assert (by_fast.status, by_fast.body) == (by_django.status, by_django.body)
    assert by_fast.headers == by_django.headers
    assert logs[1] == logs[0]
    for _, _, message in logs[0]:
        assert world.secret not in message
    return by_django, handed


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_the_fast_path_answers_as_django(case, world, apps, caplog):
    caplog.set_level(logging.INFO)
    if case.prepare is not None:
        await case.prepare(world)
    request = case.build(world)
    _, handed = await compare(world, request, apps(), caplog, exact=case.who == FAST)
    assert handed == ([] if case.who == FAST else [request.path])


@pytest.mark.parametrize(
    "headers, who",
    [
        ([], DJANGO),  # plain HTTP: Django redirects to https (301)
        ([("x-forwarded-proto", "https")], FAST),  # behind a TLS proxy: HSTS added
        ([("x-forwarded-proto", "http")], DJANGO),
    ],
)
async def test_with_https_settings_it_still_answers_as_django(
    headers, who, world, apps, caplog, settings
):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    request = world.post(world.event_path(), bearer=world.secret, json_body={}, headers=headers)
    by_django, handed = await compare(world, request, apps(), caplog, exact=who == FAST)
    assert handed == ([] if who == FAST else [request.path])
    if who == FAST:
        assert by_django.header("strict-transport-security").startswith("max-age=3600")


async def test_a_preflight_over_https_gets_the_same_headers(world, apps, caplog, settings):
    settings.SECURE_HSTS_SECONDS = 60
    request = world.preflight(world.event_path(), scheme="https")
    by_django, handed = await compare(world, request, apps(), caplog)
    assert handed == [] and by_django.header("strict-transport-security") == "max-age=60"


async def test_an_unknown_middleware_sends_every_trigger_to_django(world, apps, caplog, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    request = world.post(world.event_path(), bearer=world.secret, json_body={})
    _, handed = await compare(world, request, apps(), caplog)
    assert handed == [request.path]


async def test_a_failure_while_publishing_is_the_same_logged_500(world, apps, caplog, monkeypatch):
    caplog.set_level(logging.INFO)

    async def broken(app_id, message):
        raise RuntimeError("the channel layer is down")

    monkeypatch.setattr("realtime.events.event_publish", broken)
    request = world.post(world.event_path(), bearer=world.secret, json_body={})
    by_django, handed = await compare(world, request, apps(), caplog)
    assert (by_django.status, handed) == (500, [])
    assert by_django.json()["error"]["code"] == "server_error"
    logged = {(r.name, r.levelname) for r in caplog.records}  # the fast path's, as Django's
    assert {("api.exceptions", "ERROR"), ("django.request", "ERROR")} <= logged


async def test_a_setting_changed_after_a_trigger_still_shapes_the_answer(
    world, apps, caplog, settings
):
    # The fast path works out its setting-bound headers once: a change must reach them.
    request = world.post(world.event_path(), bearer=world.secret, json_body={}, scheme="https")
    await compare(world, request, apps(), caplog)
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    settings.SECURE_HSTS_SECONDS = 120
    by_django, handed = await compare(world, request, apps(), caplog)
    assert handed == [] and by_django.header("x-frame-options") == "SAMEORIGIN"
    assert by_django.header("strict-transport-security") == "max-age=120"


async def test_a_private_network_preflight_goes_to_django_once_allowed(
    world, apps, caplog, settings
):
    request = world.preflight(world.event_path())
    request.headers.append(("access-control-request-private-network", "true"))
    _, handed = await compare(world, request, apps(), caplog)
    assert handed == []
    settings.CORS_ALLOW_PRIVATE_NETWORK = True
    _, handed = await compare(world, request, apps(), caplog, exact=False)
    assert handed == [request.path]


async def test_admission_follows_settings_changed_after_a_trigger(world, apps, caplog, settings):
    request = world.post(
        world.event_path(), bearer=world.secret, json_body={}, headers=[("x-scheme", "https")]
    )
    _, handed = await compare(world, request, apps(), caplog)
    assert handed == []
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_SCHEME", "https")
    settings.SECURE_HSTS_SECONDS = 60
    by_django, handed = await compare(world, request, apps(), caplog)
    assert handed == [] and by_django.header("strict-transport-security") == "max-age=60"
    settings.CORS_URLS_REGEX = r"^/elsewhere/"
    _, handed = await compare(world, request, apps(), caplog, exact=False)
    assert handed == [request.path]
