#!/usr/bin/env python3
"""Benchmark of the input paths: compressed text and binary EVTX.

  * gzip and zstd: `scan()` of the compressed file against the decompressor
    alone on the same file (`zcat` / `zstd -dc` to /dev/null). The goal is a
    ratio <= 1.25 (scanning hides behind decompression).
  * EVTX: `scan()` against `evtx_dump -o xml` (the evtx crate's own tool)
    writing the same records as XML to /dev/null, with 1 and with 2 threads.
    The goal is a ratio <= 1.0.

The realistic text log comes from benches/generate.py (seeded). The EVTX file
is the real log shared/corpus/real/casimkhan-sysmongo/sysmon-operational.evtx
with its chunks repeated --evtx-repeat times after its header (every chunk
is self-contained, so the copy is as valid as the original; only its size
changes).

Timing: best (minimum) of --reps runs, both sides of a ratio interleaved,
every file read into the page cache first. `scan()` runs in a child of
--python and times only the call; shell tools are timed around the process.

Usage
  python3 benches/inputs.py --python /path/to/venv/bin/python --evtx-dump /path/to/evtx_dump
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benches" / "out" / "inputs"
CORPUS_EVTX = ROOT.parent / "shared" / "corpus" / "real" / "casimkhan-sysmongo" / "sysmon-operational.evtx"
EVTX_HEADER = 4096
EVTX_CHUNK = 65536

CHILD = (
    "import sys, time, sysmon_hunt\n"
    "t = time.perf_counter()\n"
    "r = sysmon_hunt.scan(sys.argv[1], threads=int(sys.argv[2]))\n"
    "print(time.perf_counter() - t, r.stats.events)\n"
)


def make_data(size: str, evtx_repeat: int, python: str) -> Dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    plain = OUT / f"realistic-{size}.log"
    if not plain.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benches" / "generate.py"),
                "--kind",
                "realistic",
                "--size",
                size,
                "--seed",
                "1",
                "-o",
                str(plain),
            ],
            check=True,
        )
    files = {"plain": plain}
    for name, command in (
        ("gz1", ["gzip", "-1", "-c"]),
        ("gz6", ["gzip", "-6", "-c"]),
        ("zst", ["zstd", "-3", "-c", "-q"]),
    ):
        target = OUT / f"{plain.name}.{name}"
        if not target.exists():
            with open(target, "wb") as out:
                subprocess.run(command + [str(plain)], stdout=out, check=True)
        files[name] = target
    evtx = OUT / f"casimkhan-x{evtx_repeat}.evtx"
    if not evtx.exists():
        data = CORPUS_EVTX.read_bytes()
        header, chunks = data[:EVTX_HEADER], data[EVTX_HEADER:]
        evtx.write_bytes(header + chunks * evtx_repeat)
    files["evtx"] = evtx
    return files


def warm(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 24):
            pass


def shell(command: List[str]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    return run


def scanner(python: str, path: Path, threads: int) -> Callable[[], float]:
    def run() -> float:
        out = subprocess.run([python, "-c", CHILD, str(path), str(threads)], capture_output=True, text=True, check=True)
        return float(out.stdout.split()[0])

    return run


def best_of(pairs: Dict[str, Callable[[], float]], reps: int) -> Dict[str, float]:
    times: Dict[str, List[float]] = {name: [] for name in pairs}
    for _ in range(reps):
        for name, run in pairs.items():
            times[name].append(run())
    return {name: min(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True, help="a Python with sysmon_hunt (release build) installed")
    parser.add_argument("--evtx-dump", help="the evtx crate's evtx_dump binary (EVTX rows are skipped without it)")
    parser.add_argument("--size", default="256M")
    parser.add_argument("--evtx-repeat", type=int, default=40)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    files = make_data(args.size, args.evtx_repeat, args.python)
    for path in files.values():
        warm(path)
    rows = []
    for name, decompress in (("gz1", ["zcat"]), ("gz6", ["zcat"]), ("zst", ["zstd", "-dcq"])):
        path = files[name]
        best = best_of({"scan": scanner(args.python, path, 1), "alone": shell(decompress + [str(path)])}, args.reps)
        rows.append(
            (
                f"{name} ({path.stat().st_size / 1e6:.0f} MB, {files['plain'].stat().st_size / 1e6:.0f} MB of text)",
                f"`{' '.join(decompress)} > /dev/null`",
                best["alone"],
                best["scan"],
            )
        )
    dump = args.evtx_dump or shutil.which("evtx_dump")
    if dump:
        path = files["evtx"]
        for threads in (1, 2):
            best = best_of(
                {
                    "scan": scanner(args.python, path, threads),
                    "alone": shell([dump, "-t", str(threads), "-o", "xml", str(path)]),
                },
                args.reps,
            )
            rows.append(
                (
                    f"evtx ({path.stat().st_size / 1e6:.0f} MB), {threads} thread(s)",
                    f"`evtx_dump -t {threads} -o xml > /dev/null`",
                    best["alone"],
                    best["scan"],
                )
            )
    print("| input | baseline | baseline s | scan s | scan / baseline |")
    print("|---|---|---|---|---|")
    for what, baseline, alone, scan in rows:
        print(f"| {what} | {baseline} | {alone:.3f} | {scan:.3f} | {scan / alone:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
