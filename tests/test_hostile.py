"""Hostile and broken input, interruption and concurrency.

Logs collected during an incident are often damaged, and a scanner reads
files an attacker may have written. Whatever the input, a scan finishes (or
stops when asked), its memory stays bounded, every good event is still
found, and every damaged one is counted and located.

Multi-gigabyte inputs are sparse files: a few real bytes around a hole of
zeros, so they cost no disk space and read at memory speed.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import multiprocessing
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import sysmon_hunt
from events import NS
from oracle import check_bytes, write_files
from strategies import simple_event as E
from sysmon_hunt import ScanError, reference

GIB = 1 << 30
MIB = 1 << 20

#: How long a child process may take before the test calls it hung. Generous:
#: the machine may be shared; a healthy run takes a few seconds.
HANG = 120


def _package_root() -> str:
    spec = importlib.util.find_spec("sysmon_hunt")
    assert spec is not None and spec.submodule_search_locations, "sysmon_hunt is not importable"
    return str(Path(list(spec.submodule_search_locations)[0]).parent)


#: The environment of child processes: they import the same sysmon_hunt.
CHILD_ENV = dict(os.environ)
CHILD_ENV["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p)
CHILD_ENV["PYTHONUTF8"] = "1"


def sparse_file(path: Path, head: bytes, size: int, tail: bytes = b"") -> Path:
    """`head`, zeros up to `size - len(tail)`, then `tail`; the zeros are a hole."""
    try:
        with open(path, "wb") as handle:
            handle.write(head)
            handle.truncate(size - len(tail))
            handle.seek(size - len(tail))
            handle.write(tail)
    except OSError as error:
        pytest.skip(f"this filesystem cannot hold a sparse file of {size} bytes: {error}")
    return path


def read_chars(pid: Optional[int] = None) -> int:
    """Bytes the process has read so far (Linux `/proc/<pid>/io` rchar)."""
    where = f"/proc/{pid or 'self'}/io"
    with open(where) as handle:
        for line in handle:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError(f"no rchar in {where}")


def needs_proc_io() -> None:
    try:
        read_chars()
    except OSError:
        pytest.skip("needs /proc/<pid>/io (Linux) to see how far a scan has read")


def wait_until_read(pid: Optional[int], at_least: int, process: Optional[subprocess.Popen] = None) -> None:
    """Waits until process `pid` has read `at_least` more bytes: the scan is under way."""
    start = read_chars(pid)
    deadline = time.monotonic() + HANG
    while read_chars(pid) - start < at_least:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the scan ended before it was interrupted: {process.returncode}")
        assert time.monotonic() < deadline, "the scan never started reading"
        time.sleep(0.01)


def hit_event(n: int, computer: str = "host") -> bytes:
    """A matching event, told apart from the others by its process id."""
    return E(process_id=str(n), computer=computer).encode()


def counts_by_pid(result) -> Dict[str, int]:
    return {hit.process_id: hit.count for hit in result}


# ---------------------------------------------------------------------------
# memory: a huge unterminated event, a line of gigabytes
# ---------------------------------------------------------------------------

#: Scans argv[1] with argv[2] threads; prints its figures and how far its
#: peak resident memory rose above what it held before the scan. Writing 5
#: to clear_refs resets the peak (VmHWM) to the current size, so that
#: start-up peaks do not hide the scan's.
MEMORY_CHILD = """
import json, sys
import sysmon_hunt
def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = kib("VmRSS")
result = sysmon_hunt.scan(sys.argv[1], threads=int(sys.argv[2]))
after = kib("VmHWM")
s = result.stats
print(json.dumps({
    "growth": (after - before) * 1024,
    "events": s.events,
    "malformed": s.malformed,
    "examples": [[m.offset, m.reason] for m in s.malformed_examples],
    "hits": {h.process_id: h.count for h in result},
}))
"""

#: Peak memory a scan may add, whatever the input. Anything that grew with
#: the input would take hundreds of megabytes here; a worker holds at most
#: the event size cap (1 MiB) and two reads (1 MiB each).
MEMORY_BOUND = 32 * MIB


def scan_in_child(path: Path, threads: int) -> dict:
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to measure a peak")
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(path), str(threads)],
        env=CHILD_ENV,
        capture_output=True,
        timeout=HANG * 3,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_huge_unterminated_event_costs_bounded_memory(tmp_path: Path, threads: int) -> None:
    """An `<Event` followed by 512 MiB without `</Event>`: malformed, located,
    and the events before and after it are found."""
    head = hit_event(1) + b"\n"
    bad = f"<Event xmlns='{NS}'><System><Computer>".encode()
    path = sparse_file(tmp_path / "unterminated.log", head + bad, 512 * MIB, b"\n" + hit_event(2) + b"\n")
    figures = scan_in_child(path, threads)
    assert figures["events"] == 3
    assert figures["malformed"] == 1
    assert figures["examples"] == [[len(head), "no </Event> within 1 MiB of the event start"]]
    assert figures["hits"] == {"1": 1, "2": 1}
    assert figures["growth"] < MEMORY_BOUND, figures


@pytest.mark.parametrize("threads", [1, 2])
def test_a_line_of_gigabytes_costs_bounded_memory(tmp_path: Path, threads: int) -> None:
    """A gigabyte on one line with no event in it, between two events."""
    head = hit_event(1) + b"<EventData>no event starts on this line "
    path = sparse_file(tmp_path / "line.log", head, GIB, hit_event(2) + b"\n")
    figures = scan_in_child(path, threads)
    assert (figures["events"], figures["malformed"], figures["hits"]) == (2, 0, {"1": 1, "2": 1})
    assert figures["growth"] < MEMORY_BOUND, figures


def test_every_event_past_the_cap_is_located(tmp_path: Path) -> None:
    """Many oversized events in a row: each one counted at its own offset,
    the same by the core and the reference, whatever the chunking."""
    cap = reference.MAX_EVENT_BYTES
    parts = [hit_event(0)]
    for i in range(1, 4):
        parts += [b"<Event>" + b"y" * cap, hit_event(i)]
    raw = b"\n".join(parts)
    for threads, chunk_size, split_size in [(1, 0, 0), (1, 4096, 0), (2, 100_000, 300_000)]:
        native, ref = check_bytes(raw, threads, chunk_size, split_size)
        assert counts_by_pid(native) == {"0": 1, "1": 1, "2": 1, "3": 1}
        assert native.stats.malformed == ref.stats.malformed == 3
        offsets = [m.offset for m in native.stats.malformed_examples]
        assert (
            offsets
            == [m.offset for m in ref.stats.malformed_examples]
            == [i for i in reference.event_starts(raw) if raw.startswith(b"<Event>", i)]
        )


# ---------------------------------------------------------------------------
# DTDs and entities: never expanded
# ---------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE Event [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


def _entity_cases(canary: Path) -> Dict[str, Tuple[str, int]]:
    """name: (file text, how many of its events match). Each DTD defines
    entities that, if expanded, would turn a non-matching event into a match."""
    telegram = '<!DOCTYPE Event [<!ENTITY t "Telegram.exe">]>\n'
    external = f'<!DOCTYPE Event [<!ENTITY t SYSTEM "{canary.as_uri()}">]>\n'
    network = '<!DOCTYPE Event [<!ENTITY t SYSTEM "http://192.0.2.1/telegram.exe">]>\n'
    parameter = f'<!DOCTYPE Event [<!ENTITY % p SYSTEM "{canary.as_uri()}"> %p;]>\n'
    uses_t = E(image=r"C:\x\&t;", process_id="66")
    uses_lol = E(computer="&lol9;", process_id="67")
    good = E(process_id="1")
    inside = E(process_id="68").replace("<System>", telegram.strip() + "<System>")
    return {
        "billion_laughs_at_the_top": (BILLION_LAUGHS + uses_lol + "\n" + good + "\n", 1),
        "internal_entity_at_the_top": (telegram + uses_t + "\n" + good + "\n", 1),
        "external_entity_at_the_top": (external + uses_t + "\n" + good + "\n", 1),
        "network_entity_at_the_top": (network + uses_t + "\n" + good + "\n", 1),
        "parameter_entity_at_the_top": (parameter + uses_t + "\n" + good + "\n", 1),
        "doctype_inside_an_event": (inside + "\n" + good + "\n", 1),
        "doctype_right_after_event_start": (
            "<Event " + BILLION_LAUGHS.split("\n", 1)[1] + uses_lol[len("<Event ") :] + "\n" + good + "\n",
            1,
        ),
        "billion_laughs_in_every_event": (
            "".join(BILLION_LAUGHS + E(computer="&lol9;", process_id=str(i)) + "\n" for i in range(50)) + good,
            1,
        ),
    }


ENTITY_CASES = [
    "billion_laughs_at_the_top",
    "internal_entity_at_the_top",
    "external_entity_at_the_top",
    "network_entity_at_the_top",
    "parameter_entity_at_the_top",
    "doctype_inside_an_event",
    "doctype_right_after_event_start",
    "billion_laughs_in_every_event",
]


@pytest.mark.parametrize("name", ENTITY_CASES)
def test_dtd_entities_are_never_expanded(tmp_path: Path, name: str) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("C:\\x\\Telegram.exe")  # what an external entity would read
    cases = _entity_cases(canary)
    assert sorted(cases) == sorted(ENTITY_CASES)
    text, matched = cases[name]
    raw = text.encode()
    for threads, chunk_size in [(1, 0), (2, 7)]:
        native, ref = check_bytes(raw, threads, chunk_size)
        # Only the plain event matches; every event with a DTD or an entity is malformed.
        assert counts_by_pid(native) == counts_by_pid(ref) == {"1": matched}
        assert ref.stats.malformed == len(reference.event_starts(raw)) - 1


# ---------------------------------------------------------------------------
# arbitrary bytes
# ---------------------------------------------------------------------------


def _real_binaries() -> List[bytes]:
    """The first 16 KiB of a real ELF (or Mach-O/PE) executable and of the native extension."""
    blobs = [Path(sys.executable).resolve().read_bytes()[: 16 << 10]]
    native = Path(sysmon_hunt._native.__file__)
    blobs.append(native.read_bytes()[: 16 << 10])
    return blobs


#: A JPEG's first bytes: SOI, a JFIF APP0 segment, the start of a
#: quantization table; then entropy-coded-looking bytes.
JPEG_HEAD = bytes.fromhex("ffd8ffe000104a46494600010101004800480000ffdb004300") + bytes(range(256)) * 4

BLOBS = _real_binaries() + [
    JPEG_HEAD,
    b"\x00" * 5000,
    b"\xff\xfe<\x00E\x00v\x00e\x00n\x00t\x00 \x00",  # UTF-16 that is not the file's encoding
    b"\x1f\x8b\x08\x00" + bytes(30),  # a gzip header in the middle of a file
    gzip.compress(hit_event(999_999), mtime=0),  # a compressed event is not an event
    b"ElfFile\x00",
    b"<Event",
    b"<Event ",
    b"<Event>",
    b"</Event>",
    b"<![CDATA[",
    b"<!--",
    b"<?xml version='1.0' encoding='UTF-16'?>",
    BILLION_LAUGHS.encode(),
    b"\xed\xa0\x80",  # a UTF-16 surrogate written as UTF-8
    b"\xc0\xaf",  # an overlong `/`
]

junk = st.one_of(st.binary(max_size=300), st.sampled_from(BLOBS))


@given(
    parts=st.lists(st.one_of(st.none(), junk), max_size=14),
    threads=st.sampled_from([0, 1, 2]),
    chunk_size=st.sampled_from([0, 1, 7, 64, 4096]),
    split_size=st.sampled_from([0, 13, 1000]),
)
def test_random_bytes_mixed_with_events_never_hide_them(parts, threads, chunk_size, split_size) -> None:
    """`None` in `parts` is a valid matching event (with its own process id).
    Whatever bytes surround them, every one is found, as the reference finds it."""
    pieces = []
    expected = {}
    for i, part in enumerate(parts):
        if part is None:
            pieces.append(hit_event(i))
            expected[str(i)] = 1
        else:
            pieces.append(part)
    # The first bytes decide the file's encoding (and gzip): a leading
    # newline keeps it plain UTF-8, which the events are written in.
    raw = b"\n" + b"".join(pieces)
    native, ref = check_bytes(raw, threads, chunk_size, split_size)
    note(f"{raw!r}")
    assert counts_by_pid(native) == expected


#: First bytes that make a file gzip, UTF-16, UTF-8 with BOM or EVTX.
SNIFFED = [
    b"",
    b"\x1f\x8b",
    b"\x1f\x8b\x08\x00",
    b"\xff\xfe",
    b"\xfe\xff",
    b"<\x00",
    b"\x00<",
    b"\xef\xbb\xbf",
    b"ElfFile\x00",
]


@given(
    raw=st.one_of(
        st.builds(bytes.__add__, st.sampled_from(SNIFFED), st.binary(max_size=2000)),
        st.sampled_from(BLOBS),
    ),
    threads=st.sampled_from([1, 2]),
)
def test_any_file_gives_a_result_or_a_clear_error(raw: bytes, threads: int) -> None:
    """Whole files of arbitrary bytes, sniffed as anything (gzip, UTF-16,
    EVTX): the core and the reference give the same result, or both refuse
    the file (the core always with `ScanError`)."""
    with tempfile.TemporaryDirectory() as directory:
        paths = write_files(directory, [raw])
        try:
            native = sysmon_hunt.scan(paths, threads=threads, chunk_size=64, split_size=100)
        except ScanError as error:
            assert paths[0] in str(error)
            with pytest.raises((OSError, EOFError, ValueError, zlib.error)):
                reference.scan(paths)
            return
        ref = reference.scan(paths)
        assert list(native) == list(ref)
        assert native.stats.events == ref.stats.events


# ---------------------------------------------------------------------------
# truncated files, and files that change while they are read
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 10, 100, 300, -9, -8, -1])
def test_a_file_cut_mid_event(cut: int) -> None:
    """The last event is cut short: it is malformed, at its own offset; the
    events before it are found."""
    whole = hit_event(1) + b"\r\n" + hit_event(2) + b"\r\n" + hit_event(3)
    last = whole.rindex(b"<Event ")
    raw = whole[: last + cut] if cut > 0 else whole[:cut]
    for threads, chunk_size, split_size in [(1, 0, 0), (2, 5, 50)]:
        native, ref = check_bytes(raw, threads, chunk_size, split_size)
        assert counts_by_pid(native) == {"1": 1, "2": 1}
        assert native.stats.events == (3 if cut >= len(b"<Event ") or cut < 0 else 2)
        if native.stats.events == 3:
            assert [m.offset for m in native.stats.malformed_examples] == [last]
            assert [m.offset for m in ref.stats.malformed_examples] == [last]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("change", ["truncate", "grow"])
def test_a_file_that_changes_under_the_scan(tmp_path: Path, threads: int, change: str) -> None:
    """The file is truncated (or appended to) while a scan reads it: the scan
    ends with a clean partial result or a clear error, never a crash (nothing
    is memory-mapped, so a shrinking file cannot raise SIGBUS)."""
    needs_proc_io()
    head = b"\n".join(hit_event(i) for i in range(100)) + b"\n"
    # Big enough that the scan is still reading when the file changes.
    size = 16 * GIB if change == "truncate" else GIB
    path = sparse_file(tmp_path / "changing.log", head, size, hit_event(100_000) + b"\n")
    outcome: List[object] = []

    def scan() -> None:
        try:
            outcome.append(sysmon_hunt.scan(path, threads=threads))
        except (OSError, ScanError) as error:
            outcome.append(error)

    scanner = threading.Thread(target=scan)
    scanner.start()
    wait_until_read(None, 64 * MIB)
    if change == "truncate":
        os.truncate(path, len(head))
    else:
        with open(path, "ab") as handle:
            for i in range(100_001, 100_101):
                handle.write(hit_event(i) + b"\n")
    scanner.join(HANG * 3)
    assert not scanner.is_alive(), "the scan hung"
    (result,) = outcome
    if isinstance(result, BaseException):
        assert str(path) in str(result)
        return
    found = counts_by_pid(result)
    assert all(count == 1 for count in found.values())
    # Everything read is exact: the head (read first) is there in full and
    # nothing is invented; what was cut off is simply not seen.
    heads = {str(i): 1 for i in range(100)}
    if threads == 1:
        assert heads.items() <= found.items()
    assert set(found) <= set(heads) | {str(i) for i in range(100_000, 100_101)}
    assert result.stats.malformed <= 1  # at most the event the reader caught half-written
    if change == "truncate":
        assert "100000" not in found


# ---------------------------------------------------------------------------
# concurrency: threads and fork
# ---------------------------------------------------------------------------


@pytest.fixture
def mixed_logs(tmp_path: Path) -> List[str]:
    """Three files (plain with CRLF, gzip, UTF-16LE with BOM) with hits,
    repeats of the same group, near misses and malformed events."""
    lines = []
    for i in range(3000):
        if i % 7 == 0:
            lines.append(E(process_id=str(i % 50), time=f"2021-04-28T20:{i % 60:02d}:34Z"))
        elif i % 11 == 0:
            lines.append(E(image=r"C:\x\chrome.exe", process_id=str(i)))
        elif i % 13 == 0:
            lines.append(E(process_id=str(i))[:150])
        else:
            lines.append(E(event_id="1", process_id=str(i)))
    text = "\r\n".join(lines) + "\r\n"
    plain = tmp_path / "plain.log"
    plain.write_bytes(text.encode())
    packed = tmp_path / "packed.log.gz"
    packed.write_bytes(gzip.compress(text.replace("host", "other").encode(), mtime=0))
    wide = tmp_path / "wide.log"
    wide.write_bytes(b"\xff\xfe" + text[: len(text) // 2].encode("utf-16-le"))
    return [str(plain), str(packed), str(wide)]


def summary(result) -> Tuple:
    s = result.stats
    return (list(result), s.files, s.bytes, s.events, s.malformed, s.malformed_examples)


def test_sixteen_concurrent_scans_from_eight_threads(mixed_logs: List[str]) -> None:
    expected = sysmon_hunt.scan(mixed_logs, threads=1)
    ref = reference.scan(mixed_logs)
    assert list(expected) == list(ref) and len(expected) > 50
    assert expected.stats.events == ref.stats.events
    options = [dict(threads=t, chunk_size=c, split_size=s) for t in (0, 1, 2, 4) for c, s in ((0, 0), (4096, 65536))]
    options += options  # 16 scans
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(sysmon_hunt.scan, mixed_logs, **o) for o in options]
        results = [f.result(timeout=HANG * 3) for f in futures]
    for o, result in zip(options, results):
        assert summary(result) == summary(expected), o


def run_in_fork(work: Callable[[], object]) -> object:
    """Runs `work` in a forked child; returns what it returned (pickled
    through a pipe), fails if it raised, crashed or hung."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            try:
                payload = pickle.dumps(("ok", work()))
            except BaseException as error:  # reported to the parent
                payload = pickle.dumps(("raised", repr(error)))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + HANG
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung (an inherited lock or thread pool?)")
            chunk = pipe.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child ended with status {status}"
    kind, value = pickle.loads(b"".join(chunks))
    assert kind == "ok", value
    return value


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads alive (3.12+)
def test_a_scan_in_a_child_forked_after_a_scan(mixed_logs: List[str]) -> None:
    expected = summary(sysmon_hunt.scan(mixed_logs, threads=2))
    in_child = run_in_fork(lambda: summary(sysmon_hunt.scan(mixed_logs, threads=2)))
    assert in_child == expected
    in_child = run_in_fork(lambda: summary(sysmon_hunt.scan(mixed_logs, threads=1)))
    assert in_child == expected


