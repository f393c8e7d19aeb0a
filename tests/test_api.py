"""The Python API contract of `sysmon_hunt.scan()` and its result types."""

from __future__ import annotations

import collections.abc
import gzip
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import sysmon_hunt
from events import HASH, TARGET
from strategies import simple_event as E
from sysmon_hunt import Hit, MalformedEvent, ScanError, ScanResult, ScanStats, reference

TELEGRAM_A = r"C:\Users\a\AppData\Roaming\Telegram Desktop\Telegram.exe"
TELEGRAM_B = r"C:\Users\Дмитрий\AppData\Roaming\Telegram Desktop\TELEGRAM.EXE"


def write(path: Path, data) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """Two groups (A twice, with times out of order; B once), a chrome
    download, and an unterminated event."""
    lines = [
        E(time="2021-04-28T20:15:01.1234567Z", image=TELEGRAM_A),
        E(time="2021-04-28T20:11:34.709744300Z", image=TELEGRAM_A),
        E(image=r"C:\Program Files\Google\Chrome\Application\chrome.exe"),
        E(time="2021-04-29T01:02:03Z", image=TELEGRAM_B, computer="ДМИТРИЙ-ПК", process_id="812"),
        E(time="2021-04-28T20:12:00Z", image=TELEGRAM_A)[:200],
        E(time="2021-04-28T20:13:00Z", image=TELEGRAM_A),
    ]
    return write(tmp_path / "sysmon.log", "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------
# what `paths` may be
# ---------------------------------------------------------------------------


def test_accepts_str_path_list_and_generator(log: Path) -> None:
    expected = sysmon_hunt.scan(log)
    assert len(expected) == 2
    assert sysmon_hunt.scan(str(log)) == expected
    assert sysmon_hunt.scan([log]) == expected
    assert sysmon_hunt.scan([str(log)]) == expected
    assert sysmon_hunt.scan((p for p in [log])) == expected
    assert sysmon_hunt.scan(os.fsencode(str(log))) == expected
    assert sysmon_hunt.scan(iter([log])) == expected


def test_a_list_of_files_merges(log: Path, tmp_path: Path) -> None:
    other = write(tmp_path / "other.log", E(time="2021-04-28T19:00:00Z", image=TELEGRAM_A) + "\n")
    result = sysmon_hunt.scan([log, other])
    assert result.stats.files == 2
    assert result.stats.bytes == log.stat().st_size + other.stat().st_size
    (a,) = [h for h in result if h.Image == TELEGRAM_A]
    assert a.count == 4
    assert a.firstTime == datetime(2021, 4, 28, 19, 0, tzinfo=timezone.utc)
    assert sysmon_hunt.scan([other, log]) == ScanResult(
        list(result),
        result.stats._replace(
            malformed_examples=tuple(m._replace(path=str(log)) for m in result.stats.malformed_examples),
            inputs=tuple(reversed(result.stats.inputs)),
        ),
    )


def test_no_paths(tmp_path: Path) -> None:
    result = sysmon_hunt.scan([])
    assert len(result) == 0
    assert result.stats == ScanStats(files=0, bytes=0, events=0, malformed=0, malformed_examples=())


def test_non_ascii_path(tmp_path: Path) -> None:
    path = write(tmp_path / "журнал 日志 é.log", E()[:100] + "\n" + E() + "\n")
    result = sysmon_hunt.scan(path)
    assert len(result) == 1
    (example,) = result.stats.malformed_examples
    assert example.path == str(path)


def test_not_a_path_is_a_type_error(log: Path) -> None:
    with pytest.raises(TypeError):
        sysmon_hunt.scan([log, 42])


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def test_hit_fields_and_types(log: Path) -> None:
    result = sysmon_hunt.scan(log)
    assert (
        Hit._fields
        == sysmon_hunt.COLUMNS
        == (
            "Computer",
            "EventCode",
            "Image",
            "process_id",
            "TargetFilename",
            "Hash",
            "count",
            "firstTime",
            "lastTime",
        )
    )
    assert sysmon_hunt.BY_FIELDS == sysmon_hunt.COLUMNS[:6]
    for hit in result:
        assert isinstance(hit, Hit)
        for name in sysmon_hunt.BY_FIELDS:
            assert type(getattr(hit, name)) is str
        assert type(hit.count) is int and hit.count >= 1
        for t in (hit.firstTime, hit.lastTime):
            assert isinstance(t, datetime)
            assert t.tzinfo is not None and t.utcoffset() == timedelta(0)
        assert hit.firstTime <= hit.lastTime

    a, b = result  # ordered by by-field values: "project-mumbai-host" < "ДМИТРИЙ-ПК"
    assert (a.Computer, a.EventCode, a.Image, a.process_id) == ("project-mumbai-host", "15", TELEGRAM_A, "7000")
    assert a.TargetFilename == TARGET  # simple_event's default target
    assert a.Hash == HASH  # and its default hash
    assert a.count == 3
    # 7 fraction digits truncated (never rounded) to microseconds
    assert a.firstTime == datetime(2021, 4, 28, 20, 11, 34, 709744, tzinfo=timezone.utc)
    assert a.lastTime == datetime(2021, 4, 28, 20, 15, 1, 123456, tzinfo=timezone.utc)
    assert (b.Computer, b.Image, b.process_id, b.count) == ("ДМИТРИЙ-ПК", TELEGRAM_B, "812", 1)
    assert b.firstTime == b.lastTime == datetime(2021, 4, 29, 1, 2, 3, tzinfo=timezone.utc)


def test_scan_result_is_a_sequence(log: Path) -> None:
    result = sysmon_hunt.scan(log)
    assert isinstance(result, collections.abc.Sequence)
    assert isinstance(result, ScanResult)
    hits = list(result)
    assert len(result) == 2 == len(hits)
    assert result[0] == hits[0] and result[1] == hits[1]
    assert result[-1] == hits[-1] and result[-2] == hits[0]
    with pytest.raises(IndexError):
        result[2]
    assert list(result[0:1]) == hits[0:1]
    assert list(result[::-1]) == hits[::-1]
    assert list(result[5:]) == []
    assert [h for h in result] == hits
    assert hits[1] in result
    assert result.index(hits[1]) == 1
    assert result.count(hits[0]) == 1
    assert list(reversed(result)) == hits[::-1]
    assert bool(result)
    assert "2 hits" in repr(result)


def test_stats_fields(log: Path) -> None:
    stats = sysmon_hunt.scan(log).stats
    assert isinstance(stats, ScanStats)
    assert stats._fields == (
        "files",
        "bytes",
        "events",
        "malformed",
        "malformed_examples",
        "excluded",
        "inputs",
        "files_skipped",
        "json_records",
        "json_events",
    )
    assert stats.inputs == (sysmon_hunt.InputStats(str(log), "xml", log.stat().st_size),)
    assert stats.files_skipped == 0
    assert stats.files == 1
    assert stats.bytes == log.stat().st_size
    assert stats.events == 6
    assert stats.malformed == 1
    assert isinstance(stats.malformed_examples, tuple)
    assert all(isinstance(m, MalformedEvent) for m in stats.malformed_examples)


def test_native_equals_reference(log: Path) -> None:
    native = sysmon_hunt.scan(log)
    ref = reference.scan(log)
    assert list(native) == list(ref)
    assert native.stats.events == ref.stats.events
    assert native.stats.malformed == ref.stats.malformed == 1
    assert native == ref


def test_threads_beyond_the_core_count(log: Path) -> None:
    assert sysmon_hunt.scan(log, threads=64, split_size=100) == sysmon_hunt.scan(log, threads=1)


# ---------------------------------------------------------------------------
# malformed events
# ---------------------------------------------------------------------------


def test_malformed_examples_locate_the_event(tmp_path: Path) -> None:
    good = E() + "\n"
    bad = E(computer="a&bogus;b")  # undefined entity, in a matching event
    cut = E()[:150]  # unterminated
    text = "junk\n" + good + bad + "\n" + good + cut + "\n" + good
    path = write(tmp_path / "m.log", text)
    result = sysmon_hunt.scan(path)
    assert result.stats.events == 5
    assert result.stats.malformed == 2
    assert sum(h.count for h in result) == 3
    offsets = [m.offset for m in result.stats.malformed_examples]
    data = text.encode("utf-8")
    assert offsets == [data.index(bad.encode()), data.index(cut.encode() + b"\n")]
    for m in result.stats.malformed_examples:
        assert m.path == str(path)
        assert isinstance(m.reason, str) and m.reason.strip()
        assert data[m.offset : m.offset + 6] == b"<Event"


def test_malformed_offsets_with_bom_gzip_and_utf16(tmp_path: Path) -> None:
    text = E() + "\n" + E()[:120] + "\n" + E() + "\n"
    cut_at = text.encode("utf-8").index(b"<Event ", 10)
    cases = {
        "bom.log": (b"\xef\xbb\xbf" + text.encode("utf-8"), cut_at + 3),  # BOM included
        "plain.gz": (gzip.compress(text.encode("utf-8"), mtime=0), cut_at),  # decompressed stream
        "utf16.log": (b"\xff\xfe" + text.encode("utf-16-le"), cut_at),  # the UTF-8 transcoding
    }
    for name, (raw, offset) in cases.items():
        path = write(tmp_path / name, raw)
        result = sysmon_hunt.scan(path)
        assert sum(h.count for h in result) == 2, name
        assert [m.offset for m in result.stats.malformed_examples] == [offset], name
        assert result.stats.bytes == len(raw), name


def test_at_most_ten_malformed_examples(tmp_path: Path) -> None:
    text = "".join(E()[:100] + "\n" for _ in range(15)) + E()
    path = write(tmp_path / "many.log", text)
    result = sysmon_hunt.scan(path, threads=2, split_size=300)
    assert result.stats.malformed == 15
    assert len(result.stats.malformed_examples) == 10
    data = text.encode()
    starts = [i for i in range(len(data)) if data.startswith(b"<Event ", i)]
    assert [m.offset for m in result.stats.malformed_examples] == starts[:10]
    assert len(result) == 1


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path, log: Path) -> None:
    missing = tmp_path / "missing.log"
    for paths in (missing, [missing], [log, missing], [missing, log]):
        with pytest.raises(FileNotFoundError) as info:
            sysmon_hunt.scan(paths)
        assert str(missing) in str(info.value)


