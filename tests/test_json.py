"""JSON inputs (docs/json.md): shapes, hostile records, the CLI and the
real OTRF files. Each hostile record is checked against its expected
figures, in the core and in the reference."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List, Tuple

import pytest
from json_events import Ev, JsonStyle, json_array, json_record, ndjson, xml_log

import sysmon_hunt
from sysmon_hunt import reference

TELEGRAM = r"C:\\Users\\a\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe"
TARGET = r"C:\\Users\\a\\Downloads\\x.exe:Zone.Identifier"


def nx(**fields: str) -> str:
    """A matching NXLog record; `fields` replace or add raw JSON members."""
    members = {
        "SourceName": '"Microsoft-Windows-Sysmon"',
        "EventID": "15",
        "Hostname": '"host1"',
        "UtcTime": '"2020-10-09 22:28:00.962"',
        "ProcessId": '"9696"',
        "Image": f'"{TELEGRAM}"',
        "TargetFilename": f'"{TARGET}"',
        "Hash": '"MD5=0"',
    }
    members.update(fields)
    return "{" + ",".join(f'"{k}":{v}' for k, v in members.items()) + "}"


# (name, record line, records, malformed, hit events)
CASES: List[Tuple[str, str, int, int, int]] = [
    ("plain", nx(), 1, 0, 1),
    ("truncated", nx()[:-9], 1, 1, 0),
    ("invalid escape", nx(Hash=r'"MD5=\q"'), 1, 1, 0),
    ("lone surrogate", nx(User=r'"\ud800"'), 1, 1, 0),
    ("lone low surrogate in a key", nx(**{"\\udc00": "1"}), 1, 1, 0),
    ("surrogate pair", nx(Hostname=r'"h\ud83d\ude00"'), 1, 0, 1),
    ("escaped literals", nx(Image=r'"C:\\x\\Telegram\u002eexe"', TargetFilename=r'"a\u003aZone.Identifier"'), 1, 0, 1),
    ("escaped backslash is not an escape", nx(Image=r'"C:\\x\\u0054elegram.exe"', Contents='"telegram.exe"'), 1, 0, 0),
    ("deep nesting", nx(x="[" * 70 + "]" * 70), 1, 1, 0),
    ("nesting at the limit", nx(x="[" * 63 + "]" * 63), 1, 0, 1),
    ("brackets in strings do not nest", nx(x='"' + "[" * 100 + '"'), 1, 0, 1),
    ("duplicate key, first counts", nx(Image=f'"{TELEGRAM}","Image":"chrome.exe"'), 1, 0, 1),
    ("duplicate key, first counts (miss)", nx(Image=f'"chrome.exe","Image":"{TELEGRAM}"'), 1, 0, 0),
    ("NaN", nx(EventID="NaN"), 1, 1, 0),
    ("trailing bytes", nx() + " x", 1, 1, 0),
    ("two objects on a line", nx() + nx(), 1, 1, 0),
    ("raw control character", nx(Hash='"MD5=\x01"'), 1, 1, 0),
    ("U+0000 in a value", nx(Hash=r'"MD5=\u0000"'), 1, 1, 0),
    ("no usable time", nx(UtcTime='"yesterday"'), 1, 1, 0),
    ("no time at all", nx(UtcTime="null"), 1, 1, 0),
    ("number EventID as written", nx(EventID="15.0"), 1, 0, 0),
    ("string EventID trimmed", nx(EventID='" 15\\r\\n"'), 1, 0, 1),
    ("null Hash is empty: dropped", nx(Hash="null"), 1, 0, 0),
    ("object value has no value", nx(Image='{"#text":"' + TELEGRAM + '"}'), 1, 0, 0),
    ("not an object", "[" + nx() + "]", 1, 0, 0),
    ("a string", '"' + TARGET + '"', 1, 0, 0),
    ("a number", "42", 1, 0, 0),
    ("other provider", nx(SourceName='"Microsoft-Windows-Security-Auditing"'), 1, 0, 0),
    ("no shape", '{"Image":"' + TELEGRAM + '","TargetFilename":"' + TARGET + '"}', 1, 0, 0),
    ("blank line", "  \t\r", 0, 0, 0),
    ("leading zero in a number", nx(x="01"), 1, 1, 0),
    ("number with a bare dot", nx(x="1."), 1, 1, 0),
    ("a lone minus", nx(x="[-]"), 1, 1, 0),
    ("exponent without digits", nx(x="1e"), 1, 1, 0),
    ("high surrogate, then another escape", nx(User=r'"\ud83d\u0041"'), 1, 1, 0),
    ("high surrogate at a string's end", nx(User=r'"a\ud83d"'), 1, 1, 0),
    ("low surrogate first", nx(User=r'"\ude00\ud83d"'), 1, 1, 0),
    ("escaped backslash, then ud800", nx(User=r'"\\ud800"'), 1, 0, 1),
    ("white space between every token", json.dumps(json.loads(nx()), separators=(" ,\t", " :  ")), 1, 0, 1),
    ("empty object and array values", nx(x="{}", y="[]", z='{"a":[{}]}'), 1, 0, 1),
    ("unclosed nested value", nx(x='{"a":[1,2}'), 1, 1, 0),
]


def figures(result) -> Tuple[int, int, int]:
    return result.stats.json_records, result.stats.malformed, sum(hit.count for hit in result)


@pytest.mark.parametrize("name,line,records,malformed,hits", CASES, ids=[c[0] for c in CASES])
def test_hostile_records(name: str, line: str, records: int, malformed: int, hits: int) -> None:
    # Every case holds the literals, so the core parses it and the counts
    # are exact. The `{}` line first makes the input NDJSON whatever the case.
    data = ("{}\n" + line + "\n").encode("utf-8")
    core = sysmon_hunt.scan(io.BytesIO(data))
    oracle = reference.scan_bytes(data)
    assert figures(core) == (records + 1, malformed, hits)
    assert figures(oracle) == (records + 1, malformed, hits)
    assert list(core) == list(oracle)
    assert core.stats.json_events == oracle.stats.json_events


def test_hostile_records_together_in_every_layout(tmp_path: Path) -> None:
    invalid_utf8 = nx(Hash='"MD5=').encode() + b'\xff"}'
    # Cases that break an array's framing are NDJSON only: a line resumes after them.
    breaks_framing = ("truncated", "trailing bytes", "two objects on a line", "blank line", "unclosed nested value")
    array_cases = [c for c in CASES if c[0] not in breaks_framing]

    def expected(cases: List[Tuple[str, str, int, int, int]]) -> Tuple[int, int, int]:
        return sum(c[2] for c in cases) + 1, sum(c[3] for c in cases) + 1, sum(c[4] for c in cases)

    ndjson_data = ("\ufeff" + "\r\n".join(c[1] for c in CASES) + "\r\n\r\n").encode() + invalid_utf8 + b"\n"
    array_data = ("\ufeff[\n" + ",\n".join(c[1] for c in array_cases) + ",").encode() + invalid_utf8 + b"]\n"
    for data, want in [
        (ndjson_data, expected(CASES)),
        (array_data, expected(array_cases)),
        (gzip.compress(ndjson_data), expected(CASES)),
    ]:
        path = tmp_path / "x.json"
        path.write_bytes(data)
        for core in (sysmon_hunt.scan(str(path)), sysmon_hunt.scan(str(path), chunk_size=7, split_size=300)):
            oracle = reference.scan_bytes(data)
            assert figures(core) == figures(oracle) == want
            assert list(core) == list(oracle)
            assert [(m.offset, m.reason) for m in core.stats.malformed_examples] == [
                (m.offset, m.reason) for m in oracle.stats.malformed_examples
            ]


def test_over_long_records_are_malformed_and_skipped(tmp_path: Path) -> None:
    long_line = nx(Contents='"' + "a" * (1 << 20) + '"')
    data = "\n".join([nx(), long_line, nx(ProcessId='"2"')]).encode()
    for case in (data, b"[" + data.replace(b"\n", b",") + b"]"):
        path = tmp_path / "long.json"
        path.write_bytes(case)
        core = sysmon_hunt.scan(str(path), chunk_size=4096)
        oracle = reference.scan_bytes(case)
        assert figures(core) == figures(oracle) == (3, 1, 2)
        assert core.stats.malformed_examples[0].reason == "JSON record longer than 1 MiB"


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"[" + nx().encode() + b" " + nx().encode() + b"]", "expected , or ] after a JSON array element"),
        (b"[" + nx().encode() + b",]", "expected a JSON array element after ,"),
        (b"[" + nx().encode(), "JSON array not closed"),
        (b"[" + nx().encode() + b"]\n" + nx().encode(), "expected [ to start a JSON array"),
    ],
)
def test_broken_arrays(data: bytes, reason: str) -> None:
    core = sysmon_hunt.scan(io.BytesIO(data))
    oracle = reference.scan_bytes(data)
    assert figures(core) == figures(oracle) == (1, 1, 1)
    assert core.stats.malformed_examples[0].reason == oracle.stats.malformed_examples[0].reason == reason


def test_arrays_of_arrays_and_empty_inputs() -> None:
    for data, records in [(b"[]", 0), (b" [ ] [ ]\n", 0), (b"[" + nx().encode() + b"][" + nx().encode() + b"]", 2)]:
        core = sysmon_hunt.scan(io.BytesIO(data))
        assert core.stats.inputs[0].format == "json"
        assert figures(core) == figures(reference.scan_bytes(data)) == (records, 0, records)


EV = Ev(
    "Microsoft-Windows-Sysmon",
    "15",
    "2021-04-28T20:11:34.7097443Z",
    "project-mumbai-host",
    (
        ("ProcessId", "7000"),
        ("Image", r"C:\T\Telegram.exe"),
        ("TargetFilename", r"C:\d\a b.txt:Zone.Identifier"),
        ("Hash", "MD5=1"),
    ),
)


@pytest.mark.parametrize("shape", ["evtx", "ecs", "ecs_hit", "nxlog", "splunk"])
def test_each_shape_finds_the_download(shape: str) -> None:
    record = json_record(EV, shape, JsonStyle(seed=1, extra_fields=True))
    expected = sysmon_hunt.scan(io.BytesIO(xml_log([EV])))
    assert len(expected) == 1
    for data in (ndjson([record]), json_array([record], pretty=True)):
        core = sysmon_hunt.scan(io.BytesIO(data))
        assert list(core) == list(expected)
        assert core.stats.json_events == 1
        assert list(reference.scan_bytes(data)) == list(expected)


def test_splunk_raw_is_judged_as_xml_with_escapes_decoded() -> None:
    """The bug the issue reports: a Splunk export read as text kept `\\\\`."""
    record = json.dumps({"preview": False, "result": {"_raw": xml_log([EV]).decode()}})
    core = sysmon_hunt.scan(io.BytesIO(record.encode()))
    assert [hit.Image for hit in core] == [r"C:\T\Telegram.exe"]
    assert core.stats.events == 0  # XML events are those of XML inputs; this is a JSON record
    broken = json.dumps({"result": {"_raw": "<Event><System>" + TARGET + " telegram.exe"}})
    core = sysmon_hunt.scan(io.BytesIO(broken.encode()))
    oracle = reference.scan_bytes(broken.encode())
    assert figures(core) == figures(oracle) == (1, 1, 0)
    assert core.stats.malformed_examples[0].offset == 0


def test_cli_scans_a_gzipped_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson.gz"
    path.write_bytes(gzip.compress(ndjson([json_record(EV, "ecs", JsonStyle(seed=3))])))
    out = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].startswith(r"project-mumbai-host,15,C:\T\Telegram.exe,7000,")


def test_stdin_and_directories(tmp_path: Path) -> None:
    data = ndjson([json_record(EV, "nxlog", JsonStyle(seed=4))])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.json").write_bytes(data)
    assert figures(sysmon_hunt.scan(str(tmp_path / "d"))) == (1, 0, 1)
    out = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", "--no-progress", "-"],
        input=data,
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0 and b"Telegram.exe" in out.stdout


# ---------------------------------------------------------------------------
# real files: OTRF Security-Datasets (shared/corpus/README.md)
# ---------------------------------------------------------------------------

OTRF_RECORDS = 37814


def test_otrf_telegram_derived(corpus_dir: Path) -> None:
    path = corpus_dir / "real" / "otrf-covenant-dcom" / "covenant_dcom.telegram-derived.json.gz"
    result = sysmon_hunt.scan(str(path))
    assert result.stats.inputs[0].format == "gzip+json"
    assert result.stats.json_records == OTRF_RECORDS
    assert (len(result), sum(hit.count for hit in result), result.stats.malformed) == (19, 19, 0)
    assert {hit.Computer for hit in result} == {"WORKSTATION5.theshire.local"}
    assert {hit.Image.rsplit("\\", 1)[1] for hit in result} == {"Telegram.exe", "telegram.exe", "TELEGRAM.EXE"}
    # NXLog time is Sysmon's UtcTime: the first hit's, to the millisecond.
    assert min(hit.firstTime for hit in result).isoformat() == "2020-10-09T22:28:00.962000+00:00"
    assert result.stats.json_events >= 19
    assert sysmon_hunt.scan(str(path), threads=1, split_size=1 << 20).stats.json_records == OTRF_RECORDS


def test_otrf_unchanged(corpus_dir: Path, tmp_path: Path) -> None:
    archive = corpus_dir / "real" / "otrf-covenant-dcom" / "covenant_dcom_iertutil_dll_hijack.zip"
    assert len(sysmon_hunt.scan(str(archive))) == 0  # a zip is not read (unzip it first)
    with zipfile.ZipFile(archive) as z:
        (member,) = z.namelist()
        data = z.read(member)
    path = tmp_path / "mordor.json"
    path.write_bytes(data)
    result = sysmon_hunt.scan(str(path))
    assert (result.stats.json_records, len(result), result.stats.malformed) == (OTRF_RECORDS, 0, 0)
    assert result.stats.inputs[0].format == "json"


def test_units_scanned_apart_and_merged(tmp_path: Path) -> None:
    """NDJSON cut into byte ranges (as Dask units are) gives the local scan's result."""
    from sysmon_hunt import _native

    lines = [c[1] for c in CASES] * 3
    path = tmp_path / "units.ndjson"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    (planned,) = _native.plan_path(str(path), 500)
    assert planned.format == "json" and len(planned.ranges) > 10
    config = _native.ScanConfig(chunk_size=64)
    merged = _native.Partial()
    for start, owned_len in planned.ranges:
        merged.merge(_native.Partial(_native.scan_range(str(path), 0, start, owned_len, config).to_bytes()))
    result = merged.finish([planned], config)
    local = sysmon_hunt.scan(str(path))
    assert list(result) == list(local)
    assert figures(result) == figures(local) == figures(reference.scan_bytes(path.read_bytes()))
    assert result.stats.json_events == local.stats.json_events


