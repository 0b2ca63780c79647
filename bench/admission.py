"""A burst of connects against one live ExPusher process, with and without its limits.

    .venv/bin/python bench/admission.py [--connects 12000] [--pending 2000,1000000] [--redis]

For each value of EXPUSHER_MAX_PENDING_ADMISSIONS it starts a fresh server process
(`python -m expusher.server`, pinned to core 0 when `taskset` exists) and has the C load
client of ../shared/perf (fanout_client.c, the client of compare.sh, built on first use
into ~/.cache/expusher-perf, pinned to core 1) open `--connects` Pusher sockets at the
same instant, each subscribing to one channel. It prints, per value, how many sockets
were subscribed, how many connects failed (refused with 503, or timed out), and how long
the whole burst took. realtime.capacity's default was chosen from these runs: README
"Measured".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import probes  # noqa: E402
from tests.support import live  # noqa: E402

CLIENT_SOURCE = ROOT.parent / "shared" / "perf" / "fanout_client.c"
CLIENT = Path.home() / ".cache" / "expusher-perf" / "fanout_client"


def load_client() -> Path:
    """The C load client, built from its source when it is missing or older."""
    if not CLIENT_SOURCE.exists():
        sys.exit(f"{CLIENT_SOURCE} is missing: this benchmark uses the shared C load client")
    if not CLIENT.exists() or CLIENT.stat().st_mtime < CLIENT_SOURCE.stat().st_mtime:
        CLIENT.parent.mkdir(parents=True, exist_ok=True)
        build = ["gcc", "-O2", "-o", str(CLIENT), str(CLIENT_SOURCE), "-lcrypto"]
        subprocess.run(build, check=True, capture_output=True)
    return CLIENT


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


@contextlib.contextmanager
def fresh_server(
    directory: Path, redis: bool, **env: str
) -> Iterator[tuple[live.LiveServer, dict]]:
    """A fresh server process (`python -m expusher.server`, DEBUG off) with its own
    database in `directory`, on Redis when asked, every thread pinned to core 0; yields it
    and its application's credentials (live.bootstrap)."""
    redis_url = live.redis_url() if redis else None
    if redis and redis_url is None:
        sys.exit("--redis: no Redis answers on 127.0.0.1:6379 (or REDIS_TEST_URL)")
    server_env = live.ServerEnv.create(
        directory,
        redis_url=redis_url,
        LOG_LEVEL="WARNING",
        EXPUSHER_HALF_OPEN_PER_ADDRESS="1000000",  # every connect comes from 127.0.0.1
        **env,
    )
    if server_env.env.get("DEBUG", "False").lower() in ("1", "true", "yes", "on"):
        sys.exit("DEBUG is on in the server's environment: the figures would mean nothing")
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Bench", "bench@example.test", app="Bench")
    with live.LiveServer(server_env) as server:
        if shutil.which("taskset"):
            # -a: every thread daphne has started by now, not only the main one.
            pin = ["taskset", "-apc", "0", str(server.process.pid)]
            subprocess.run(pin, capture_output=True, timeout=10)
        yield server, creds


def pusher_arguments(creds: dict) -> list[str]:
    """The load client's arguments for Pusher sockets of the bootstrapped application."""
    app = ["--app", str(creds["app_id"]), "--key", creds["app_key"]]
    return ["--proto", "pusher", *app, "--secret", creds["app_secret"]]


def burst(client: Path, server: live.LiveServer, creds: dict, connects: int) -> dict:
    command = [
        str(client),
        "--port",
        str(server.port),
        "--n",
        str(connects),
        "--connect-concurrency",
        str(connects),
        *pusher_arguments(creds),
        "--mode",
        "idle",
        "--hold",
        "1",
    ]
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        sys.exit(f"the load client failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(lines[-1])  # "connect_s" is missing when nobody got in
    failed = next((line for line in done.stderr.splitlines() if line.startswith("only")), "")
    return {"subscribed": result["n"], "burst_s": result.get("connect_s"), "client_says": failed}


def scenario(client: Path, directory: Path, pending: int, args) -> dict:
    limit = {"EXPUSHER_MAX_PENDING_ADMISSIONS": str(pending)}
    with fresh_server(directory / f"pending-{pending}", args.redis, **limit) as (server, creds):
        return {
            "pending_cap": pending,
            "connects": args.connects,
            **burst(client, server, creds, args.connects),
        }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connects", type=int, default=12000)
    parser.add_argument(
        "--pending",
        type=lambda text: [int(v) for v in text.split(",")],
        default=[2000, 1000000],
        help="EXPUSHER_MAX_PENDING_ADMISSIONS values to compare (1000000: no cap)",
    )
    parser.add_argument("--redis", action="store_true")
    args = parser.parse_args(argv)
    client = load_client()
    probes.raise_open_file_limit()
    directory = Path(tempfile.mkdtemp(prefix="expusher-admission-"))
    try:
        for pending in args.pending:
            print(json.dumps(scenario(client, directory, pending, args)), flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
