#!/usr/bin/env python3
"""End-to-end benchmark of sysmon-hunt against the hardware (benches/README.md says what fast means).

One script, standard library only:
  1. builds the release wheel (`maturin build --release -o benches/out/wheels`)
     and installs it into its own venv, `benches/out/venv` (no system site
     packages, so the editable install other developers use is untouched);
  2. makes the corpora with benches/generate.py under `benches/out/data/`
     (kept between runs): realistic 1 GiB and 4 GiB, dense 256 MiB, dense
     with distinct groups (`--kind distinct`, ~70% of events a new group)
     256 MiB, the first
     20 MiB of the realistic mix (same seed, so a prefix of the big file) for
     the pure-Python reference, realistic 1 GiB gzipped by generate.py
     (`--gzip`: Python's gzip module at level 6), and the same text with
     `gzip -1` (the level of the reference zcat figure);
  3. times everything on the same files in one run, each file read into the
     page cache first (`cat file > /dev/null`), and prints a Markdown table of
     ratios with a verdict per target. The table also goes to
     `benches/out/results-<date>-<time>.md`.

Timing: every figure is the best (minimum) of --reps runs; the median is
shown too. Runs of the two sides of a ratio alternate, so a burst of noise
hits both. Each scan runs in a fresh subprocess of the venv's Python and the
child times the `scan()` call with time.perf_counter, so interpreter
start-up and import are not counted; for the distinct-groups file it also
reports the call plus reading every hit (the hits' Python objects are made
on first read). Shell tools (cat, grep, zcat) are timed
from here around the whole process (a fork/exec costs ~1 ms).
`grep -c` writes to a pipe: with its output on /dev/null GNU grep stops at
the first match. MB = 10^6 bytes.

Usage
  python3 benches/run.py                # full run (1 GiB / 4 GiB): ~3 min to make the corpora once, ~5 min of timing on 2 cores
  python3 benches/run.py --quick        # 256 MiB / 1 GiB, dense (both kinds) 64 MiB, gzip 256 MiB
  python3 benches/run.py --skip-build   # reuse the venv's installed wheel
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benches" / "out"
WHEELS = OUT / "wheels"
VENV = OUT / "venv"
BUILT_FROM = VENV / "built-from.txt"  # the commit the installed wheel was built from
DATA = OUT / "data"
GENERATE = ROOT / "benches" / "generate.py"
SEED = 1
MB = 1e6

# Code run in the venv's Python: times the scan() call, and the call plus
# reading every hit (a native result makes its hits' Python objects on
# first read, so that is what a caller that uses every hit waits for).
CHILD = r"""
import hashlib, json, resource, sys, time
import sysmon_hunt
impl, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if impl == "reference":
    from sysmon_hunt import reference
    fn = reference.scan
else:
    fn = sysmon_hunt.scan
t0 = time.perf_counter()
result = fn(path, threads=threads)
seconds = time.perf_counter() - t0
# Peak RSS now, before this harness builds anything of its own.
maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for hit in result:
    hit[-1]
read_seconds = time.perf_counter() - t0
maxrss_read_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
hits = [tuple(str(x) for x in hit) for hit in result]
print(json.dumps({
    "seconds": seconds,
    "read_seconds": read_seconds,
    "events": result.stats.events,
    "malformed": result.stats.malformed,
    "groups": len(hits),
    "matching": sum(int(h[6]) for h in hits),
    "hits_digest": hashlib.sha256(json.dumps(hits).encode()).hexdigest(),
    "maxrss_kib": maxrss_kib,
    "maxrss_read_kib": maxrss_read_kib,
    "module": sysmon_hunt.__file__,
}))
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: List[str], **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------------------
# Build


def venv_python() -> Path:
    return VENV / "bin" / "python"


