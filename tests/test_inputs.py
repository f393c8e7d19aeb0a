"""Every input form gives the answer of the plain file: UTF-8 with and without
BOM, UTF-16 LE/BE, gzip (one or several members), zstd, binary file objects,
standard input and directories; damaged compressed streams keep what came
before the damage; EVTX is checked against its XML export (see
test_evtx.py)."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, note
from hypothesis import strategies as st

import strategies as S
import sysmon_hunt
from sysmon_hunt import reference

FORMS = ["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "gzip", "gzip-members", "zstd", "zstd-utf-16-le-bom"]


def as_form(text: bytes, form: str) -> bytes:
    """`text` (a UTF-8 stream) written in `form`."""
    if form == "gzip":
        return gzip.compress(text, mtime=0)
    if form == "gzip-members":  # `cat a.gz b.gz`
        half = len(text) // 2
        return gzip.compress(text[:half], mtime=0) + gzip.compress(text[half:], mtime=0)
    if form == "zstd":
        return zstandard.ZstdCompressor().compress(text)
    if form == "zstd-utf-16-le-bom":
        return zstandard.ZstdCompressor().compress(S.encode(text, "utf-16-le-bom"))
    return S.encode(text, form)


FORMAT_NAMES = {
    "utf-8": "xml",
    "utf-8-bom": "xml",
    "utf-16-le-bom": "xml-utf16le",
    "utf-16-be-bom": "xml-utf16be",
    "gzip": "gzip+xml",
    "gzip-members": "gzip+xml",
    "zstd": "zstd+xml",
    "zstd-utf-16-le-bom": "zstd+xml-utf16le",
}


def safe(text: bytes) -> bytes:
    """`text`, so that no encoding of it is sniffed as something else."""
    text = S.utf8_safe_for_sniffing(text)
    return b"\n" + text if text[:4] == b"\x28\xb5\x2f\xfd" or text[:8] == b"ElfFile\x00" else text


@given(
    text=S.log_text(max_events=8),
    form=st.sampled_from(FORMS),
    threads=st.sampled_from([1, 2]),
    chunk_size=st.sampled_from([0, 7, 4096]),
)
def test_every_form_gives_the_plain_answer(text: bytes, form: str, threads: int, chunk_size: int) -> None:
    text = safe(text)
    with tempfile.TemporaryDirectory() as directory:
        plain = Path(directory, "plain.log")
        plain.write_bytes(text)
        packed = Path(directory, "packed.bin")
        packed.write_bytes(as_form(text, form))
        expected = sysmon_hunt.scan(plain, threads=1)
        got = sysmon_hunt.scan(packed, threads=threads, chunk_size=chunk_size)
        ref = reference.scan(packed)
        note(f"{form}: native {got!r} reference {ref!r}")
        assert list(got) == list(expected) == list(ref)
        assert got.stats.events == expected.stats.events == ref.stats.events
        assert got.stats.bytes == ref.stats.bytes == packed.stat().st_size
        (entry,) = got.stats.inputs
        assert entry.format == FORMAT_NAMES[form] == ref.stats.inputs[0].format
        assert entry.damage is None and ref.stats.inputs[0].damage is None
        # The same bytes as a binary file object (a stream: one unit).
        with open(packed, "rb") as handle:
            streamed = sysmon_hunt.scan(handle, threads=threads, chunk_size=chunk_size)
        assert list(streamed) == list(expected)
        assert streamed.stats.events == expected.stats.events
        assert streamed.stats.bytes == packed.stat().st_size
        assert streamed.stats.inputs[0].format == FORMAT_NAMES[form]


@given(text=S.log_text(max_events=8), form=st.sampled_from(["gzip", "zstd"]), data=st.data())
def test_a_cut_compressed_stream_keeps_what_came_before(text: bytes, form: str, data) -> None:
    """Truncated anywhere: the events before the cut count, the cut is reported."""
    text = safe(text)
    packed = as_form(text, form)
    cut = data.draw(st.integers(min_value=len(packed) // 2, max_value=len(packed) - 1), label="cut")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "cut.bin")
        path.write_bytes(packed[:cut])
        got = sysmon_hunt.scan(path, threads=1)
        ref = reference.scan(path)
        note(f"native {got!r} reference {ref!r}")
        (entry,) = got.stats.inputs
        assert entry.damage and entry.damaged_at is not None
        (ref_entry,) = ref.stats.inputs
        assert ref_entry.damage is not None
        # What decoded before the cut is the same, and scanned the same.
        assert entry.damaged_at == ref_entry.damaged_at
        assert list(got) == list(ref)
        assert got.stats.events == ref.stats.events


def test_truncated_gzip_keeps_hits_and_reports_file_and_offset(tmp_path: Path) -> None:
    hit = (S.simple_event() + "\n").encode()
    text = hit * 2000
    packed = gzip.compress(text, mtime=0)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    result = sysmon_hunt.scan(path)
    (entry,) = result.stats.inputs
    assert entry.path == str(path) and entry.format == "gzip+xml"
    assert entry.damage and 0 < entry.damaged_at < len(text)
    whole_events = entry.damaged_at // len(hit)
    assert result[0].count == whole_events
    assert result.stats.events in (whole_events, whole_events + 1)
    # The CLI prints the hits and exits 2, naming the file and offset.
    cli = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", str(path)], capture_output=True, text=True
    )
    assert cli.returncode == 2
    assert "telegram" in cli.stdout.lower()
    assert f"damaged: {path}" in cli.stderr and f"offset {entry.damaged_at}" in cli.stderr


def test_garbage_after_a_gzip_member_is_reported(tmp_path: Path) -> None:
    text = (S.simple_event() + "\n").encode() * 3
    path = tmp_path / "tail.gz"
    path.write_bytes(gzip.compress(text, mtime=0) + b"not gzip at all")
    result = sysmon_hunt.scan(path)
    assert result[0].count == 3
    assert result.stats.inputs[0].damaged_at == len(text)


def test_stdin_reads_every_form(tmp_path: Path) -> None:
    text = (S.simple_event() + "\n").encode() * 3 + b"<Event>cut"
    for form in FORMS:
        cli = subprocess.run(
            [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", "-"],
            input=as_form(text, form),
            capture_output=True,
        )
        assert cli.returncode == 0, (form, cli.stderr)
        rows = cli.stdout.decode().strip().splitlines()
        assert len(rows) == 2 and rows[1].split(",")[-3] == "3", form
        assert b"4 events, 1 malformed" in cli.stderr, form


def test_utf16_odd_byte_count_and_lone_surrogates_are_reported_not_fatal(tmp_path: Path) -> None:
    good = S.simple_event() + "\n"
    bad = S.simple_event(hash="MD5=\ud800") + "\n"
    raw = b"\xff\xfe" + (good + bad + good).encode("utf-16-le", "surrogatepass") + b"\x41"
    path = tmp_path / "odd.log"
    path.write_bytes(raw)
    result = sysmon_hunt.scan(path)
    ref = reference.scan(path)
    assert list(result) == list(ref)
    assert result[0].count == 2
    assert result.stats.events == 3 and result.stats.malformed == 1
    assert result.stats.malformed_examples[0].path == str(path)
    assert result.stats.inputs[0].format == "xml-utf16le"


def test_directories_are_walked_sorted_and_every_file_is_counted(tmp_path: Path) -> None:
    hit = (S.simple_event() + "\n").encode()
    (tmp_path / "b").mkdir()
    (tmp_path / "a.log").write_bytes(hit)
    (tmp_path / "b" / "z.log.gz").write_bytes(gzip.compress(hit * 2))
    (tmp_path / "b" / "y.zst").write_bytes(zstandard.ZstdCompressor().compress(hit))
    (tmp_path / "c.txt").write_bytes(b"no events here")
    os.symlink(tmp_path, tmp_path / "b" / "loop")
    os.mkfifo(tmp_path / "fifo")
    result = sysmon_hunt.scan(tmp_path)
    ref = reference.scan(tmp_path)
    assert list(result) == list(ref)
    assert result[0].count == 4
    paths = [(Path(i.path).relative_to(tmp_path).as_posix(), i.format) for i in result.stats.inputs]
    assert paths == [
        ("a.log", "xml"),
        ("b/loop", None),
        ("b/y.zst", "zstd+xml"),
        ("b/z.log.gz", "gzip+xml"),
        ("c.txt", "xml"),
        ("fifo", None),
    ]
    assert [(i.path, i.format) for i in result.stats.inputs] == [(i.path, i.format) for i in ref.stats.inputs]
    assert (result.stats.files, result.stats.files_skipped) == (4, 2) == (ref.stats.files, ref.stats.files_skipped)
    assert all(i.skipped for i in result.stats.inputs if i.format is None)
    # The CLI scans directories too, and lists what it skipped (exit 2).
    cli = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "scan", "-q", str(tmp_path)], capture_output=True, text=True
    )
    assert cli.returncode == 2
    assert f"skipped: {tmp_path / 'fifo'}: not a regular file" in cli.stderr
    assert "symlink loop" in cli.stderr


def test_a_named_missing_file_is_still_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sysmon_hunt.scan([tmp_path, tmp_path / "missing.log"])


def test_text_mode_file_objects_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text(S.simple_event())
    with open(path) as handle, pytest.raises(OSError, match="binary mode"):
        sysmon_hunt.scan(handle)


def test_compressed_evtx_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "log.evtx.gz"
    path.write_bytes(gzip.compress(b"ElfFile\x00" + bytes(5000)))
    with pytest.raises(sysmon_hunt.ScanError, match="compressed EVTX"):
        sysmon_hunt.scan(path)


def test_a_failing_file_object_is_an_error_not_a_damaged_stream() -> None:
    packed = gzip.compress((S.simple_event() + "\n").encode() * 2000, mtime=0)

    class Failing(io.RawIOBase):
        name = "flaky"

        def __init__(self) -> None:
            self.sent = 0

        def read(self, n: int = -1) -> bytes:
            if self.sent > len(packed) // 2:
                raise RuntimeError("the disk went away")
            piece = packed[self.sent : self.sent + min(n, 4096)]
            self.sent += len(piece)
            return piece

    with pytest.raises(OSError, match="the disk went away"):
        sysmon_hunt.scan(Failing())
