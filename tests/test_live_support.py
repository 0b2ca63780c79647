"""tests.support.live really starts, serves from and kills a daphne process."""

import json

import pytest

from tests.support import live

pytestmark = pytest.mark.e2e


def test_it_serves_the_schema_and_dies_on_kill(tmp_path):
    server_env = live.ServerEnv.create(tmp_path)
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Acme", "ops@acme.test", app="Acme Chat")
    assert creds["token"].startswith("exps_")

    with live.LiveServer(server_env) as server:
        status, headers, body = server.get("/api/schema/")
        assert status == 200
        assert b"ExPusher API" in body

        # The server uses the database bootstrap() wrote to.
        status, _, body = server.post("/api/sessions", body={"token": creds["token"]})
        assert status == 201, body
        assert json.loads(body)["jwt"]

        process = server.process
        server.kill()
        assert process.returncode == -9
        assert not server.running
        with pytest.raises(OSError):
            server.get("/api/schema/", timeout=2)
        assert str(server.port) in server.log_text()


def test_it_stops_gracefully_on_stop(tmp_path):
    server_env = live.ServerEnv.create(tmp_path)
    live.migrate(server_env)
    server = live.LiveServer(server_env)
    server.start()
    assert server.running

    server.stop()

    assert server.process.returncode is not None
    assert server.process.returncode != -9


def test_each_server_env_has_its_own_database_and_redis_prefix(tmp_path):
    first = live.ServerEnv.create(tmp_path / "a", redis_url="redis://127.0.0.1:6379/0")
    second = live.ServerEnv.create(tmp_path / "b", redis_url="redis://127.0.0.1:6379/0")
    embedded = live.ServerEnv.create(tmp_path / "c")

    assert first.env["DATABASE_URL"] != second.env["DATABASE_URL"]
    assert first.env["EXPUSHER_REDIS_PREFIX"] != second.env["EXPUSHER_REDIS_PREFIX"]
    assert "REDIS_URL" not in embedded.env


def test_it_reports_a_server_that_cannot_start(tmp_path):
    server_env = live.ServerEnv.create(tmp_path, SECRET_KEY="")  # DEBUG off: refuses to start

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        live.LiveServer(server_env).start()
