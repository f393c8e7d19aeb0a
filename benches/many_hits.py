#!/usr/bin/env python3
"""Before/after timing of the Rust core for benches/results/many-hits.md.

Runs two builds of benches/drivers/many_hits.rs (`scan FILE THREADS`: the public
Rust `scan()`, no Python) on the same files, interleaved (before, after,
before, ...), each the best of --reps, with `cat` and `grep -c -F` on the
same file as yardsticks. Prints a Markdown table of wall-clock rates and of
rates per CPU-second (user + system, all threads: steadier than wall time on
a shared machine); MB = 10^6 bytes.

  cargo build --release --example many_hits   # at each commit; copy the binary
  python3 benches/many_hits.py --before OLD_BINARY --after NEW_BINARY FILE...

With --python-before/--python-after (the python of a venv holding each
commit's release wheel) it times `sysmon_hunt.scan()` end to end instead,
in a fresh child process per run that times only the call, as
benches/run.py does; with --read-hits, the call and a loop that reads every
hit (a native result makes its hits' Python objects on first read).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from typing import Dict, List, Tuple


def timed(cmd: List[str]) -> Tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, out


def cpu_timed(cmd: List[str]) -> Tuple[float, str]:
    """Runs `cmd`; its CPU time (user + system, all threads) and its output."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s failed" % cmd)
    return usage.ru_utime + usage.ru_stime, out


def core_seconds(binary: str, path: str, threads: int) -> Tuple[float, float, str]:
    """The driver's own wall time of scan(), and the process's CPU time
    (the driver does nothing else worth counting)."""
    cpu, out = cpu_timed([binary, "scan", path, str(threads)])
    match = re.search(r"threads=\d+: ([0-9.]+) s", out)
    if not match:
        raise RuntimeError("unexpected driver output: %r" % out)
    return float(match.group(1)), cpu, out.strip()


CHILD = r"""
import sys, time
import sysmon_hunt
path, threads, read_hits = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "read"
t0, c0 = time.perf_counter(), time.process_time()
result = sysmon_hunt.scan(path, threads=threads)
if read_hits:
    for hit in result:
        hit[-1]
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
hits = list(result)
print("threads=%d: %.6f s cpu %.6f s; %d events, %d hits, %d malformed"
      % (threads, seconds, cpu, result.stats.events, len(hits), result.stats.malformed))
"""


def python_seconds(python: str, path: str, threads: int, read_hits: bool) -> Tuple[float, float, str]:
    """`scan()` timed inside a fresh interpreter of the given venv: wall and
    CPU time (all threads) of the call alone, or with `read_hits` of the
    call and a loop reading every hit (which makes the hits' objects)."""
    _, out = timed([python, "-I", "-c", CHILD, path, str(threads), "read" if read_hits else "call"])
    match = re.search(r"threads=\d+: ([0-9.]+) s cpu ([0-9.]+) s", out)
    if not match:
        raise RuntimeError("unexpected child output: %r" % out)
    return float(match.group(1)), float(match.group(2)), out.strip()


def keep(best: Dict[str, float], key: str, seconds: float) -> None:
    best[key] = min(best.get(key, float("inf")), seconds)


def table_rows(name: str, size: int, best: Dict[str, float], threads: List[int]) -> List[str]:
    def mbps(key: str) -> float:
        return size / 1e6 / best[key]

    rows = []
    for n in threads:
        b, a = "before%d" % n, "after%d" % n
        rows.append(
            "| %s | %d | %.0f MB/s | %.0f MB/s | %.2fx | %.0f | %.0f | %.2fx | %.2fx; cat %.0f MB/s |"
            % (
                name,
                n,
                mbps(b),
                mbps(a),
                best[b] / best[a],
                mbps(b + "_cpu"),
                mbps(a + "_cpu"),
                best[b + "_cpu"] / best[a + "_cpu"],
                best[a] / best["grep"],
                mbps("cat"),
            )
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="")
    ap.add_argument("--after", default="")
    ap.add_argument("--python-before", help="time scan() in this venv python instead of --before")
    ap.add_argument("--python-after", help="time scan() in this venv python instead of --after")
    ap.add_argument("--read-hits", action="store_true", help="with --python-*: time scan() and reading every hit")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    for path in args.files:
        size = os.path.getsize(path)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
        best: Dict[str, float] = {}
        said: Dict[str, str] = {}
        for _ in range(args.reps):
            t0 = time.perf_counter()
            subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
            keep(best, "cat", time.perf_counter() - t0)
            seconds, _ = timed(["grep", "-c", "-F", ":Zone.Identifier<", path])
            keep(best, "grep", seconds)
            for n in threads:
                for label, binary, python in (
                    ("before", args.before, args.python_before),
                    ("after", args.after, args.python_after),
                ):
                    if python:
                        seconds, cpu, out = python_seconds(python, path, n, args.read_hits)
                    else:
                        seconds, cpu, out = core_seconds(binary, path, n)
                    keep(best, "%s%d" % (label, n), seconds)
                    keep(best, "%s%d_cpu" % (label, n), cpu)
                    said["%s%d" % (label, n)] = out
        if said["before1"].split(";", 1)[1] != said["after1"].split(";", 1)[1]:
            raise SystemExit("results differ: %s vs %s" % (said["before1"], said["after1"]))
        rows.extend(table_rows(os.path.basename(path), size, best, threads))
        rows.append("| | | %s | | | | | | |" % said["after1"].split(";", 1)[1].strip())
    print(
        "| file | threads | before (wall) | after (wall) | speed-up | before MB per CPU-s | after MB per CPU-s "
        "| CPU speed-up | after's time vs grep -c -F; cat |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
