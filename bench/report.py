"""The benchmark's table: one row per phase, one memory line per scenario."""

from __future__ import annotations

import os

NOISY = 0.25  # other processes' CPU, in cores, above which a phase is disturbed

COLUMNS = (
    ("layer", 7, "{layer}"),
    ("subs", 5, "{subscribers}"),
    ("phase", 6, "{phase}"),
    ("events", 6, "{events}"),
    ("trig req/s", 10, "{trigger_rps:.0f}"),
    ("deliv msg/s", 11, "{delivered_per_s:.0f}"),
    ("p50 ms", 7, "{p50_ms:.1f}"),
    ("p99 ms", 7, "{p99_ms:.1f}"),
    ("all p50", 7, "{all_p50_ms:.1f}"),
    ("lost", 5, "{lost}"),
    ("dup", 4, "{duplicates}"),
    ("reord", 5, "{reordered}"),
    ("client CPU", 10, "{client_cpu:.0%}{flag}"),
    ("server CPU", 10, "{server_cpu:.0%}"),
    ("redis CPU", 9, "{redis_cpu:.0%}"),
    ("other CPU", 9, "{other_cpu:.0%}"),
)


def _row(values: dict) -> str:
    return "  ".join(fmt.format(**values).rjust(width) for _, width, fmt in COLUMNS)


def print_report(results: list[dict], args) -> None:
    print()
    print(
        f"ExPusher fan-out, {os.cpu_count()} CPUs, client and server on one machine; "
        f"paced: {args.paced_events} events at {args.rate:g}/s, burst: {args.events} events "
        f"with at most {args.window} in flight; {args.http} keep-alive HTTP connection(s)"
    )
    print("  ".join(name.rjust(width) for name, width, _ in COLUMNS))
    saturated = problems = noisy = False
    for result in results:
        for phase in result["phases"]:
            flag = "*" if phase["client_saturated"] else " "
            saturated |= phase["client_saturated"]
            noisy |= phase["other_cpu"] > NOISY
            print(_row({**result, **phase, "flag": flag}))
            problems |= bool(phase["lost"] or phase["duplicates"] or phase["failed_requests"])
            if phase["timed_out"] or phase["failed_requests"]:
                print(
                    f"    ! {phase['phase']}: timed out={phase['timed_out']}, "
                    f"failed requests={phase['failed_requests']}"
                )
    print()
    print("server memory per idle connection (VmRSS growth / connections, joined to one topic)")
    for r in results:
        print(
            f"  {r['layer']:>6} {r['subscribers']:>5} subscribers: "
            f"{r['rss_before_kib'] / 1024:.1f} MiB -> {r['rss_after_kib'] / 1024:.1f} MiB, "
            f"{r['kib_per_conn']:.1f} KiB per connection "
            f"({r['connected']} connected in {r['connect_s']:.1f} s"
            f"{', CONNECT TIMED OUT' if r.get('connect_timed_out') else ''}; "
            f"stray frames {r['stray_frames']}, sockets dropped {r['dropped_sockets']})"
        )
    if saturated:
        print(
            "\n* the client's CPU was saturated (>= 85% of one core): the client, not the "
            "server, may limit delivered msg/s and add latency; the figures are lower bounds."
        )
    if noisy:
        print(
            f"other CPU (processes besides client and server, kernel threads) was above "
            f"{NOISY:.0%} of a core in some phase: the machine was busy, repeat when idle."
        )
    if args.http > 1:
        print("reord counts arrivals out of trigger order; with --http > 1 that is expected.")
    print("\nRESULT: " + ("lost/duplicate/failed deliveries!" if problems else "no loss, no dup"))