def test_missing_file_is_reported_before_scanning(tmp_path: Path) -> None:
    """A truncated gzip is found damaged only once it is scanned (its header
    is fine): with a missing file after it, the scan fails first."""
    truncated = write(tmp_path / "truncated.gz", gzip.compress((E() + "\n").encode() * 50, mtime=0)[:-20])
    assert sysmon_hunt.scan(truncated).stats.inputs[0].damage
    missing = tmp_path / "missing.log"
    with pytest.raises(FileNotFoundError) as info:
        sysmon_hunt.scan([truncated, missing])
    assert str(missing) in str(info.value)


def test_an_empty_directory_scans_as_nothing(tmp_path: Path) -> None:
    result = sysmon_hunt.scan(tmp_path)
    assert len(result) == 0
    assert result.stats == ScanStats(files=0, bytes=0, events=0, malformed=0, malformed_examples=())


@pytest.mark.parametrize("option", ["threads", "chunk_size", "split_size"])
@pytest.mark.parametrize("value", [-1, True, 1.5, "2"])
def test_bad_options(log: Path, option: str, value) -> None:
    with pytest.raises(ValueError):
        sysmon_hunt.scan(log, **{option: value})


@pytest.mark.parametrize(
    "corruption",
    ["truncated", "header_only", "bad_crc", "bad_deflate", "garbage_after_magic", "garbage_after_member"],
)
def test_corrupt_gzip_is_reported_with_its_place(tmp_path: Path, corruption: str) -> None:
    """Not an error: what decoded before the damage is scanned and kept."""
    good = gzip.compress(("\n".join([E()] * 20) + "\n").encode(), mtime=0)
    if corruption == "truncated":
        raw = good[: len(good) // 2]
    elif corruption == "header_only":
        raw = good[:10]
    elif corruption == "bad_crc":
        raw = good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:]
    elif corruption == "bad_deflate":
        raw = good[:10] + b"\xff" * 40 + good[50:]
    elif corruption == "garbage_after_magic":
        raw = b"\x1f\x8b" + b"not gzip at all" * 3
    else:
        raw = good + b"this is not a gzip member"
    path = write(tmp_path / "bad.gz", raw)
    result = sysmon_hunt.scan(path)
    ref = reference.scan(path)
    (entry,) = result.stats.inputs
    assert entry.path == str(path) and entry.damage and entry.damaged_at is not None
    assert ref.stats.inputs[0].damage
    if corruption == "bad_deflate":
        # Where inside a corrupt block decoding stops is the decompressor's
        # business: only what came before that block is common ground.
        assert result.stats.events <= 20
    else:
        assert list(result) == list(ref)
        assert (result.stats.events, entry.damaged_at) == (ref.stats.events, ref.stats.inputs[0].damaged_at)
    whole = 20 if corruption in ("bad_crc", "garbage_after_member") else None
    if whole:
        assert result[0].count == whole
    assert sysmon_hunt.ScanError is ScanError


