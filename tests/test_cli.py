"""Tests of the command line, run as ``python -m sysmon_hunt`` in a subprocess.

Every test that scans runs twice: with the native scanner and with
``--reference``. Output must be identical. The subprocess's stdout is a
pipe, so the default format is csv; tests of the table ask for it.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import List

import pytest

from cli_helpers import ENV, HASH_B, IMAGE_B, TARGET_B, cli, err, event, out, summary_line
from events import HASH as HASH_A
from events import IMAGE as IMAGE_A
from events import TARGET as TARGET_A


def malformed_offset(path: Path) -> int:
    data = path.read_bytes()
    return data.rindex(b"<Event ")


TABLE = (
    "Computer             EventCode  Image                                                                  process_id  TargetFilename                                                                    Hash                                                                                                                                                   count  firstTime            lastTime\n"
    "project-mumbai-host  15         C:\\Users\\DefaultAccount\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe  7000        C:\\Users\\DefaultAccount\\Downloads\\Telegram Desktop\\Good(NLA).txt:Zone.Identifier  "
    + HASH_A
    + "  2      2021-04-28T20:11:34  2021-04-28T20:15:01\n"
    "ДМИТРИЙ-ПК           15         C:\\Users\\Дмитрий\\AppData\\Roaming\\Telegram Desktop\\TELEGRAM.EXE         812         C:\\Users\\Дмитрий\\Downloads\\R&D, plan.xlsx:Zone.Identifier                         SHA256=AB12                                                                                                                                            1      2021-04-29T01:02:03  2021-04-29T01:02:03\n"
)

CSV = (
    "Computer,EventCode,Image,process_id,TargetFilename,Hash,count,firstTime,lastTime\r\n"
    "project-mumbai-host,15," + IMAGE_A + ",7000," + TARGET_A + ',"' + HASH_A + '",2,'
    "2021-04-28T20:11:34,2021-04-28T20:15:01\r\n"
    "ДМИТРИЙ-ПК,15," + IMAGE_B + ',812,"' + TARGET_B + '",SHA256=AB12,1,'
    "2021-04-29T01:02:03,2021-04-29T01:02:03\r\n"
)


NDJSON = [
    {
        "Computer": "project-mumbai-host",
        "EventCode": "15",
        "Image": IMAGE_A,
        "process_id": "7000",
        "TargetFilename": TARGET_A,
        "Hash": HASH_A,
        "count": 2,
        "firstTime": "2021-04-28T20:11:34.709744Z",
        "lastTime": "2021-04-28T20:15:01.000000Z",
    },
    {
        "Computer": "ДМИТРИЙ-ПК",
        "EventCode": "15",
        "Image": IMAGE_B,
        "process_id": "812",
        "TargetFilename": TARGET_B,
        "Hash": HASH_B,
        "count": 1,
        "firstTime": "2021-04-29T01:02:03.500000Z",
        "lastTime": "2021-04-29T01:02:03.500000Z",
    },
]


def test_table(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "table", "known.log", cwd=known.parent)
    assert proc.returncode == 0, err(proc)
    assert out(proc) == TABLE
    size = known.stat().st_size
    lines = err(proc).splitlines()
    assert summary_line(proc) == f"sysmon-hunt: 1 file, {size} bytes, 5 events, 1 malformed, 2 hits"
    assert lines[1].startswith(f"sysmon-hunt: malformed: known.log:{malformed_offset(known)}: ")
    assert len(lines) == 2


def test_csv(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "csv", str(known))
    assert proc.returncode == 0, err(proc)
    assert out(proc) == CSV


def test_ndjson(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "ndjson", str(known))
    assert proc.returncode == 0, err(proc)
    text = out(proc)
    assert text.endswith("\n")
    lines = text.splitlines()
    assert [json.loads(line) for line in lines] == NDJSON
    # Keys in Splunk's column order; count is a JSON number.
    assert list(json.loads(lines[0])) == list(NDJSON[0])
    assert '"count":2,' in lines[0]


def test_quiet(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "-q", "--format", "table", str(known))
    assert proc.returncode == 0
    assert out(proc) == TABLE
    assert err(proc) == ""


def test_threads_do_not_change_output(known: Path, scanner: List[str]) -> None:
    for threads in ("1", "3"):
        proc = cli("scan", *scanner, "--threads", threads, "--format", "csv", str(known))
        assert proc.returncode == 0, err(proc)
        assert out(proc) == CSV


def test_table_on_ascii_stdout(known: Path, scanner: List[str]) -> None:
    """A table to a terminal that cannot show Cyrillic is escaped, not a crash."""
    env = dict(ENV, PYTHONUTF8="0", PYTHONIOENCODING="ascii")
    proc = cli("scan", *scanner, "-q", "--format", "table", str(known), env=env)
    assert proc.returncode == 0, err(proc)
    text = proc.stdout.decode("ascii")
    assert "\\u0414\\u041c\\u0418" in text  # ДМИ
    # csv and ndjson are always UTF-8
    proc = cli("scan", *scanner, "-q", "--format", "csv", str(known), env=env)
    assert out(proc) == CSV


@pytest.mark.parametrize(
    "fmt, stdout", [("table", ""), ("csv", CSV.split("\r\n")[0] + "\r\n"), ("json", "[]\n"), ("ndjson", "")]
)
def test_no_hits_exit_1(tmp_path: Path, scanner: List[str], fmt: str, stdout: str) -> None:
    path = tmp_path / "quiet.log"
    path.write_text(event("2021-04-28T20:11:34Z", event_id="11") + "\n", encoding="utf-8")
    proc = cli("scan", *scanner, "--format", fmt, str(path))
    assert proc.returncode == 1, err(proc)
    assert out(proc) == stdout
    lines = err(proc).splitlines()
    first = 0
    if fmt == "table":
        assert lines[0] == "sysmon-hunt: no hits"
        first = 1
    assert len(lines) == first + 1
    assert (
        summary_line(proc, first) == f"sysmon-hunt: 1 file, {path.stat().st_size} bytes, 1 event, 0 malformed, 0 hits"
    )


def test_sample(scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--sample", "--format", "ndjson")
    assert proc.returncode == 0, err(proc)
    hits = [json.loads(line) for line in out(proc).splitlines()]
    assert any(h["Image"].lower().endswith("telegram.exe") for h in hits)
    # The sample's scripted content (benches/generate.py --kind sample --seed 7):
    # 6 groups, 9 matching events, one truncated event.
    assert len(hits) == 6
    assert sum(h["count"] for h in hits) == 9
    assert max(h["count"] for h in hits) == 3
    assert any(h["Image"].endswith("TELEGRAM.EXE") for h in hits)
    assert all(h["TargetFilename"].lower().endswith(":zone.identifier") for h in hits)
    summary = summary_line(proc)
    assert summary.endswith(" 1 malformed, 6 hits"), summary


def test_sample_native_equals_reference() -> None:
    native = cli("scan", "--sample", "--format", "ndjson")
    reference = cli("scan", "--sample", "--format", "ndjson", "--reference")
    assert native.returncode == reference.returncode == 0
    assert out(native) == out(reference)


def test_sample_with_paths(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--sample", "-q", "--format", "ndjson", str(known))
    assert proc.returncode == 0, err(proc)
    assert len(out(proc).splitlines()) == 6 + 2


def test_missing_file(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "known.log", "missing.log", cwd=known.parent)
    assert proc.returncode == 2
    assert out(proc) == ""
    assert err(proc) == (f"sysmon-hunt: error: cannot read 'missing.log': {os.strerror(errno.ENOENT)}\n")


def test_empty_directory(tmp_path: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, str(tmp_path))
    assert proc.returncode == 1  # no hits
    assert err(proc).startswith("sysmon-hunt: 0 files, 0 bytes, 0 events")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(known: Path, scanner: List[str]) -> None:
    known.chmod(0)
    try:
        proc = cli("scan", *scanner, str(known))
    finally:
        known.chmod(0o644)
    assert proc.returncode == 2
    assert out(proc) == ""
    assert err(proc) == f"sysmon-hunt: error: cannot read '{known}': {os.strerror(errno.EACCES)}\n"


def test_cut_gzip_prints_the_hits_before_the_cut_and_exits_2(known: Path, scanner: List[str]) -> None:
    import gzip

    data = gzip.compress(known.read_bytes() * 20)
    path = known.with_name("cut.log.gz")
    path.write_bytes(data[: len(data) // 2])
    proc = cli("scan", *scanner, str(path))
    assert proc.returncode == 2
    assert out(proc).startswith("Computer")
    assert "project-mumbai-host" in out(proc)
    text = err(proc)
    assert f"sysmon-hunt: damaged: {path}: " in text and "at decompressed offset " in text, text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "args",
    [[], ["scan"], ["scan", "--format", "xml", "x.log"], ["scan", "--threads", "-1", "x.log"], ["frobnicate"]],
)
def test_usage_errors(args: List[str]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert out(proc) == ""
    assert "usage:" in err(proc)


def test_an_evtx_file_is_one_clear_error(tmp_path: Path, scanner: List[str]) -> None:
    evtx = tmp_path / "Sysmon.evtx"
    evtx.write_bytes(b"ElfFile\x00" + bytes(4088))
    result = cli("scan", *scanner, str(evtx))
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "EVTX" in lines[0] and "Sysmon.evtx" in lines[0]
