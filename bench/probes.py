"""Small measuring tools for the benchmark: process counters, a keep-alive HTTP client.

Nothing here imports Django: the benchmark client is an ordinary outside program.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_open_file_limit() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE to its hard limit; return (soft, hard) afterwards.

    Child processes (the server started by the benchmark) inherit the raised limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB (from /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    # The command name may contain spaces; fields after it start at "state" (field 3).
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pids_named(command: str) -> list[int]:
    """Processes whose /proc/<pid>/comm is `command` (e.g. the local redis-server)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and open(f"/proc/{entry}/comm").read().strip() == command:
                pids.append(int(entry))
        except OSError:
            pass  # gone meanwhile
    return pids


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle since boot, in seconds (from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    guest = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - iowait - guest) / CLOCK_TICKS


async def wait_until_idle(max_seconds: float, threshold: float = 0.25) -> float:
    """Wait (at most max_seconds) until the machine used under `threshold` cores for 2 s.

    Returns the cores in use over the last 2-second sample.
    """
    deadline = time.monotonic() + max_seconds
    while True:
        before = machine_busy_seconds()
        await asyncio.sleep(2)
        busy = (machine_busy_seconds() - before) / 2
        if busy < threshold or time.monotonic() >= deadline:
            return busy


@dataclass
class CpuWindow:
    """Wall time, and CPU time of the client, the server, helpers (Redis) and the rest."""

    server_pid: int
    helper_pids: list[int]
    wall0: float = 0.0
    client0: float = 0.0
    server0: float = 0.0
    helpers0: float = 0.0
    machine0: float = 0.0

    def start(self) -> CpuWindow:
        self.wall0 = time.monotonic()
        self.client0 = time.process_time()
        self.server0 = cpu_seconds(self.server_pid)
        self.helpers0 = _cpu_of(self.helper_pids)
        self.machine0 = machine_busy_seconds()
        return self

    def stop(self) -> dict[str, float]:
        """Seconds since start(): wall, and CPU of client, server, helpers and the rest."""
        cpu = {
            "client": time.process_time() - self.client0,
            "server": cpu_seconds(self.server_pid) - self.server0,
            "helpers": _cpu_of(self.helper_pids) - self.helpers0,
        }
        rest = machine_busy_seconds() - self.machine0 - sum(cpu.values())
        return {"wall": time.monotonic() - self.wall0, **cpu, "other": max(0.0, rest)}


class HttpClient:
    """One keep-alive HTTP/1.1 connection on asyncio streams, for POSTs with a JSON body.

    Minimal on purpose (a third-party client would cost the benchmark more CPU than the
    requests it sends): Content-Length and chunked responses, no redirects, no TLS.
    """

    def __init__(self, port: int, authorization: str):
        self.port = port
        self.authorization = authorization
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\n"
            f"Authorization: {self.authorization}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode("latin-1") + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the keep-alive connection")
        status = int(status_line.split()[1])
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return status, await self._read_chunked()
        return status, await self.reader.readexactly(int(headers.get("content-length", 0)))

    async def _read_chunked(self) -> bytes:
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()  # the blank line after the last chunk
        return b"".join(parts)


def percentile(sorted_values, fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (nan when empty)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]
