#!/usr/bin/env python3
"""What the scan options cost: `users=True` (risk events), `progress=`,
`by="v3"` and `exclude=` against a plain `scan()`, optionally against another
build of the package too (`--baseline-python`, e.g. a venv with the previous
commit installed), on files made by benches/generate.py.

Each figure is the best of --reps runs of `scan()` timed inside a fresh
subprocess (start-up and import not counted); variants run interleaved, one
repetition of each in turn, so that noise hits them alike. Standard library
only; prints a Markdown table of MB/s and the ratio to the plain scan.

    python3 benches/generate.py --kind dense --size 128M -o /tmp/dense.log
    python3 benches/options.py /tmp/dense.log --reps 7 [--baseline-python /tmp/base/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Dict, List, Optional

# Run in the child: times one scan() call with the options given as JSON.
CHILD = """
import json, sys, time
import sysmon_hunt
options = json.loads(sys.argv[2])
if options.pop("progress", False):
    options["progress"] = lambda done, total: None
started = time.perf_counter()
result = sysmon_hunt.scan(sys.argv[1], **options)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "hits": len(result), "bytes": result.stats.bytes}))
"""

VARIANTS: Dict[str, dict] = {
    "plain": {},
    "users=True": {"users": True},
    "progress": {"progress": True},
    'by="v3"': {"by": "v3"},
    'exclude=["Computer=x*"]': {"exclude": ["Computer=x*"]},
}


def run(python: str, path: str, options: dict, threads: int) -> dict:
    options = dict(options, threads=threads)
    out = subprocess.run(
        [python, "-c", CHILD, path, json.dumps(options)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--baseline-python", help="a Python with another build of sysmon_hunt installed")
    args = ap.parse_args(argv)
    pythons = {"": sys.executable}
    if args.baseline_python:
        pythons["baseline "] = args.baseline_python
    print(f"threads={args.threads}, best of {args.reps}, MB = 10^6 bytes\n")
    for path in args.files:
        variants = [
            (label + name, python, opts)
            for label, python in pythons.items()
            for name, opts in VARIANTS.items()
            if not label or name == "plain"
        ]
        best: Dict[str, float] = {}
        size = os.path.getsize(path)
        for _ in range(args.reps):
            for name, python, opts in variants:
                seconds = run(python, path, opts, args.threads)["seconds"]
                best[name] = min(best.get(name, seconds), seconds)
        print(f"`{os.path.basename(path)}` ({size / 1e6:.0f} MB)\n")
        print("| variant | best s | MB/s | vs plain |")
        print("|---|---|---|---|")
        for name, _, _ in variants:
            print(f"| {name} | {best[name]:.3f} | {size / best[name] / 1e6:.0f} | {best['plain'] / best[name]:.3f}x |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
