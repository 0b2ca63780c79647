"""ExPusher beside soketi 1.6.1: the same load, one server core each, in one run.

    .venv/bin/python bench/compare.py [--protocol pusher|phoenix] [--ns 1,100,1000] [--redis]
                                      [--bearer token|jwt] [--window 8] [--size 100] [--seconds 4]

What ../shared/perf/compare.sh measures, as one command of our own. It starts a fresh
ExPusher process (`python -m expusher.server`, DEBUG off, pinned to core 0 when `taskset`
exists), measures it and stops it, then starts soketi 1.6.1 (installed with npm into
~/.cache/expusher-perf/soketi on first use, bound to loopback as
../shared/perf/soketi/run-soketi.sh does, also on core 0) and measures it the same way:
only one server runs at a time. The load is the C client of compare.sh (fanout_client.c,
pinned to core 1), so the client is never the bottleneck.

For each subscriber count N on one channel: closed-loop throughput (at most `--window`
events outstanding, about `--seconds` of traffic after a 1-second calibration run) and
open-loop latency at light load (20 events/s x 100 below N=1000, 2 events/s x 30 from
there). soketi always speaks Pusher protocol 7 with the signed HTTP API; ExPusher does the
same with `--protocol pusher`, or Phoenix channels with its REST trigger API with
`--protocol phoenix` (triggers authorized by the application's secret token, or with
`--bearer jwt` by a JWT from /api/sessions). Prints one JSON line per client run, then a
Markdown table; exits 1 if the client saw ExPusher lose, duplicate or reorder a delivery.
bench/README.md, section "Side by side with soketi", explains the columns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import probes  # noqa: E402
from bench.admission import CLIENT, fresh_server, load_client, pinned  # noqa: E402
from bench.memory import client_arguments  # noqa: E402
from tests.support import live  # noqa: E402

SHARED_SOKETI = ROOT.parent / "shared" / "perf" / "soketi"
SOKETI_DIR = CLIENT.parent / "soketi"  # next to the client build, where compare.sh keeps it
SOKETI_JS = Path("node_modules/@soketi/soketi/bin/server.js")
SOKETI_CLUSTER_PORT = 11002  # fixed in run-soketi.sh: it must be free
# soketi's built-in default application; the C client's defaults are the same.
SOKETI_APP = ["--app", "app-id", "--key", "app-key", "--secret", "app-secret"]

# Deliveries/s guessed before calibration (compare.sh's figures), only sizes the first run.
FIRST_GUESS = {"expusher": 20000, "soketi": 115000}
CALIBRATION_EVENTS = 2000  # enough for a rate within a few per cent
CLIENT_TIMEOUT = 90  # seconds for one client run; the client itself stops at --max-seconds
CLIENT_BUSY = 85.0  # client CPU % from which the client, not the server, may be the limit
NAMES = {"expusher": "ExPusher", "soketi": "soketi"}


@dataclass
class Target:
    """A running server, as the load client needs to see it."""

    name: str  # "expusher" or "soketi"
    port: int
    pids: list[int]  # the server first, helpers (Redis) after it: the client reads their CPU
    protocol_arguments: list[str]
    results: list[dict] = field(default_factory=list)


# ---- the load client


def run_client(client: Path, target: Target, kind: str, n: int, arguments: list[str]) -> dict:
    """One client run against target; its JSON result (with server/kind added) or an error."""
    command = [str(client), "--label", f"{target.name}:{kind}:{n}", "--port", str(target.port)]
    command += ["--n", str(n), "--server-pids", ",".join(map(str, target.pids))]
    command += [*target.protocol_arguments, *arguments]
    base = {"server": target.name, "kind": kind, "n_requested": n}
    try:
        done = subprocess.run(
            pinned(1, command), capture_output=True, text=True, timeout=CLIENT_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return {**base, "error": f"the client did not finish within {CLIENT_TIMEOUT} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {**base, "error": f"no result (exit {done.returncode}): {done.stderr[-500:]}"}
    result = {**base, **json.loads(lines[-1])}
    if done.stderr.strip():
        result["client_stderr"] = done.stderr.strip()[-500:]
    return result


def throughput_arguments(events: int, window: int, size: int) -> list[str]:
    warmup = min(events, 50)
    return [
        *("--mode", "throughput", "--events", str(events), "--window", str(window)),
        *("--size", str(size), "--warmup", str(warmup), "--max-seconds", "30"),
    ]


def latency_arguments(n: int, size: int) -> list[str]:
    # Light load, as compare.sh: the fan-out of 1,000 sockets must not queue between events.
    rate, events = (2, 30) if n >= 1000 else (20, 100)
    return [
        *("--mode", "latency", "--events", str(events), "--rate", str(rate)),
        *("--size", str(size), "--warmup", "5", "--max-seconds", "40"),
    ]


def events_for(deliveries_per_s: float, seconds: float, n: int) -> int:
    """Events that make about `seconds` of traffic at that rate, within compare.sh's bounds."""
    return int(min(20000, max(20, deliveries_per_s * seconds / n)))


