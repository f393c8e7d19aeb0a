#!/usr/bin/env python3
"""What a Dask cluster costs: `sysmon_hunt.dask.scan()` on a LocalCluster of
N worker processes (one thread each) against `sysmon_hunt.scan(threads=N)`
on the same file, both on this machine.

    python3 benches/dask_overhead.py                 # 1 GiB realistic log, 2 workers
    python3 benches/dask_overhead.py --size 256M --reps 3

Generates the realistic log once with benches/generate.py (seed 1, under
benches/out/data/, the file benches/run.py uses), reads it into the page
cache, starts the cluster (its start-up is timed apart), runs one cluster
scan to warm the workers (their import of sysmon_hunt), checks that both
give the same result, then alternates local and cluster scans --reps times
so that a burst of noise hits both sides. Prints best and median seconds,
MB/s (10^6 bytes) and the overhead ratios (cluster time / local time, of
the best and of the median runs) for each split size, as a Markdown table.

Needs the `dask` extra (`pip install -e '.[dask]'`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

from scaling import cpu_model  # one description of the machine for every table

import sysmon_hunt
import sysmon_hunt.dask

HERE = Path(__file__).resolve().parent
DATA = HERE / "out" / "data"
MB = 1e6


def corpus(size: str) -> Path:
    path = DATA / ("realistic-%s-s1.log" % size)
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--kind",
                "realistic",
                "--size",
                size,
                "--seed",
                "1",
                "-o",
                str(partial),
            ],
            check=True,
        )
        partial.rename(path)
    return path


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1G", help="realistic log size (generate.py syntax, default 1G)")
    parser.add_argument("--workers", type=int, default=2, help="cluster worker processes = local threads (default 2)")
    parser.add_argument("--reps", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument(
        "--split-bytes",
        default=str(sysmon_hunt.dask.DEFAULT_SPLIT_BYTES),
        help="comma-separated split_bytes values for the cluster (default 256 MiB)",
    )
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    path = corpus(args.size)
    size = path.stat().st_size
    warm(path)
    splits = [int(s) for s in args.split_bytes.split(",")]

    start = time.perf_counter()
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        startup = time.perf_counter() - start
        local_result = sysmon_hunt.scan(path, threads=args.workers)
        for split in splits:
            cluster_result = sysmon_hunt.dask.scan(path, client=client, split_bytes=split)
            assert cluster_result == local_result, "the cluster's result differs from the local scan's"

        times: Dict[str, List[float]] = {"local": []}
        times.update({"dask-%d" % s: [] for s in splits})
        for _ in range(args.reps):
            times["local"].append(timed(lambda: sysmon_hunt.scan(path, threads=args.workers)))
            for split in splits:
                times["dask-%d" % split].append(
                    timed(lambda split=split: sysmon_hunt.dask.scan(path, client=client, split_bytes=split))
                )

    print("file: %s, %d bytes, %d hits, %d events" % (path.name, size, len(local_result), local_result.stats.events))
    print(
        "machine: nproc %d, %s; cluster start-up %.1f s (not in the figures)" % (os.cpu_count(), cpu_model(), startup)
    )
    print()
    print("| run | best s | median s | best MB/s | overhead, best | overhead, median |")
    print("|---|---|---|---|---|---|")
    local_best, local_median = min(times["local"]), statistics.median(times["local"])
    for name, runs in times.items():
        label = (
            "scan(threads=%d)" % args.workers
            if name == "local"
            else "LocalCluster %d workers, split_bytes=%s" % (args.workers, name.split("-", 1)[1])
        )
        best, median = min(runs), statistics.median(runs)
        print(
            "| %s | %.3f | %.3f | %.0f | %.2fx | %.2fx |"
            % (label, best, median, size / best / MB, best / local_best, median / local_median)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