@needs_fork
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads alive (3.12+)
def test_a_scan_in_a_child_forked_while_a_scan_runs(tmp_path: Path, mixed_logs: List[str]) -> None:
    """The parent's workers are mid-scan when it forks: the child has none of
    those threads, and its own scan must neither wait for them nor need them."""
    needs_proc_io()
    expected = summary(sysmon_hunt.scan(mixed_logs, threads=2))
    head = hit_event(1) + b"\n"
    big = sparse_file(tmp_path / "big.log", head, 64 * GIB)
    background: List[object] = []
    scanner = threading.Thread(target=lambda: background.append(sysmon_hunt.scan(big, threads=2)))
    scanner.start()
    try:
        wait_until_read(None, 64 * MIB)
        assert scanner.is_alive()
        in_child = run_in_fork(lambda: summary(sysmon_hunt.scan(mixed_logs, threads=2)))
    finally:
        os.truncate(big, len(head))  # ends the parent's scan early
        scanner.join(HANG * 3)
    assert in_child == expected
    assert not scanner.is_alive()
    assert counts_by_pid(background[0]) == {"1": 1}


def scan_summary(paths: List[str]) -> Tuple:
    """Module level, so that multiprocessing can send it to its workers."""
    return summary(sysmon_hunt.scan(paths))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads alive (3.12+)
