"""Fan-out benchmark against a live ExPusher server.

    .venv/bin/python bench/fanout.py [--subscribers 100,1000] [--events 200] [--redis]

For each subscriber count it starts a fresh server process (`python -m expusher.server`,
SQLite, in-memory channel layer, or Redis with --redis), connects that many WebSocket
subscribers from this one asyncio process (Phoenix serializer 2.0.0, all joined to topic
"bench"), and triggers events over REST on keep-alive HTTP connections in two phases:

* paced: `--paced-events` events at `--rate` events/s: latency without queueing;
* burst: `--events` events as fast as the server takes them, at most `--window` events
  in flight (triggered but not yet delivered to every subscriber): throughput.

Every event carries its send time and a sequence number; every subscriber checks each
arrival, so lost, duplicated and reordered deliveries are counted, not assumed. Server
memory per idle connection is the growth of the server's VmRSS from before connecting to
after all subscribers joined, divided by their number. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import probes  # noqa: E402
from bench.report import print_report  # noqa: E402
from tests.support import live  # noqa: E402

TOPIC, EVENT = "bench", "tick"
CONNECT_CONCURRENCY = 50  # WebSocket handshakes in flight at once
DRAIN_SECONDS = 10.0  # wait for deliveries after the last trigger, at most
CLIENT_SATURATED = 0.85  # client CPU / wall above this: the client is the bottleneck


class Phase:
    """One run of triggers and what every subscriber saw of it."""

    def __init__(self, number: int, name: str, subscribers: int, events: int):
        self.number, self.name = number, name
        self.subscribers, self.events = subscribers, events
        self.per_event = [0] * events
        self.sent_at = array("d", bytes(8 * events))  # trigger time of each event
        self.all_at = array("d", bytes(8 * events))  # when its last subscriber got it
        self.seen = [bytearray(events) for _ in range(subscribers)]
        self.last_seq = [-1] * subscribers
        self.latencies = array("d")
        self.frames = self.duplicates = self.reordered = 0
        self.sent = self.failed = self.complete = 0
        self.first_send = self.last_send = self.last_receive = 0.0
        self.all_done = asyncio.Event()
        self.window: asyncio.Semaphore | None = None
        self.timed_out = False

    def record(self, index: int, seq: int, sent_at: float, now: float) -> None:
        self.frames += 1
        self.last_receive = now
        seen = self.seen[index]
        if seen[seq]:
            self.duplicates += 1
            return
        seen[seq] = 1
        if seq < self.last_seq[index]:
            self.reordered += 1
        else:
            self.last_seq[index] = seq
        self.latencies.append(now - sent_at)
        self.per_event[seq] += 1
        if self.per_event[seq] == self.subscribers:
            self.sent_at[seq], self.all_at[seq] = sent_at, now
            self._finish_one()

    def _finish_one(self) -> None:
        self.complete += 1
        self.window.release()
        if self.complete == self.events:
            self.all_done.set()


@dataclass
class Bench:
    """The subscribers of one scenario and the phase they currently report to."""

    phase: Phase | None = None
    sockets: list = field(default_factory=list)
    readers: list = field(default_factory=list)
    helper_pids: list[int] = field(default_factory=list)  # redis-server, counted apart
    stray: int = 0  # frames of no running phase
    dropped: int = 0  # subscriber connections closed by the server

    async def listen(self, ws, index: int) -> None:
        try:
            async for frame in ws:
                now = time.time()
                data = json.loads(frame)
                if data[3] != EVENT:
                    continue  # replies
                payload, phase = data[4], self.phase
                if phase is None or payload["p"] != phase.number:
                    self.stray += 1
                    continue
                phase.record(index, payload["s"], payload["t"], now)
        except websockets.ConnectionClosed:
            self.dropped += 1


async def subscribe(url: str) -> websockets.ClientConnection:
    ws = await connect(url, compression=None, ping_interval=None, proxy=None, open_timeout=30)
    await ws.send(json.dumps(["1", "1", TOPIC, "phx_join", {}]))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if reply[3] != "phx_reply" or reply[4].get("status") != "ok":
        raise RuntimeError(f"join refused: {reply}")
    return ws


async def connect_all(bench: Bench, url: str, count: int) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> None:
        async with gate:
            ws = await subscribe(url)
        bench.sockets.append(ws)

    await asyncio.gather(*(one() for _ in range(count)))
    for index, ws in enumerate(bench.sockets):
        bench.readers.append(asyncio.create_task(bench.listen(ws, index)))


async def close_all(bench: Bench) -> None:
    for reader in bench.readers:
        reader.cancel()
    closing = [ws.close() for ws in bench.sockets]
    try:
        await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 15)
    except TimeoutError:
        for ws in bench.sockets:
            ws.transport.abort()
    bench.sockets.clear()
    bench.readers.clear()


async def trigger(phase: Phase, port: int, auth: str, path: str, args, rate: float) -> None:
    """Send phase.events events over args.http keep-alive connections."""
    phase.window = asyncio.Semaphore(args.window)
    clients = [probes.HttpClient(port, auth) for _ in range(args.http)]
    for client in clients:
        await client.open()
    sequence = iter(range(phase.events))
    start = time.monotonic()

    async def worker(client: probes.HttpClient) -> None:
        while True:
            await phase.window.acquire()
            seq = next(sequence, None)
            if seq is None:
                phase.window.release()
                return
            if rate:
                await asyncio.sleep(max(0.0, start + seq / rate - time.monotonic()))
            sent_at = time.time()
            phase.first_send = phase.first_send or sent_at
            body = json.dumps({"t": sent_at, "s": seq, "p": phase.number}).encode()
            status, _ = await client.post(path, body)
            phase.last_send = time.time()
            if status == 200:
                phase.sent += 1
            else:
                phase.failed += 1
                phase._finish_one()  # never coming: free its place in the window

    try:
        await asyncio.gather(*(worker(c) for c in clients))
    finally:
        for client in clients:
            await client.close()


async def run_phase(bench, server, creds, args, name, events, rate, deadline) -> dict:
    number = 0 if bench.phase is None else bench.phase.number + 1
    phase = bench.phase = Phase(number, name, len(bench.sockets), events)
    auth = f"Bearer {creds['token']}"
    path = (
        f"/api/organizations/{creds['organization']}/applications/{creds['app_key']}"
        f"/event/{EVENT}?topic={TOPIC}"
    )
    # The client's own garbage collector must not pause it mid-measurement (a full
    # collection over 1,000 connections takes ~0.1 s); a phase is short and bounded.
    gc.collect()
    gc.disable()
    cpu = probes.CpuWindow(server.process.pid, bench.helper_pids).start()
    try:
        async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
            await trigger(phase, server.port, auth, path, args, rate)
            async with asyncio.timeout(DRAIN_SECONDS):
                await phase.all_done.wait()
    except TimeoutError:
        phase.timed_out = True
    finally:
        gc.enable()
    return phase_result(phase, cpu.stop())


def phase_result(phase: Phase, cpu: dict[str, float]) -> dict:
    wall = cpu["wall"]
    latencies = sorted(phase.latencies)
    delivery_span = max(phase.last_receive - phase.first_send, 1e-9)
    trigger_span = max(phase.last_send - phase.first_send, 1e-9)
    unique = len(latencies)
    everyone = sorted(a - s for s, a in zip(phase.sent_at, phase.all_at, strict=True) if a)
    return {
        "phase": phase.name,
        "events": phase.sent,
        "failed_requests": phase.failed,
        "trigger_rps": phase.sent / trigger_span if phase.sent > 1 else 0.0,
        "delivered_per_s": phase.frames / delivery_span if phase.frames else 0.0,
        "frames": phase.frames,
        "p50_ms": probes.percentile(latencies, 0.50) * 1000,
        "p99_ms": probes.percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        # Per event: from its trigger until the last subscriber had it.
        "all_p50_ms": probes.percentile(everyone, 0.50) * 1000,
        "all_max_ms": (everyone[-1] if everyone else float("nan")) * 1000,
        "lost": phase.sent * phase.subscribers - unique,
        "duplicates": phase.duplicates,
        "reordered": phase.reordered,
        "timed_out": phase.timed_out,
        "wall_s": wall,
        "client_cpu": cpu["client"] / wall,
        "server_cpu": cpu["server"] / wall,
        "redis_cpu": cpu["helpers"] / wall,
        "other_cpu": cpu["other"] / wall,  # other processes, kernel threads: noise
        "client_saturated": cpu["client"] / wall >= CLIENT_SATURATED,
    }


async def session_jwt(server: live.LiveServer, token: str) -> str:
    body = {"token": token, "listen": [TOPIC], "publish": []}
    status, _, data = await asyncio.to_thread(server.post, "/api/sessions", body=body)
    if status != 201:
        raise RuntimeError(f"POST /api/sessions: {status} {data[:200]!r}")
    return json.loads(data)["jwt"]


async def warm_up(bench: Bench, server, creds, url, args) -> None:
    """Load every code path once, so the memory baseline is not module imports."""
    await connect_all(bench, url, 2)
    deadline = time.monotonic() + 30
    await run_phase(bench, server, creds, args, "warm-up", 3, 0, deadline)
    await close_all(bench)
    bench.phase, bench.stray, bench.dropped = None, 0, 0
    await asyncio.sleep(1)


async def scenario(server_env, creds, subscribers: int, args, layer: str) -> dict:
    bench = Bench(helper_pids=probes.pids_named("redis-server") if layer == "redis" else [])
    result = {"layer": layer, "subscribers": subscribers, "phases": []}
    with live.LiveServer(server_env) as server:
        pid = server.process.pid
        jwt = await session_jwt(server, creds["token"])
        url = f"{server.ws_url}/socket/websocket?vsn=2.0.0&app_key={creds['app_key']}&jwt={jwt}"
        await warm_up(bench, server, creds, url, args)
        deadline = time.monotonic() + args.deadline
        result["rss_before_kib"] = probes.rss_kib(pid)
        started = time.monotonic()
        try:
            async with asyncio.timeout(args.deadline):
                await connect_all(bench, url, subscribers)
        except TimeoutError:
            result["connect_timed_out"] = True
        result["connected"] = len(bench.sockets)
        result["connect_s"] = time.monotonic() - started
        await asyncio.sleep(2)  # idle: let the server settle
        result["rss_after_kib"] = probes.rss_kib(pid)
        connected = max(len(bench.sockets), 1)
        result["kib_per_conn"] = (result["rss_after_kib"] - result["rss_before_kib"]) / connected
        if bench.sockets:
            for name, events, rate in (
                ("paced", args.paced_events, args.rate),
                ("burst", args.events, 0.0),
            ):
                if args.wait_idle:  # time spent waiting does not count against the deadline
                    waited = time.monotonic()
                    await probes.wait_until_idle(args.wait_idle)
                    deadline += time.monotonic() - waited
                profiler = start_profiler(args, pid, layer, subscribers, name)
                outcome = await run_phase(bench, server, creds, args, name, events, rate, deadline)
                stop_profiler(profiler)
                result["phases"].append(outcome)
        result["stray_frames"], result["dropped_sockets"] = bench.stray, bench.dropped
        await close_all(bench)
    return result


def start_profiler(args, pid: int, layer: str, subscribers: int, phase: str):
    if not args.profile or phase != "burst":
        return None
    out = Path(args.profile) / f"{layer}-{subscribers}-{phase}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out)]
    command += ["--rate", "200", "--duration", str(int(args.deadline) + 5), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its output and exits
        try:
            profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait()


def prepare_env(directory: Path, layer: str) -> tuple[live.ServerEnv, dict]:
    redis_url = None
    if layer == "redis":
        redis_url = live.redis_url()
        if redis_url is None:
            sys.exit("--redis: no Redis answers on 127.0.0.1:6379 (or REDIS_TEST_URL)")
    server_env = live.ServerEnv.create(directory, redis_url=redis_url, LOG_LEVEL="WARNING")
    live.migrate(server_env)
    creds = live.bootstrap(server_env, "Bench", "bench@example.test", app="Bench")
    return server_env, creds


async def main_async(args) -> list[dict]:
    layer = "redis" if args.redis else "memory"
    directory = Path(tempfile.mkdtemp(prefix="expusher-bench-"))
    results = []
    try:
        server_env, creds = prepare_env(directory, layer)
        for subscribers in args.subscribers:
            if layer == "redis":  # a fresh key prefix: no group memberships left over
                env = {**server_env.env, "EXPUSHER_REDIS_PREFIX": live.unique_prefix()}
                server_env = live.ServerEnv(server_env.directory, env)
            if args.wait_idle:
                busy = await probes.wait_until_idle(args.wait_idle)
                print(f"-- machine busy: {busy:.2f} cores", file=sys.stderr, flush=True)
            print(f"-- {layer}: {subscribers} subscribers", file=sys.stderr, flush=True)
            results.append(await scenario(server_env, creds, subscribers, args, layer))
    finally:
        if args.keep:
            print(f"server logs and database kept in {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subscribers",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[100, 1000],
        help="comma-separated subscriber counts, one scenario each (default 100,1000)",
    )
    parser.add_argument("--events", type=int, default=200, help="burst events (200)")
    parser.add_argument("--paced-events", type=int, default=50, help="paced events (50)")
    parser.add_argument("--rate", type=float, default=10.0, help="paced events/s (10)")
    parser.add_argument("--window", type=int, default=8, help="burst events in flight (8)")
    parser.add_argument("--http", type=int, default=1, help="keep-alive HTTP connections (1)")
    parser.add_argument("--redis", action="store_true", help="Redis channel layer")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds per scenario")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each scenario and phase, wait up to SECONDS for an idle machine",
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy the server during bursts")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the server directory")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    soft, _ = probes.raise_open_file_limit()
    needed = max(args.subscribers) + args.http + 64
    if soft < needed:
        sys.exit(f"open-file limit {soft} is below the {needed} sockets needed")
    results = asyncio.run(main_async(args))
    print_report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
