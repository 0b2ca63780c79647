"""Server memory per idle subscribed connection, for both protocols.

    .venv/bin/python bench/memory.py [--connections 5000] [--protocols pusher,phoenix] [--redis]

For each protocol it starts a fresh server process (`python -m expusher.server`, pinned to
core 0 when `taskset` exists), warms it with 20 sockets, reads its resident memory
(VmRSS), then has the C load client of ../shared/perf (the client of compare.sh and
bench/admission.py, pinned to core 1) open `--connections` sockets, each subscribed to one
channel (Pusher: a public channel; Phoenix: a topic joined with a JWT), and reads VmRSS
again while they are all open. It prints the growth divided by the number of sockets:
README "Measured" quotes it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import probes  # noqa: E402
from bench.admission import fresh_server, load_client, pinned, pusher_arguments  # noqa: E402
from tests.support import live  # noqa: E402

WARM_UP = 20


def client_arguments(protocol: str, server: live.LiveServer, creds: dict) -> list[str]:
    if protocol == "pusher":
        return pusher_arguments(creds)
    status, _, body = server.post("/api/sessions", body={"token": creds["token"]})
    if status != 201:
        sys.exit(f"/api/sessions answered {status}: {body[:200]!r}")
    return [
        "--proto",
        "phoenix",
        "--org",
        creds["organization"],
        "--token",
        creds["token"],
        "--jwt",
        json.loads(body)["jwt"],
        "--app-key",
        creds["app_key"],
    ]


def hold(client: Path, server: live.LiveServer, arguments: list[str], n: int) -> dict:
    """Open n sockets, subscribe each, and report the client's figures while all are open
    (its `server_rss_kb` is read once every socket is subscribed)."""
    command = [str(client), "--port", str(server.port), "--n", str(n)]
    command += ["--connect-concurrency", "100", *arguments, "--mode", "idle", "--hold", "2"]
    command += ["--server-pids", str(server.process.pid)]
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, timeout=300)
    lines = done.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        sys.exit(f"the load client failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(lines[-1])
    if result.get("n") != n:
        sys.exit(f"only {result.get('n')} of {n} sockets were subscribed: {done.stderr}")
    return result


def scenario(client: Path, directory: Path, protocol: str, args) -> dict:
    with fresh_server(directory / protocol, args.redis) as (server, creds):
        pid = server.process.pid
        arguments = client_arguments(protocol, server, creds)
        hold(client, server, arguments, WARM_UP)
        time.sleep(2)  # the warm-up sockets are gone
        before = probes.rss_kib(pid)
        held = hold(client, server, arguments, args.connections)
        after = held["server_rss_kb"][0]
        return {
            "protocol": protocol,
            "layer": "redis" if args.redis else "memory",
            "connections": args.connections,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_connection": round((after - before) / args.connections, 1),
            "connect_s": held.get("connect_s"),
        }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--protocols", default="pusher,phoenix")
    parser.add_argument("--redis", action="store_true")
    args = parser.parse_args(argv)
    client = load_client()
    probes.raise_open_file_limit()
    directory = Path(tempfile.mkdtemp(prefix="expusher-memory-"))
    try:
        for protocol in args.protocols.split(","):
            print(json.dumps(scenario(client, directory, protocol, args)), flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