def test_scans_in_a_multiprocessing_fork_pool(mixed_logs: List[str]) -> None:
    expected = scan_summary(mixed_logs)  # the parent has run a pool of its own first
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pending = pool.map_async(scan_summary, [mixed_logs] * 4)
        results = pending.get(timeout=HANG)
    assert results == [expected] * 4


# ---------------------------------------------------------------------------
# interruption
# ---------------------------------------------------------------------------


def test_ctrl_c_stops_an_api_scan(tmp_path: Path) -> None:
    """SIGINT during a 64 GiB scan raises KeyboardInterrupt long before the
    file is read (the scan is cancelled, not finished and then interrupted)."""
    needs_proc_io()
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach Python's main thread only")
    size = 64 * GIB
    path = sparse_file(tmp_path / "huge.log", hit_event(1) + b"\n", size)

    def interrupt() -> None:
        wait_until_read(None, 64 * MIB)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    # Python's own handler, as in a terminal: a process started in the
    # background by a shell without job control inherits SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = read_chars()
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sysmon_hunt.scan(path, threads=2)
    finally:
        sender.join(HANG)
        signal.signal(signal.SIGINT, previous)
    assert read_chars() - before < size // 4


def cli_child(*args: str, prelude: str = "", **popen) -> subprocess.Popen:
    """`python -m sysmon_hunt scan ARGS`, after running `prelude` (Python
    that sets up the process, e.g. its file descriptors) in the same process."""
    launcher = "\n".join(["import os, signal, sys", prelude, "os.execv(sys.executable, sys.argv[1:])"])
    return subprocess.Popen(
        [sys.executable, "-c", launcher, sys.executable, "-m", "sysmon_hunt", "scan", *args],
        env=CHILD_ENV,
        **popen,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("threads", ["1", "0"])
def test_ctrl_c_stops_the_cli(tmp_path: Path, threads: str) -> None:
    """SIGINT to `sysmon-hunt scan` on a 1 TiB file: exit 130, one line on
    stderr, no traceback. Reading the whole file would take minutes, far
    beyond the timeout."""
    needs_proc_io()
    path = sparse_file(tmp_path / "huge.log", hit_event(1) + b"\n", 1 << 40)
    # SIGINT as a terminal leaves it: this process may have inherited it ignored
    # (started in the background by a shell without job control).
    child = cli_child(
        "--threads",
        threads,
        str(path),
        prelude="signal.signal(signal.SIGINT, signal.SIG_DFL)",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_read(child.pid, 64 * MIB, child)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=HANG)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert stdout == b""
    assert stderr.decode() == "sysmon-hunt: interrupted\n"


# ---------------------------------------------------------------------------
# output errors
# ---------------------------------------------------------------------------


@pytest.fixture
def one_hit(tmp_path: Path) -> Path:
    path = tmp_path / "one.log"
    path.write_bytes(hit_event(1) + b"\n")
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_a_closed_stdout_is_one_clear_error(one_hit: Path) -> None:
    """`sysmon-hunt scan x.log >&-`"""
    child = cli_child(str(one_hit), prelude="os.close(1)", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, stderr = child.communicate(timeout=HANG)
    assert child.returncode == 2
    assert stderr.decode() == "sysmon-hunt: error: cannot write '<stdout>': standard output is closed\n"
