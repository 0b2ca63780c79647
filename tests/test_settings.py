"""expusher.settings depends only on the environment, and fails loudly without its secrets.

Each case imports the settings in a fresh interpreter with a minimal environment, because
settings are read once per process.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.support.live import ROOT, read_test_env

SECRETS = ("SECRET_KEY", "EXPUSHER_JWT_KEY", "EXPUSHER_ENCRYPTION_KEY", "EXPUSHER_TOKEN_PEPPER")

PRINT_BACKENDS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_config": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION"),
}))
"""


def minimal_env(**values: str) -> dict[str, str]:
    """Only what an interpreter needs, plus `values`; never the developer's .env."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "expusher.settings",
        "EXPUSHER_ENV_FILE": os.devnull,
    }
    env.update(values)
    return env


def production_env(**overrides: str) -> dict[str, str]:
    env = minimal_env(
        DEBUG="False",
        EXPUSHER_HTTPS="True",
        ALLOWED_HOSTS="example.com",
        **{name: f"{name.lower()}-{'x7Kq2' * 12}" for name in SECRETS},
    )
    env.update(overrides)
    return env


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("missing", SECRETS)
def test_it_refuses_to_start_without_a_secret_when_debug_is_off(missing):
    env = {k: v for k, v in read_test_env().items() if k != missing}
    result = python("import django; django.setup()", minimal_env(**env))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} must be set" in result.stderr


def test_it_refuses_a_short_secret():
    result = python("import django; django.setup()", production_env(SECRET_KEY="short"))

    assert result.returncode != 0
    assert "SECRET_KEY must be at least" in result.stderr


@pytest.mark.parametrize("share", ["1.5", "-0.1"])
def test_it_refuses_an_anonymous_share_outside_0_to_1(share):
    env = production_env(EXPUSHER_ANONYMOUS_CONNECTION_SHARE=share)
    result = python("import django; django.setup()", env)

    assert result.returncode != 0
    assert "EXPUSHER_ANONYMOUS_CONNECTION_SHARE must be between 0 and 1" in result.stderr


def test_it_starts_without_secrets_under_debug():
    result = python("import django; django.setup()", minimal_env(DEBUG="True"))

    assert result.returncode == 0, result.stderr


def test_deploy_check_passes_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_uses_redis_for_the_layer_and_cache_when_redis_url_is_set():
    env = production_env(REDIS_URL="redis://redis.internal:6379/3", EXPUSHER_REDIS_PREFIX="xp1")
    result = python(PRINT_BACKENDS, env)

    assert result.returncode == 0, result.stderr
    backends = json.loads(result.stdout)
    assert backends["layer"].startswith("channels_redis.")
    assert [h["address"] for h in backends["layer_config"]["hosts"]] == [
        "redis://redis.internal:6379/3"
    ]
    assert backends["layer_config"]["prefix"] == "xp1"
    assert backends["cache"] == "expusher.cache.SharedRedisCache"
    assert backends["cache_location"] == "redis://redis.internal:6379/3"


def test_it_keeps_everything_in_process_without_redis_url():
    result = python(PRINT_BACKENDS, production_env())

    assert result.returncode == 0, result.stderr
    backends = json.loads(result.stdout)
    assert backends["layer"] == "channels.layers.InMemoryChannelLayer"
    assert backends["cache"] == "django.core.cache.backends.locmem.LocMemCache"