def test_text_logs_opening_with_a_bracket_stay_text() -> None:
    event = xml_log([EV])
    for prefix in (b"[2021-04-28 20:11:34] ", b"[INFO] ", b"{note} "):
        core = sysmon_hunt.scan(io.BytesIO(prefix + event))
        oracle = reference.scan_bytes(prefix + event)
        assert core.stats.inputs[0].format == oracle.stats.inputs[0].format == "xml"
        assert len(core) == len(oracle) == 1
    for data in (b"[", b"[ ]", b"{ }", b' {"a"'):
        assert sysmon_hunt.scan(io.BytesIO(data)).stats.inputs[0].format == "json"
        assert reference.scan_bytes(data).stats.inputs[0].format == "json"


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def evtx_to_jsonl():
    """Runs benches/drivers/evtx_to_jsonl.rs (the evtx crate's JSON, as `evtx_dump
    -o jsonl` writes it); skips when cargo is not available."""
    import shutil

    if shutil.which("cargo") is None:
        pytest.skip("cargo is needed to build benches/drivers/evtx_to_jsonl.rs")

    def convert(source: Path, target: Path) -> None:
        subprocess.run(
            ["cargo", "run", "-q", "--profile", "ci", "--example", "evtx_to_jsonl", "--", str(source), str(target)],
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=900,
        )

    return convert


