"""EVTX benchmark: the binary candidate test against the full render path,
`evtx_dump`, and the XML text path on the same events.

    python benches/evtx.py make [--mb 256]   # inputs under benches/out/
    python benches/evtx.py time [--rounds 5] [--evtx-dump PATH]

`make` writes a realistic log by repeating the real chunks of the
casimkhan corpus file (a lab host's Sysmon log: 16 event IDs, 1.3% of the
records EID 15 on `:Zone.Identifier`) with record IDs made unique and the
chunk checksums rewritten; in one copy in 64, `\\browser_broker.exe`
becomes `\\Deskt\\Telegram.exe` (same length), a few Telegram hits. The
XML twin repeats the corpus's XML export the same way. It also writes a
worst case with the test writer: every record a Telegram hit.

`time` runs each command in turn, round after round (interleaved), and
reports the best wall time of each.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benches" / "out"
CORPUS = ROOT.parent / "shared" / "corpus" / "real" / "casimkhan-sysmongo"
CHUNK = 65536
HEADER = 4096
HIT_EVERY = 64


def _chunks(data: bytes) -> list[bytes]:
    return [c for c in (data[i : i + CHUNK] for i in range(HEADER, len(data), CHUNK)) if any(c)]


def _renumber(chunk: bytes, first_id: int) -> bytes:
    """The chunk with its records numbered from `first_id`, checksums rewritten."""
    c = bytearray(chunk)
    free = struct.unpack_from("<I", c, 48)[0]
    at, record_id = 512, first_id
    while at < free:
        size = struct.unpack_from("<I", c, at + 4)[0]
        struct.pack_into("<Q", c, at + 8, record_id)
        last_at, at, record_id = at, at + size, record_id + 1
    struct.pack_into("<QQQQ", c, 8, first_id, record_id - 1, first_id, record_id - 1)
    struct.pack_into("<I", c, 44, last_at)
    struct.pack_into("<I", c, 52, zlib.crc32(bytes(c[512:free])))
    struct.pack_into("<I", c, 124, zlib.crc32(bytes(c[:120]) + bytes(c[128:512])))
    return bytes(c)


def _file_header(chunks: int, next_id: int) -> bytes:
    h = bytearray(HEADER)
    struct.pack_into("<8sQQQIHHHH", h, 0, b"ElfFile\x00", 0, chunks - 1, next_id, 128, 1, 3, HEADER, chunks)
    struct.pack_into("<I", h, 124, zlib.crc32(bytes(h[:120])))
    return bytes(h)


def make(mb: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    source = (CORPUS / "sysmon-operational.evtx").read_bytes()
    xml = (CORPUS / "sysmon-operational.xml.log").read_bytes()
    chunks = _chunks(source)
    copies = max(1, mb * 2**20 // (len(chunks) * CHUNK))
    old16, new16 = (s.encode("utf-16-le") for s in ("\\browser_broker.exe", "\\Deskt\\Telegram.exe"))
    old8, new8 = (s.encode() for s in ("\\browser_broker.exe", "\\Deskt\\Telegram.exe"))
    next_id = 1
    with open(OUT / "evtx-bench.evtx", "wb") as evtx, open(OUT / "evtx-bench.xml.log", "wb") as twin:
        evtx.write(_file_header(copies * len(chunks), 0))  # rewritten below
        for copy in range(copies):
            hit = copy % HIT_EVERY == 0
            for chunk in chunks:
                records = struct.unpack_from("<Q", chunk, 32)[0] - struct.unpack_from("<Q", chunk, 24)[0] + 1
                if hit:
                    chunk = chunk.replace(old16, new16)
                evtx.write(_renumber(chunk, next_id))
                next_id += records
            twin.write(xml.replace(old8, new8) if hit else xml)
        evtx.seek(0)
        evtx.write(_file_header(copies * len(chunks), next_id))
    print(f"{OUT / 'evtx-bench.evtx'}: {copies} copies, {copies * len(chunks)} chunks, {next_id - 1} records")

    sys.path.insert(0, str(ROOT / "tests"))
    from evtx_writer import Data, Event, filetime_of, number, write_evtx

    start = filetime_of(datetime(2024, 5, 1, tzinfo=timezone.utc))
    events = [
        Event(
            "Microsoft-Windows-Sysmon",
            15,
            start + i * 10_000_000,
            f"host{i % 50}",
            (
                Data("RuleName", "-"),
                Data("UtcTime", str(datetime(2024, 5, 1) + timedelta(seconds=i))),
                Data("ProcessGuid", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"),
                Data("ProcessId", str(1000 + i % 7)),
                Data("Image", r"C:\Users\u\AppData\Roaming\Telegram Desktop\Telegram.exe"),
                Data("TargetFilename", rf"C:\Users\u\Downloads\Telegram Desktop\file{i}.pdf:Zone.Identifier"),
                Data("CreationUtcTime", "2024-05-01 10:00:00.000"),
                Data("Hash", "SHA256=D07777E0DC36EBECCE3FA9644F0F44DC4A0B7EDE0CBC1F5D33E8D6CB07AF5B5C"),
            ),
        )
        for i in range(40_000)
    ]
    (OUT / "evtx-worst.evtx").write_bytes(write_evtx(number(events)))
    print(f"{OUT / 'evtx-worst.evtx'}: {len(events)} records, every one a hit")


def best_times(commands: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    best = {name: float("inf") for name in commands}
    for _ in range(rounds):
        for name, run in commands.items():
            t = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def timed(rounds: int, evtx_dump: str) -> None:
    import sysmon_hunt

    evtx, twin, worst = OUT / "evtx-bench.evtx", OUT / "evtx-bench.xml.log", OUT / "evtx-worst.evtx"
    fast = sysmon_hunt.scan(evtx, threads=1)
    full = sysmon_hunt.scan(evtx, threads=1, evtx_prefilter=False)
    text = sysmon_hunt.scan(twin, threads=1)
    assert list(fast) == list(full) == list(text) and fast.stats.events == full.stats.events == text.stats.events
    print(
        f"realistic: {evtx.stat().st_size / 2**20:.0f} MiB, {fast.stats.events} records, "
        f"{sum(h.count for h in fast)} hits; XML twin {twin.stat().st_size / 2**20:.0f} MiB"
    )

    def run(*args: str) -> Callable[[], object]:
        return lambda: subprocess.run(args, stdout=subprocess.DEVNULL, check=True)

    commands: dict[str, Callable[[], object]] = {
        "prefilter -t1": lambda: sysmon_hunt.scan(evtx, threads=1),
        "prefilter -t2": lambda: sysmon_hunt.scan(evtx, threads=2),
        "full render -t1": lambda: sysmon_hunt.scan(evtx, threads=1, evtx_prefilter=False),
        "XML text path -t1": lambda: sysmon_hunt.scan(twin, threads=1),
    }
    if evtx_dump:
        commands["evtx_dump -t 1 -o xml"] = run(evtx_dump, "-t", "1", "-o", "xml", str(evtx))
        commands["evtx_dump -t 2 -o xml"] = run(evtx_dump, "-t", "2", "-o", "xml", str(evtx))
    best = best_times(commands, rounds)
    size = evtx.stat().st_size
    base = best["prefilter -t1"]
    print("| run | best s | MB/s | time / prefilter -t1 |\n|---|---|---|---|")
    for name, seconds in best.items():
        mbs = (twin if "XML" in name else evtx).stat().st_size / seconds / 1e6
        print(f"| {name} | {seconds:.3f} | {mbs:.0f} | {seconds / base:.2f}x |")
    del size

    worst_fast = sysmon_hunt.scan(worst, threads=1)
    assert list(worst_fast) == list(sysmon_hunt.scan(worst, threads=1, evtx_prefilter=False))
    best = best_times(
        {
            "worst case, prefilter -t1": lambda: sysmon_hunt.scan(worst, threads=1),
            "worst case, full render -t1": lambda: sysmon_hunt.scan(worst, threads=1, evtx_prefilter=False),
        },
        rounds,
    )
    print(f"worst case: {worst.stat().st_size / 2**20:.0f} MiB, {worst_fast.stats.events} records, all hits")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.3f} | {worst.stat().st_size / seconds / 1e6:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["make", "time", "clean"])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--evtx-dump", default=shutil.which("evtx_dump") or "")
    args = parser.parse_args()
    if args.what == "make":
        make(args.mb)
    elif args.what == "time":
        timed(args.rounds, args.evtx_dump)
    else:
        for name in ("evtx-bench.evtx", "evtx-bench.xml.log", "evtx-worst.evtx"):
            (OUT / name).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
