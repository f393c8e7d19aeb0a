#!/usr/bin/env python3
"""Multi-core scaling of `sysmon_hunt.scan()`: throughput per thread count.

    python3 benches/scaling.py --size 2G --threads 1,2,4,8,16

Generates (once) a realistic and a dense log with benches/generate.py, warms
the page cache, then times `scan(path, threads=N)` (best of --repeat, measured
inside this process so interpreter start-up is not counted) next to
`grep -c -F ':Zone.Identifier<'` on the same file. Prints a Markdown table.
Used where more cores are available than on the development machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import sysmon_hunt

HERE = Path(__file__).resolve().parent


def generate(kind: str, size: str, out: Path) -> None:
    if not out.exists():
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), "--kind", kind, "--size", size, "--seed", "1", "-o", str(out)],
            check=True,
        )


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def best_of(repeat: int, action) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def grep_seconds(path: Path, repeat: int) -> float:
    # Output to a pipe: GNU grep stops at the first match when it sees /dev/null.
    def run() -> None:
        subprocess.run(["grep", "-c", "-F", ":Zone.Identifier<", str(path)], check=False, stdout=subprocess.PIPE)

    return best_of(repeat, run)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="2G", help="size of the realistic file")
    parser.add_argument("--dense-size", default="512M", help="size of the dense file")
    parser.add_argument("--threads", default="1,2,4,8,16")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=HERE / "out" / "data")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    realistic = args.data_dir / f"scaling-realistic-{args.size}.log"
    dense = args.data_dir / f"scaling-dense-{args.dense_size}.log"
    generate("realistic", args.size, realistic)
    generate("dense", args.dense_size, dense)
    threads = [int(t) for t in args.threads.split(",")]
    print(f"cores: {os.cpu_count()}, CPU: {cpu_model()}, python {platform.python_version()}")
    for label, path in (("realistic", realistic), ("dense", dense)):
        warm(path)
        mb = path.stat().st_size / 1e6
        grep = grep_seconds(path, args.repeat)
        print(f"\n### {label}, {mb:.0f} MB\n")
        print(f"grep -c -F ':Zone.Identifier<': {grep:.3f} s ({mb / grep:.0f} MB/s)\n")
        print("| threads | seconds | MB/s | speed-up vs 1 | vs grep (time ratio) |")
        print("|---|---|---|---|---|")
        base = None
        for n in threads:
            seconds = best_of(args.repeat, lambda path=path, n=n: sysmon_hunt.scan(str(path), threads=n))
            base = base or seconds
            print(f"| {n} | {seconds:.3f} | {mb / seconds:.0f} | {base / seconds:.2f}x | {seconds / grep:.2f} |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