def preflight(client: Path, target: Target) -> None:
    """2 subscribers, 3 triggers: stop before measuring anything if the server is not right."""
    result = run_client(client, target, "preflight", 2, throughput_arguments(3, 1, 100))
    if result.get("n") != 2 or result.get("delivered") != 6 or result.get("http_errors") != 0:
        raise RuntimeError(f"{NAMES[target.name]} preflight failed: {json.dumps(result)}")


def measure(client: Path, target: Target, args) -> None:
    """Calibration, throughput and latency for every N; each result is printed as it comes."""
    preflight(client, target)
    for n in args.ns:
        # About 1 s of traffic at the first guess, to size the real run to `--seconds`; at
        # most CALIBRATION_EVENTS, since a guess 10x too high would cost 10 s here.
        guess = min(CALIBRATION_EVENTS, events_for(FIRST_GUESS[target.name], 1, n))
        calibration = throughput_arguments(guess, args.window, args.size)
        found = record(target, run_client(client, target, "calibration", n, calibration))
        per_second = found.get("msgs_per_s") or FIRST_GUESS[target.name]
        throughput = throughput_arguments(
            events_for(per_second, args.seconds, n), args.window, args.size
        )
        record(target, run_client(client, target, "throughput", n, throughput))
        record(target, run_client(client, target, "latency", n, latency_arguments(n, args.size)))


def record(target: Target, result: dict) -> dict:
    target.results.append(result)
    print(json.dumps(result), flush=True)
    return result


# ---- ExPusher


@contextlib.contextmanager
def expusher(directory: Path, args) -> Iterator[Target]:
    """A fresh ExPusher process on core 0, with its own database and credentials."""
    with fresh_server(directory / "expusher", args.redis) as (server, creds):
        helpers = probes.pids_named("redis-server") if args.redis else []
        try:
            yield Target(
                "expusher",
                server.port,
                [server.process.pid, *helpers],
                _with_bearer(client_arguments(args.protocol, server, creds), args.bearer),
            )
        except BaseException:
            sys.stderr.write(f"ExPusher's log ends with:\n{server.log_text()[-2000:]}\n")
            raise


def _with_bearer(arguments: list[str], bearer: str) -> list[str]:
    """The Phoenix client's arguments, its REST triggers authorized with the JWT when
    `bearer` is "jwt" (the client sends whatever --token holds as the Bearer value)."""
    if bearer != "jwt" or "--jwt" not in arguments:
        return arguments
    arguments = list(arguments)
    arguments[arguments.index("--token") + 1] = arguments[arguments.index("--jwt") + 1]
    return arguments


# ---- soketi


