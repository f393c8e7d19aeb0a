#!/usr/bin/env python3
"""JSON inputs vs the XML path on the same events, and vs `grep -c -F`.

Generates (once, under benches/out/) a realistic XML log of --size and the
same events as NDJSON of each shape, plus a dense log (every event a
Telegram download) as XML and NXLog NDJSON; then times, interleaved, best
of --rounds: scan(threads=1), scan() and `grep -c -F ':Zone.Identifier'`.
Results go to stdout as a Markdown table (benches/results/json.md).

    python3 benches/json_bench.py --size 256M --dense-size 64M --rounds 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import sysmon_hunt

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def generate(kind: str, size: str, shape: str | None) -> Path:
    name = f"json-bench-{kind}-{size}" + (f".{shape}.ndjson" if shape else ".xml.log")
    path = OUT / name
    if not path.exists():
        args = [
            sys.executable,
            str(HERE / "generate.py"),
            "--kind",
            kind,
            "--size",
            size,
            "--seed",
            "1",
            "-o",
            str(path),
        ]
        if shape:
            args += ["--json", shape]
        subprocess.run(args, check=True)
    return path


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="256M")
    ap.add_argument("--dense-size", default="64M")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--shapes", default="nxlog,ecs,evtx,splunk")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    files = {"xml": generate("realistic", args.size, None)}
    for shape in args.shapes.split(","):
        files[shape] = generate("realistic", args.size, shape)
    files["dense xml"] = generate("dense", args.dense_size, None)
    files["dense nxlog"] = generate("dense", args.dense_size, "nxlog")

    runs = {}
    for name, path in files.items():
        runs[(name, "1 thread")] = lambda p=path: sysmon_hunt.scan(str(p), threads=1)
        runs[(name, "all threads")] = lambda p=path: sysmon_hunt.scan(str(p))
        if not name.startswith("dense"):
            runs[(name, "grep -c -F")] = lambda p=path: subprocess.run(
                # To a pipe: GNU grep stops at the first match when its output is /dev/null.
                ["grep", "-c", "-F", ":Zone.Identifier", str(p)],
                stdout=subprocess.PIPE,
                check=False,
            )
    best = {key: float("inf") for key in runs}
    for _ in range(args.rounds):
        for key, run in runs.items():  # interleaved: each round runs everything once
            best[key] = min(best[key], timed(run))
    check = {name: sysmon_hunt.scan(str(path)) for name, path in files.items()}

    print(
        "| input | bytes | records/events | hits | 1 thread | all threads | grep -c -F "
        "| 1 thread vs XML (same events) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, path in files.items():
        size = path.stat().st_size
        r = check[name]
        count = r.stats.json_records or r.stats.events
        base = "dense xml" if name.startswith("dense") else "xml"
        ratio = best[(name, "1 thread")] / best[(base, "1 thread")]
        grep = best.get((name, "grep -c -F"))

        def cell(seconds: float, size: int = size) -> str:
            return f"{seconds:.3f} s = {size / seconds / 1e6:.0f} MB/s"

        print(
            f"| {name} | {size} | {count} | {len(r)} ({sum(h.count for h in r)} events) | "
            f"{cell(best[(name, '1 thread')])} | {cell(best[(name, 'all threads')])} | "
            f"{cell(grep) if grep else '-'} | {ratio:.2f}x |"
        )
    if not args.keep:
        for path in files.values():
            os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