def test_evtx_crate_json_of_the_corpus_evtx(corpus_dir: Path, tmp_path: Path, evtx_to_jsonl) -> None:
    """Real evtx-crate JSON: the corpus EVTX rendered by the evtx crate gives
    what its XML rendering gives, and, with the telegram-derived Image
    values put in (by EventRecordID), exactly the telegram-derived XML's hits."""
    import re

    folder = corpus_dir / "real" / "casimkhan-sysmongo"
    jsonl = tmp_path / "sysmon.jsonl"
    evtx_to_jsonl(folder / "sysmon-operational.evtx", jsonl)
    result = sysmon_hunt.scan(str(jsonl))
    assert result.stats.inputs[0].format == "json"
    assert (result.stats.json_records, len(result), result.stats.malformed) == (2322, 0, 0)

    derived_xml = folder / "sysmon-operational.telegram-derived.xml.log"
    images = {}
    for line in derived_xml.read_text(encoding="utf-8").splitlines():
        image = re.search(r"<Data Name=\"Image\">([^<]*Telegram Desktop[^<]*)</Data>", line)
        if image:
            record_id = re.search(r"<EventRecordID>(\d+)</EventRecordID>", line)
            assert record_id is not None
            images[int(record_id.group(1))] = image.group(1)
    assert len(images) == 30
    lines = []
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record_id = record["Event"]["System"]["EventRecordID"]
        if record_id in images:
            record["Event"]["EventData"]["Image"] = images[record_id]
            line = json.dumps(record, ensure_ascii=False)
        lines.append(line)
    derived_jsonl = tmp_path / "derived.jsonl"
    derived_jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = sysmon_hunt.scan(str(derived_xml))
    got = sysmon_hunt.scan(str(derived_jsonl))
    assert len(expected) == 30
    assert list(got) == list(expected)
    assert list(reference.scan(str(derived_jsonl))) == list(expected)