def test_gzip_members_and_layers(tmp_path: Path) -> None:
    one = (E() + "\n").encode()
    two_members = write(tmp_path / "two.gz", gzip.compress(one, mtime=0) + gzip.compress(one, mtime=0))
    result = sysmon_hunt.scan(two_members)
    assert result.stats.events == 2 and sum(h.count for h in result) == 2
    # One layer only: a gzip inside a gzip is not looked into.
    double = write(tmp_path / "double.gz", gzip.compress(gzip.compress(one, mtime=0), mtime=0))
    result = sysmon_hunt.scan(double)
    assert result.stats.events == 0 and len(result) == 0
    assert result == reference.scan(double)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xfe\xff",
        b"x",
        b"garbage \x00\xff\xfe <Eventually> </Event> <EventData>\n" * 50,
    ],
    ids=["empty", "newline", "utf8_bom", "utf16le_bom", "utf16be_bom", "one_byte", "garbage"],
)
def test_files_without_events(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "nothing.log", content)
    result = sysmon_hunt.scan(path)
    assert len(result) == 0
    assert result.stats.events == 0 and result.stats.malformed == 0
    assert result.stats.bytes == len(content)
    assert result == reference.scan(path)


# ---------------------------------------------------------------------------
# the bundled sample
# ---------------------------------------------------------------------------


def test_sample_path() -> None:
    sample = sysmon_hunt.sample_path()
    assert isinstance(sample, Path)
    assert sample.is_file()
    result = sysmon_hunt.scan(sample)
    assert len(result) >= 1
    assert result.stats.events >= len(result)
    ref = reference.scan(sample)
    assert list(result) == list(ref)
    assert result.stats.events == ref.stats.events


def test_a_fifo_is_refused_without_blocking(tmp_path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; the scanner
    must refuse it from its metadata instead of hanging."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        sysmon_hunt.scan(fifo)


def test_an_evtx_file_with_a_broken_header_is_a_clear_error(tmp_path) -> None:
    """An EVTX file whose header is broken (all zero after the magic) is a clear error."""
    evtx = tmp_path / "Sysmon.evtx"
    evtx.write_bytes(b"ElfFile\x00" + bytes(4088))
    with pytest.raises(sysmon_hunt.ScanError, match="EVTX"):
        sysmon_hunt.scan(evtx)
    with pytest.raises(ValueError, match="EVTX"):
        reference.scan(evtx)