def build(skip: bool) -> None:
    if skip:
        if not venv_python().exists():
            sys.exit("--skip-build: no venv at %s; run once without it" % VENV)
        return
    maturin = shutil.which("maturin")
    if maturin is None:
        sys.exit("maturin not found on PATH (pip install maturin)")
    WHEELS.mkdir(parents=True, exist_ok=True)
    source = commit_id()  # read before building, so a commit made meanwhile is not claimed
    before = time.time()
    run([maturin, "build", "--release", "-o", str(WHEELS)], cwd=ROOT)
    wheels = sorted(glob.glob(str(WHEELS / "sysmon_hunt-*.whl")), key=os.path.getmtime)
    if not wheels or os.path.getmtime(wheels[-1]) < before - 1:
        sys.exit("maturin built no wheel in %s" % WHEELS)
    if not venv_python().exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    run(
        [
            str(venv_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--force-reinstall",
            wheels[-1],
        ]
    )
    BUILT_FROM.write_text(source + "\n")


def commit_id() -> str:
    """`git rev-parse --short HEAD`, marked when tracked files differ from it."""
    commit = (
        subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        or "?"
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return commit + (" (+ uncommitted changes)" if dirty else "")


# ---------------------------------------------------------------------------
# Corpora


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def corpus(kind: str, size: str, gzip: bool = False) -> Path:
    """generate.py's output for (kind, size, seed), made once."""
    path = DATA / ("%s-%s-s%d.log%s" % (kind, size, SEED, ".gz" if gzip else ""))
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        cmd = [
            sys.executable,
            str(GENERATE),
            "--kind",
            kind,
            "--size",
            size,
            "--seed",
            str(SEED),
            "-o",
            str(partial),
        ] + (["--gzip"] if gzip else [])
        run(cmd)
        partial.rename(path)
    return path


def gzip_fast(plain: Path) -> Path:
    """`gzip -1` of a plain corpus (the reference gzip figure)."""
    path = plain.with_name(plain.name + ".gzip1.gz")
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        log("$ gzip -1 -n -c %s > %s" % (plain, partial))
        with open(partial, "wb") as out:
            subprocess.run(["gzip", "-1", "-n", "-c", str(plain)], stdout=out, check=True)
        partial.rename(path)
    return path


# ---------------------------------------------------------------------------
# Timing


class Timing:
    """Best and median of a set of runs, plus what the last run said."""

    def __init__(self, label: str, nbytes: int) -> None:
        self.label = label
        self.nbytes = nbytes
        self.times: List[float] = []
        #: For scans: the call plus reading every hit.
        self.read_times: List[float] = []
        self.info: Dict = {}

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def mbps(self) -> float:
        return self.nbytes / MB / self.best


def warm(path: Path) -> None:
    """Reads the file into the page cache (twice: the second read shows it stays)."""
    for _ in range(2):
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


def time_shell(cmd: List[str], stdout=subprocess.DEVNULL) -> Tuple[float, bytes]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, check=False)
    seconds = time.perf_counter() - t0
    if p.returncode not in (0, 1):  # grep -c exits 1 when it counts 0
        raise RuntimeError("%s exited %d" % (cmd, p.returncode))
    return seconds, (p.stdout or b"")


def time_scan(path: Path, threads: int, impl: str = "native") -> Dict:
    """One scan in a fresh venv subprocess, which reports its own timing."""
    proc = subprocess.Popen(
        [str(venv_python()), "-I", "-c", CHILD, impl, str(path), str(threads)], stdout=subprocess.PIPE, cwd=str(OUT)
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError("scan of %s (threads=%d, %s) exited %d" % (path, threads, impl, proc.returncode))
    info = json.loads(out)
    info["wait4_maxrss_kib"] = usage.ru_maxrss
    return info


def cpu_busy(seconds: float = 0.5) -> float:
    """Fraction of all CPUs busy over `seconds` (from /proc/stat)."""

    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


WAIT_IDLE = 0.0  # set from --wait-idle


def wait_idle() -> None:
    """Waits (up to --wait-idle seconds) until other processes leave the CPUs
    nearly idle: on a shared machine a busy core halves the all-threads figure."""
    deadline = time.monotonic() + WAIT_IDLE
    while True:
        busy = cpu_busy()
        if busy < 0.10 or time.monotonic() >= deadline:
            if busy >= 0.10:
                log("  (CPUs %.0f%% busy with other work; timing anyway)" % (100 * busy))
            return
        time.sleep(2)


def measure(runners: List[Tuple[Timing, Callable[[], Tuple[float, Dict]]]], reps: int) -> None:
    """Runs each runner `reps` times, alternating between them."""
    for _ in range(reps):
        if WAIT_IDLE:
            wait_idle()
        for timing, fn in runners:
            seconds, info = fn()
            timing.times.append(seconds)
            if "read_seconds" in info:
                timing.read_times.append(info["read_seconds"])
            timing.info = info
            log("  %-40s %8.3f s" % (timing.label, seconds))


def scan_runner(path: Path, threads: int, impl: str = "native"):
    def fn():
        info = time_scan(path, threads, impl)
        return info["seconds"], info

    return fn


def shell_runner(cmd: List[str], pipe: bool = False):
    def fn():
        seconds, out = time_shell(cmd, stdout=subprocess.PIPE if pipe else subprocess.DEVNULL)
        return seconds, {"stdout": out.decode().strip()}

    return fn


# ---------------------------------------------------------------------------
# Report


def machine() -> Dict[str, str]:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def human(nbytes: int) -> str:
    return "%.1f MB (%s bytes)" % (nbytes / MB, format(nbytes, ","))


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small corpora: realistic 256M / 1G, dense 64M, gzip 256M")
    ap.add_argument(
        "--size-gb",
        type=float,
        default=None,
        help="size of the main realistic file in GiB (default 1; the big one is 4x)",
    )
    ap.add_argument("--reps", type=int, default=3, help="runs per timing, best taken (default 3, min 3)")
    ap.add_argument("--skip-build", action="store_true", help="use the wheel already in the venv")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each round of runs, wait up to this long for the CPUs to be "
        "idle (< 10%% busy): for shared machines (default 0: don't wait)",
    )
    args = ap.parse_args(argv)
    global WAIT_IDLE
    WAIT_IDLE = args.wait_idle
    reps = max(3, args.reps)

    if args.size_gb is not None:
        main_mb = int(args.size_gb * 1024)
        sizes = {
            "main": "%dM" % main_mb,
            "big": "%dM" % (4 * main_mb),
            "dense": "%dM" % max(16, main_mb // 4),
            "gzip": "%dM" % main_mb,
        }
        sizes["distinct"] = sizes["dense"]
    elif args.quick:
        sizes = {"main": "256M", "big": "1G", "dense": "64M", "distinct": "64M", "gzip": "256M"}
    else:
        sizes = {"main": "1G", "big": "4G", "dense": "256M", "distinct": "256M", "gzip": "1G"}
    sizes["slice"] = "20M"

    info = machine()
    build(args.skip_build)
    info["commit"] = BUILT_FROM.read_text().strip() if BUILT_FROM.exists() else "? (wheel of unknown origin)"
    if info["commit"] != commit_id():
        log("warning: the installed wheel was built from %s; HEAD is now %s" % (info["commit"], commit_id()))
    files = {
        "main": corpus("realistic", sizes["main"]),
        "big": corpus("realistic", sizes["big"]),
        "dense": corpus("dense", sizes["dense"]),
        "distinct": corpus("distinct", sizes["distinct"]),
        "slice": corpus("realistic", sizes["slice"]),
        "gzip": corpus("realistic", sizes["gzip"], gzip=True),
        "gzip1": gzip_fast(corpus("realistic", sizes["gzip"])),
    }
    nbytes = {k: p.stat().st_size for k, p in files.items()}
    # The gzip file's MB/s counts decompressed bytes: the same text as the
    # plain file of that size.
    gz_plain = corpus("realistic", sizes["gzip"])
    nbytes_gz_text = gz_plain.stat().st_size
    free = shutil.disk_usage(DATA).free
    log("corpora: " + ", ".join("%s=%s" % (k, human(v)) for k, v in nbytes.items()) + "; %.1f GB free" % (free / 1e9))

    info["load_start"] = "%.2f %.2f %.2f" % os.getloadavg()
    probe = time_scan(files["slice"], 1)
    log("scanning with %s" % probe["module"])
    if not probe["module"].startswith(str(VENV)):
        sys.exit("the venv imports sysmon_hunt from %s, not from %s" % (probe["module"], VENV))

    T: Dict[str, Timing] = {}

    def new(key: str, label: str, n: int) -> Timing:
        T[key] = Timing(label, n)
        return T[key]

    # 1-2. Realistic main file: ceiling, grep, one thread, all threads.
    main = files["main"]
    log("\n== %s" % main.name)
    warm(main)
    measure(
        [
            (new("cat", "cat > /dev/null", nbytes["main"]), shell_runner(["cat", str(main)])),
            (
                new("grep", "grep -c -F ':Zone.Identifier<' | pipe", nbytes["main"]),
                shell_runner(["grep", "-c", "-F", ":Zone.Identifier<", str(main)], pipe=True),
            ),
            (new("scan1", "scan(threads=1)", nbytes["main"]), scan_runner(main, 1)),
            (new("scanN", "scan() all threads", nbytes["main"]), scan_runner(main, 0)),
        ],
        reps,
    )

    # 3. Dense worst case, one thread.
    dense = files["dense"]
    log("\n== %s" % dense.name)
    warm(dense)
    measure(
        [
            (new("dense_cat", "cat > /dev/null", nbytes["dense"]), shell_runner(["cat", str(dense)])),
            (new("dense1", "scan(threads=1)", nbytes["dense"]), scan_runner(dense, 1)),
            (new("denseN", "scan() all threads", nbytes["dense"]), scan_runner(dense, 0)),
        ],
        reps,
    )

    # 3b. Dense with distinct groups (every event a hit, most a new group).
    distinct = files["distinct"]
    log("\n== %s" % distinct.name)
    warm(distinct)
    measure(
        [
            (new("distinct_cat", "cat > /dev/null", nbytes["distinct"]), shell_runner(["cat", str(distinct)])),
            (new("distinct1", "scan(threads=1)", nbytes["distinct"]), scan_runner(distinct, 1)),
            (new("distinctN", "scan() all threads", nbytes["distinct"]), scan_runner(distinct, 0)),
        ],
        reps,
    )

    # 4. Against the pure-Python reference on the slice.
    sl = files["slice"]
    log("\n== %s" % sl.name)
    warm(sl)
    measure(
        [
            (new("ref", "reference.scan()", nbytes["slice"]), scan_runner(sl, 0, "reference")),
            (new("slice1", "scan(threads=1)", nbytes["slice"]), scan_runner(sl, 1)),
            (new("sliceN", "scan()", nbytes["slice"]), scan_runner(sl, 0)),
        ],
        reps,
    )
    agree = (
        T["ref"].info["hits_digest"] == T["sliceN"].info["hits_digest"]
        and T["ref"].info["events"] == T["sliceN"].info["events"]
    )

    # 5. Memory: 1x vs 4x, each scan a fresh process (all threads).
    big = files["big"]
    log("\n== %s" % big.name)
    warm(big)
    measure(
        [
            (new("big_cat", "cat > /dev/null", nbytes["big"]), shell_runner(["cat", str(big)])),
            (new("bigN", "scan() all threads", nbytes["big"]), scan_runner(big, 0)),
        ],
        reps,
    )
    warm(main)
    # Peak RSS of the scanning process when scan() returns (interpreter,
    # module, scan and its result objects; not this harness's digest).
    rss_main = T["scanN"].info["maxrss_kib"] / 1024
    rss_main1 = T["scan1"].info["maxrss_kib"] / 1024
    rss_big = T["bigN"].info["maxrss_kib"] / 1024
    rss_big1 = time_scan(big, 1)["maxrss_kib"] / 1024
    rss_idle = time_scan(files["slice"], 1)["maxrss_kib"] / 1024

    # 6. gzip: scan of the .gz vs zcat alone.
    gz = files["gzip"]
    log("\n== %s" % gz.name)
    warm(gz)
    measure(
        [
            (new("zcat", "zcat > /dev/null", nbytes_gz_text), shell_runner(["zcat", str(gz)])),
            (new("gz", "scan(.gz)", nbytes_gz_text), scan_runner(gz, 0)),
        ],
        reps,
    )
    gz1 = files["gzip1"]
    log("\n== %s" % gz1.name)
    warm(gz1)
    measure(
        [
            (new("zcat1", "zcat > /dev/null", nbytes_gz_text), shell_runner(["zcat", str(gz1)])),
            (new("gz1", "scan(.gz)", nbytes_gz_text), scan_runner(gz1, 0)),
        ],
        reps,
    )
    gz_agree = T["gz"].info["hits_digest"] == T["gz1"].info["hits_digest"] and (
        sizes["gzip"] != sizes["main"] or T["gz"].info["hits_digest"] == T["scanN"].info["hits_digest"]
    )

    # ---------------------------------------------------------------- table
    r_grep = T["scan1"].best / T["grep"].best
    r_threads = T["scan1"].best / T["scanN"].best
    dense_mbps = T["dense1"].mbps()
    distinct_mbps = T["distinct1"].mbps()
    r_distinct_threads = T["distinct1"].best / T["distinctN"].best
    distinct_read1, distinct_readN = min(T["distinct1"].read_times), min(T["distinctN"].read_times)
    distinct_read_mbps = nbytes["distinct"] / MB / distinct_read1
    r_ref = T["ref"].best / T["sliceN"].best
    r_ref1 = T["ref"].best / T["slice1"].best
    rss_ok = abs(rss_big - rss_main) <= 20 and max(rss_big, rss_main) < 100
    r_gz = T["zcat"].best / T["gz"].best
    r_gz1 = T["zcat1"].best / T["gz1"].best
    ncores = info["nproc"]

    lines = []
    w = lines.append
    w("## Results %s" % info["date"])
    w("")
    w(
        "- commit `%s`; %s cores (`nproc`), %s; Linux %s; Python %s (venv, release wheel)"
        % (info["commit"], ncores, info["cpu"], info["kernel"], info["python"])
    )
    w(
        "- load average (1/5/15 min) when timing started: %s; at the end: %.2f %.2f %.2f"
        % ((info["load_start"],) + os.getloadavg())
    )
    w(
        "- files (benches/generate.py, seed %d): %s"
        % (
            SEED,
            "; ".join(
                "%s `%s` %s" % (k, files[k].name, human(nbytes[k]))
                for k in ("main", "big", "dense", "distinct", "slice", "gzip", "gzip1")
            ),
        )
    )
    w("- each time: best of %d (median in brackets), file in page cache; MB = 10^6 bytes" % reps)
    w("")
    w("| comparison | measured | ratio | target | verdict |")
    w("|---|---|---|---|---|")

    def t(key: str) -> str:
        return "%.3f s [%.3f] = %.0f MB/s" % (T[key].best, T[key].median, T[key].mbps())

    w(
        "| 1 thread vs grep, realistic %s | scan(threads=1) %s; `grep -c -F ':Zone.Identifier<'` %s | %.2fx grep's time | <= 1.0 | %s |"
        % (sizes["main"], t("scan1"), t("grep"), r_grep, verdict(r_grep <= 1.0))
    )
    w(
        "| all threads vs one, realistic %s | scan() %s | %.2fx faster on %s cores | >= 1.7 (2 cores) | %s |"
        % (sizes["main"], t("scanN"), r_threads, ncores, verdict(r_threads >= 1.7))
    )
    w(
        "| dense worst case %s, 1 thread | scan(threads=1) %s; all threads %s | %.0f MB/s per core | >= 300 MB/s | %s |"
        % (sizes["dense"], t("dense1"), t("denseN"), dense_mbps, verdict(dense_mbps >= 300))
    )
    w(
        "| dense, distinct groups %s, 1 thread | scan(threads=1) %s | %.0f MB/s per core | >= 300 MB/s | %s |"
        % (sizes["distinct"], t("distinct1"), distinct_mbps, verdict(distinct_mbps >= 300))
    )
    w(
        "| dense, distinct groups %s, all threads vs one | scan() %s | %.2fx faster on %s cores | >= 1.7 (2 cores) | %s |"
        % (sizes["distinct"], t("distinctN"), r_distinct_threads, ncores, verdict(r_distinct_threads >= 1.7))
    )
    w(
        "| dense, distinct groups %s, every hit read | scan() then every hit read: 1 thread %.3f s = %.0f MB/s; all threads %.3f s = %.0f MB/s | %.0f MB/s per core; %.2fx faster on %s cores | >= 300 MB/s, >= 1.7 | %s |"
        % (
            sizes["distinct"],
            distinct_read1,
            distinct_read_mbps,
            distinct_readN,
            nbytes["distinct"] / MB / distinct_readN,
            distinct_read_mbps,
            distinct_read1 / distinct_readN,
            ncores,
            verdict(distinct_read_mbps >= 300 and distinct_read1 / distinct_readN >= 1.7),
        )
    )
    w(
        "| vs pure-Python reference, realistic 20M | reference %s; scan() %s; scan(threads=1) %s | %.0fx (1 thread: %.0fx)%s | >= 50x | %s |"
        % (
            t("ref"),
            t("sliceN"),
            t("slice1"),
            r_ref,
            r_ref1,
            "" if agree else " RESULTS DIFFER",
            verdict(r_ref >= 50 and agree),
        )
    )
    w(
        "| peak RSS, realistic %s vs %s (fresh process each, all threads) | %.1f MiB vs %.1f MiB (1 thread: %.1f vs %.1f; a 20 MB scan: %.1f; hit groups: %d vs %d) | %+.1f MiB | within 20 MB, < 100 MB | %s |"
        % (
            sizes["main"],
            sizes["big"],
            rss_main,
            rss_big,
            rss_main1,
            rss_big1,
            rss_idle,
            T["scanN"].info["groups"],
            T["bigN"].info["groups"],
            rss_big - rss_main,
            verdict(rss_ok),
        )
    )
    w(
        "| gzip (level 6, generate.py --gzip), realistic %s | scan(.gz) %s; `zcat > /dev/null` %s (MB/s of decompressed text) | zcat/scan = %.2f%s | >= 0.8 | %s |"
        % (sizes["gzip"], t("gz"), t("zcat"), r_gz, "" if gz_agree else " RESULTS DIFFER", verdict(r_gz >= 0.8))
    )
    w(
        "| gzip -1 (`gzip -1 -n` of the same text), realistic %s | scan(.gz) %s; `zcat > /dev/null` %s | zcat/scan = %.2f | >= 0.8 | %s |"
        % (sizes["gzip"], t("gz1"), t("zcat1"), r_gz1, verdict(r_gz1 >= 0.8))
    )
    w("")
    w("Absolute rates (best of %d):" % reps)
    w("")
    w("| what | file | time | MB/s |")
    w("|---|---|---|---|")
    rows = [
        ("cat > /dev/null (memory-bandwidth ceiling)", "main", "cat"),
        ("grep -c -F ':Zone.Identifier<' (to a pipe)", "main", "grep"),
        ("scan(threads=1)", "main", "scan1"),
        ("scan() all threads", "main", "scanN"),
        ("cat > /dev/null", "big", "big_cat"),
        ("scan() all threads", "big", "bigN"),
        ("cat > /dev/null", "dense", "dense_cat"),
        ("scan(threads=1)", "dense", "dense1"),
        ("scan() all threads", "dense", "denseN"),
        ("cat > /dev/null", "distinct", "distinct_cat"),
        ("scan(threads=1)", "distinct", "distinct1"),
        ("scan() all threads", "distinct", "distinctN"),
        ("reference.scan()", "slice", "ref"),
        ("scan(threads=1)", "slice", "slice1"),
        ("scan()", "slice", "sliceN"),
        ("zcat > /dev/null (decompressed bytes)", "gzip", "zcat"),
        ("scan(.gz) (decompressed bytes)", "gzip", "gz"),
        ("zcat > /dev/null (decompressed bytes)", "gzip1", "zcat1"),
        ("scan(.gz) (decompressed bytes)", "gzip1", "gz1"),
    ]
    for what, f, key in rows:
        w("| %s | %s | %.3f s | %.0f |" % (what, files[f].name, T[key].best, T[key].mbps()))
    w("")
    i_main, i_dense, i_slice = T["scan1"].info, T["dense1"].info, T["ref"].info
    i_distinct = T["distinct1"].info
    w(
        "What was found: realistic %s: %d events, %d matching in %d groups, %d malformed (grep counted %s lines); "
        "dense: %d events, %d groups; dense distinct: %d events, %d groups; "
        "slice: %d events, %d groups, reference and scan() %s."
        % (
            sizes["main"],
            i_main["events"],
            i_main["matching"],
            i_main["groups"],
            i_main["malformed"],
            T["grep"].info["stdout"],
            i_dense["events"],
            i_dense["groups"],
            i_distinct["events"],
            i_distinct["groups"],
            i_slice["events"],
            i_slice["groups"],
            "agree" if agree else "DISAGREE",
        )
    )
    table = "\n".join(lines) + "\n"
    print(table)
    stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M")
    out = OUT / ("results-%s.md" % stamp)
    out.write_text(table)
    log("written to %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