def install_soketi() -> Path:
    """soketi 1.6.1 from npm into SOKETI_DIR, once (again when the shared package.json changes)."""
    wanted = (SHARED_SOKETI / "package.json").read_text()
    manifest = SOKETI_DIR / "package.json"
    if (SOKETI_DIR / SOKETI_JS).exists() and manifest.exists() and manifest.read_text() == wanted:
        return SOKETI_DIR
    if not shutil.which("npm"):
        sys.exit("npm is missing: soketi is installed from npm")
    SOKETI_DIR.mkdir(parents=True, exist_ok=True)
    manifest.write_text(wanted)
    print(f"installing soketi 1.6.1 into {SOKETI_DIR} (npm)", file=sys.stderr, flush=True)
    command = ["npm", "install", "--no-audit", "--no-fund"]
    code, output = run_in_own_group(command, cwd=SOKETI_DIR, timeout=600)
    if code != 0 or not (SOKETI_DIR / SOKETI_JS).exists():
        sys.exit(f"npm install of soketi failed (exit {code}):\n{output[-3000:]}")
    return SOKETI_DIR


def run_in_own_group(command: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Run a command; on timeout end it and every process it started (npm runs scripts)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout} s"
    finally:
        end_group(process)


def end_group(process: subprocess.Popen, grace: float = 5) -> None:
    """SIGTERM to the process group we created for `process`, SIGKILL after `grace` s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait(timeout=10)


def soketi_environment(port: int, metrics_port: int) -> dict[str, str]:
    """run-soketi.sh's settings: loopback only, cluster discovery on unicast 127.0.0.1."""
    env = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    env.update(
        SOKETI_HOST="127.0.0.1",
        SOKETI_PORT=str(port),
        SOKETI_METRICS_HOST="127.0.0.1",
        SOKETI_METRICS_SERVER_PORT=str(metrics_port),
        SOKETI_CLUSTER_HOST="127.0.0.1",
        SOKETI_CLUSTER_UNICAST_ADDRESSES="127.0.0.1",
        SOKETI_CLUSTER_PORT=str(SOKETI_CLUSTER_PORT),
        SOKETI_ADAPTER_DRIVER="local",
        SOKETI_RATE_LIMITER_DRIVER="local",
        SOKETI_QUEUE_DRIVER="sync",
        SOKETI_DEBUG="0",  # with debug on soketi logs every frame
    )
    return env


def port_taken(port: int) -> bool:
    """Whether something holds 127.0.0.1:port, in TCP or UDP (soketi's cluster uses UDP)."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return True
    return False


@contextlib.contextmanager
def soketi(directory: Path) -> Iterator[Target]:
    """soketi on core 0, stopped (with anything it started) when the block ends."""
    node = shutil.which("node") or sys.exit("node is missing: soketi runs on Node")
    if port_taken(SOKETI_CLUSTER_PORT):
        sys.exit(f"port {SOKETI_CLUSTER_PORT} (soketi's fixed cluster port) is in use")
    port, metrics_port = live.free_port(), live.free_port()
    log_path = directory / "soketi.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            pinned(0, [node, str(SOKETI_JS), "start"]),
            cwd=install_soketi(),
            env=soketi_environment(port, metrics_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # so that end_group reaches anything node starts
        )
        try:
            wait_listening(process, port, log_path)
            yield Target("soketi", port, [process.pid], SOKETI_APP)
        except BaseException:
            sys.stderr.write(f"soketi's log ends with:\n{log_path.read_text()[-2000:]}\n")
            raise
        finally:
            end_group(process)


def wait_listening(process: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"soketi exited with {process.returncode}, see {log_path}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            time.sleep(1)  # listening; let it finish starting before the first handshake
            return
        time.sleep(0.2)
    raise RuntimeError(f"soketi did not listen on {port} within 30 s")


# ---- the report


def of(target: Target, n: int, kind: str) -> dict:
    """The result of one kind of run at N (an empty dict when that run is missing)."""
    return next((r for r in target.results if r["kind"] == kind and r["n_requested"] == n), {})


def faults(target: Target, n: int) -> dict[str, int]:
    """Lost, duplicated and reordered deliveries, and other errors, over every run at N."""
    runs = [r for r in target.results if r["n_requested"] == n]
    count = {"lost": 0, "dup": 0, "reordered": 0, "errors": 0}
    for run in runs:
        count["lost"] += max(0, run.get("lost", 0))  # a duplicate may make it negative
        count["dup"] += run.get("dup", 0)
        count["reordered"] += run.get("reordered", 0)
        count["errors"] += sum(
            run.get(key, 0)
            for key in ("http_errors", "connect_errors", "join_errors", "closed_unexpectedly")
        )
        count["errors"] += int("error" in run or run.get("n") != n)  # no result, or short of N
    return count


def faults_cell(target: Target, n: int) -> str:
    count = faults(target, n)
    cell = f"{count['lost']} / {count['dup']} / {count['reordered']}"
    return cell + (f" ({count['errors']} errors)" if count["errors"] else "")


def cpu_cell(target: Target, n: int) -> str:
    """The server's CPU during the throughput run, % of one core (Redis after a '+')."""
    shares = of(target, n, "throughput").get("server_cpu_pct") or []
    if not shares:
        return "n/a"
    cell = f"{shares[0]:.0f}"
    return cell + (f" + {sum(shares[1:]):.0f} redis" if len(shares) > 1 else "")


