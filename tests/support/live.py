"""Helpers for end-to-end tests that run REAL server processes (daphne) on loopback.

A typical test::

    from tests.support import live

    def test_it_works(tmp_path):
        server_env = live.ServerEnv.create(tmp_path, redis_url=live.redis_url())
        live.migrate(server_env)
        creds = live.bootstrap(server_env, "Acme", "ops@acme.test", app="Chat")
        with live.LiveServer(server_env) as server:
            status, _, body = server.get("/api/schema/")
            ...

Each ServerEnv has its own SQLite file and, with Redis, its own key prefix, so tests never
see each other's state even when they share one Redis. Several LiveServers may share one
ServerEnv: that is how multi-process (cross-process fan-out) tests are built.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_ENV_FILE = ROOT / "tests" / "test.env"
READY_TIMEOUT = 30.0  # seconds for a server to answer HTTP after it was started
COMMAND_TIMEOUT = 120.0  # seconds for manage.py migrate / bootstrap_org


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_prefix() -> str:
    """A Redis key / channel-layer prefix unique to this call."""
    return f"test-{uuid.uuid4().hex[:12]}"


def redis_url() -> str | None:
    """REDIS_TEST_URL, else the local default if a Redis answers PING there, else None.

    Tests that need Redis skip with a clear reason on None::

        url = live.redis_url() or pytest.skip("no Redis on 127.0.0.1:6379")
    """
    configured = os.environ.get("REDIS_TEST_URL")
    if configured:
        return configured
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/0"
    except OSError:
        pass
    return None


def read_test_env() -> dict[str, str]:
    """The KEY=VALUE lines of tests/test.env."""
    values = {}
    for line in TEST_ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@dataclass
class ServerEnv:
    """A directory (SQLite database, server logs) and the environment for server processes."""

    directory: Path
    env: dict[str, str] = field(repr=False)

    @property
    def database(self) -> Path:
        return self.directory / "db.sqlite3"

    @classmethod
    def create(
        cls,
        directory: Path | str | None = None,
        *,
        redis_url: str | None = None,
        **extra: str,
    ) -> ServerEnv:
        """os.environ + tests/test.env + a private SQLite file (+ Redis with a fresh prefix).

        `extra` sets or overrides variables, e.g. ``EXPUSHER_REVOCATION_CACHE_SECONDS="1"``.
        """
        directory = Path(directory or tempfile.mkdtemp(prefix="expusher-live-"))
        directory.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Whatever the developer's shell says about databases and Redis does not apply.
        for name in ("DATABASE_URL", "REDIS_URL", "EXPUSHER_REDIS_PREFIX"):
            env.pop(name, None)
        env.update(read_test_env())
        env.update(
            DJANGO_SETTINGS_MODULE="expusher.settings",
            EXPUSHER_ENV_FILE=os.devnull,  # never read the repo's .env
            DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
            PYTHONUNBUFFERED="1",
        )
        if redis_url:
            env.update(REDIS_URL=redis_url, EXPUSHER_REDIS_PREFIX=unique_prefix())
        env.update(extra)
        return cls(directory=directory, env=env)


def manage(server_env: ServerEnv, *args: str) -> str:
    """Run `manage.py ARGS` in a subprocess; return its stdout, raise with its output on error."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=server_env.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def migrate(server_env: ServerEnv) -> None:
    manage(server_env, "migrate", "--noinput", "-v", "0")


def bootstrap(
    server_env: ServerEnv,
    name: str,
    email: str,
    *,
    app: str | None = None,
    password: str | None = None,
) -> dict:
    """Run bootstrap_org --json; return its object (organization, token, app_* with app)."""
    args = ["bootstrap_org", "--name", name, "--email", email, "--json"]
    if app is not None:
        args += ["--app", app]
    if password is not None:
        args += ["--password", password]
    return json.loads(manage(server_env, *args))


def _daphne_command(port: int) -> list[str]:
    # The same launcher as scripts/serve and the Procfile, with the same limits.
    return [sys.executable, "-m", "expusher.server", "-b", "127.0.0.1", "-p", str(port)]


class LiveServer:
    """A daphne process serving expusher.asgi on 127.0.0.1:<port>; a context manager.

    Entering starts it and waits (at most `ready_timeout` seconds) until it answers HTTP on
    /healthz; any answer below 500 counts, so a missing /healthz (404) still means "up".
    stdout and stderr go to `<directory>/server-<port>.log`, readable with log_text().
    """

    def __init__(
        self,
        server_env: ServerEnv,
        *,
        port: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ):
        self.server_env = server_env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = server_env.directory / f"server-{self.port}.log"
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._log = open(self.log_path, "ab")  # closed by stop() or kill()
        self.process = subprocess.Popen(
            _daphne_command(self.port),
            cwd=ROOT,
            env=self.server_env.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server on port {self.port} exited with {self.process.returncode}:\n"
                    f"{self.log_text()}"
                )
            try:
                status, _, _ = self.get("/healthz", timeout=2)
                if status < 500:
                    return
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server on port {self.port} not ready after {self.ready_timeout}s:\n"
                    f"{self.log_text()}"
                )
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | dict | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request (a dict body is sent as JSON); returns (status, headers, body)."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> tuple[int, dict[str, str], bytes]:
        return self.request("POST", path, **kwargs)

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        if self._log is not None and not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL: the process dies without any cleanup, as in a crash."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self._reap(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM and wait for a graceful exit; SIGKILL if it takes longer than `timeout`."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reap(timeout=10)

    def _reap(self, timeout: float) -> None:
        if self.process is not None:
            self.process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