def rate(target: Target, n: int) -> float | None:
    return of(target, n, "throughput").get("msgs_per_s")


def latency_cell(target: Target, n: int) -> str:
    run = of(target, n, "latency")
    if "lat_p50_ms" not in run:
        return "n/a"
    return f"{run['lat_p50_ms']:.1f} / {run['lat_p99_ms']:.1f}"


def table(targets: dict[str, Target], args) -> str:
    ours, theirs = targets["expusher"], targets["soketi"]
    lines = [
        "| N | deliveries/s ExPusher | deliveries/s soketi | ExPusher / soketi "
        "| p50 / p99 ms ExPusher | p50 / p99 ms soketi | CPU % ExPusher | CPU % soketi "
        "| lost / dup / reord ExPusher | lost / dup / reord soketi |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in args.ns:
        mine, other = rate(ours, n), rate(theirs, n)
        ratio = f"{mine / other:.2f}" if mine and other else "n/a"
        cells = [
            f"{n} (triggers/s)" if n == 1 else str(n),
            f"{mine:,.0f}" if mine else "n/a",
            f"{other:,.0f}" if other else "n/a",
            ratio,
            latency_cell(ours, n),
            latency_cell(theirs, n),
            cpu_cell(ours, n),
            cpu_cell(theirs, n),
            faults_cell(ours, n),
            faults_cell(theirs, n),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _triggers(args) -> str:
    if args.protocol != "phoenix":
        return ""
    return ", REST triggers with a " + ("JWT" if args.bearer == "jwt" else "secret token")


def heading(args) -> str:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10)
    layer = "Redis" if args.redis else "embedded"
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return (
        f"## bench/compare.py {when}, {os.cpu_count()} CPUs ({cpu_model()}), "
        f"kernel {platform.release()}\n\n"
        f"ExPusher {commit or '?'} ({args.protocol} protocol{_triggers(args)}, {layer} layer, "
        "DEBUG off) "
        f"beside soketi 1.6.1 (pusher protocol, node {node.stdout.strip()}); "
        f"{args.size}-byte payloads, one channel, servers on CPU 0, client on CPU 1."
    )


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def footnote(args) -> str:
    return (
        f"Deliveries/s: closed loop, at most {args.window} events outstanding, about "
        f"{args.seconds:g} s of traffic (N=1: triggers/s). p50 / p99: open loop at light load "
        "(20 events/s x 100 below N=1000, 2 events/s x 30 from there). CPU %: the server "
        "process during the throughput run, 100 = one core. lost / dup / reord: over every "
        "run at that N (calibration, throughput, latency); 'errors' counts HTTP, connect and "
        "join errors and runs short of N or without a result."
    )


def warnings(targets: dict[str, Target]) -> list[str]:
    """What makes a figure suspect: a busy client, or a run without a result."""
    notes = []
    for target in targets.values():
        for run in target.results:
            where = f"{NAMES[target.name]} {run['kind']} N={run['n_requested']}"
            if "error" in run:
                notes.append(f"WARNING: {where}: {run['error']}")
            elif run.get("client_cpu_pct", 0) >= CLIENT_BUSY:
                notes.append(
                    f"WARNING: {where}: the client used {run['client_cpu_pct']:.0f}% of its "
                    "core, so it may have been the limit"
                )
    return notes


def other_load(run: dict) -> float | None:
    """CPU the rest of the machine used during a throughput run, % of one core."""
    if "system_busy_pct_of_200" not in run or "client_cpu_pct" not in run:
        return None
    servers = sum(run.get("server_cpu_pct") or [])
    return max(0.0, run["system_busy_pct_of_200"] - servers - run["client_cpu_pct"])


def disturbance(targets: dict[str, Target]) -> str:
    """One line: how busy the rest of the machine was while each server was measured."""
    parts = []
    for target in targets.values():
        loads = [
            load
            for run in target.results
            if run["kind"] == "throughput" and (load := other_load(run)) is not None
        ]
        if loads:
            parts.append(f"{NAMES[target.name]} {min(loads):.0f}–{max(loads):.0f} %")
    return (
        "Other programs on the machine during the throughput runs, % of one core: "
        + (", ".join(parts) or "n/a")
        + " (above about 25 the figures are disturbed; only same-run ratios then mean much)."
    )


def expusher_is_sound(target: Target, args) -> bool:
    """No lost, duplicated or reordered delivery, and every measurement has a result."""
    runs = target.results
    clean = all(
        max(0, run.get("lost", 0)) + run.get("dup", 0) + run.get("reordered", 0) == 0
        for run in runs
    )
    complete = all("error" not in run for run in runs) and len(runs) == 3 * len(args.ns)
    return clean and complete


# ---- main


def parse_arguments(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=["pusher", "phoenix"], default="pusher")
    parser.add_argument(
        "--ns",
        type=lambda text: [int(v) for v in text.split(",")],
        default=[1, 100, 1000],
        help="subscriber counts on one channel (1: the trigger path alone)",
    )
    parser.add_argument("--redis", action="store_true", help="ExPusher on the Redis layer")
    parser.add_argument(
        "--bearer",
        choices=["token", "jwt"],
        default="token",
        help="with --protocol phoenix: REST triggers authorized by the secret token or a JWT",
    )
    parser.add_argument("--window", type=int, default=8, help="events outstanding at most")
    parser.add_argument("--size", type=int, default=100, help="payload bytes per event")
    parser.add_argument(
        "--seconds", type=float, default=4, help="traffic per throughput run, about"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    client = load_client()
    install_soketi()  # before any server runs: npm must not share a core with a measurement
    probes.raise_open_file_limit()  # inherited by the client and both servers
    directory = Path(tempfile.mkdtemp(prefix="expusher-compare-"))
    targets: dict[str, Target] = {}
    try:
        # One server at a time, so that each has core 0 to itself.
        with expusher(directory, args) as target:
            targets["expusher"] = target
            measure(client, target, args)
        with soketi(directory) as target:
            targets["soketi"] = target
            measure(client, target, args)
    except RuntimeError as failure:
        sys.exit(f"compare.py: {failure}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"\n{heading(args)}\n\n{table(targets, args)}\n")
    print(f"{footnote(args)}\n\n{disturbance(targets)}")
    for note in warnings(targets):
        print(note, file=sys.stderr)
    if not expusher_is_sound(targets["expusher"], args):
        sys.exit("ExPusher lost, duplicated or reordered deliveries, or a run had no result")


if __name__ == "__main__":
    main()
