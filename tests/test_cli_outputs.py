"""The command line's outputs and options: formats parsed back and compared
with `scan()`, `-o`, `--excel`, exit codes, `--exclude`/`--exclude-file`,
`--by`, `--risk`, write errors, and the progress bar under a real
pseudo-terminal. Helpers and fixtures come from `test_cli`."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sysmon_hunt
from cli_helpers import ENV, cli, err, event, out, summary_line
from sysmon_hunt import _native, output
from sysmon_hunt.output import ctime, iso_time


def rows(result, times=ctime) -> List[Dict[str, str]]:
    """`result` as the CLI prints it: every value a string but count, times formatted."""
    return [
        {**{k: str(v) for k, v in h._asdict().items()}, "firstTime": times(h.firstTime), "lastTime": times(h.lastTime)}
        for h in result
    ]


def json_rows(result) -> List[dict]:
    return [{**r, "count": int(r["count"])} for r in rows(result, iso_time)]


# ---------------------------------------------------------------------------
# formats
# ---------------------------------------------------------------------------


def test_csv_parses_back_to_the_scan(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "csv", str(known))
    assert proc.returncode == 0, err(proc)
    text = out(proc)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # RFC 4180 line ends
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert parsed == rows(sysmon_hunt.scan(known))
    assert text.split("\r\n")[0] == ",".join(sysmon_hunt.COLUMNS)


def test_json_is_one_array(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "json", str(known))
    assert proc.returncode == 0, err(proc)
    parsed = json.loads(out(proc))
    assert parsed == json_rows(sysmon_hunt.scan(known))
    assert parsed[0]["firstTime"] == "2021-04-28T20:11:34.709744Z"
    assert list(parsed[0]) == list(sysmon_hunt.COLUMNS)


def test_ndjson_parses_back_to_the_scan(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "ndjson", str(known))
    assert proc.returncode == 0, err(proc)
    assert [json.loads(line) for line in out(proc).splitlines()] == json_rows(sysmon_hunt.scan(known))


def test_default_format_off_a_terminal_is_csv(known: Path, scanner: List[str]) -> None:
    piped = cli("scan", *scanner, str(known))
    assert out(piped) == out(cli("scan", *scanner, "--format", "csv", str(known)))


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "ndjson"])
def test_output_file(known: Path, tmp_path: Path, scanner: List[str], fmt: str) -> None:
    target = tmp_path / ("hits." + fmt)
    proc = cli("scan", *scanner, "--format", fmt, "-o", str(target), str(known))
    assert proc.returncode == 0, err(proc)
    assert proc.stdout == b""
    assert summary_line(proc).endswith(" 2 hits")
    assert target.read_bytes() == cli("scan", *scanner, "-q", "--format", fmt, str(known)).stdout


def test_output_file_without_format_is_csv(known: Path, tmp_path: Path) -> None:
    target = tmp_path / "hits.out"
    assert cli("scan", "-o", str(target), str(known)).returncode == 0
    assert target.read_bytes().startswith(b"Computer,EventCode,")


def test_excel_csv(tmp_path: Path, scanner: List[str]) -> None:
    path = tmp_path / "formula.log"
    target = '=HYPERLINK("http://x","y"):Zone.Identifier'
    path.write_text(event("2021-04-28T20:11:34Z", computer="ДМИТРИЙ-ПК", target=target) + "\n", encoding="utf-8")
    proc = cli("scan", *scanner, "--format", "csv", "--excel", str(path))
    assert proc.returncode == 0, err(proc)
    assert proc.stdout.startswith(b"\xef\xbb\xbfComputer,")
    (row,) = csv.DictReader(io.StringIO(proc.stdout.decode("utf-8-sig"), newline=""))
    assert row["Computer"] == "ДМИТРИЙ-ПК"
    assert row["TargetFilename"] == "'" + target  # shown as text, never run
    plain = cli("scan", *scanner, "--format", "csv", str(path))
    (row,) = csv.DictReader(io.StringIO(out(plain), newline=""))
    assert row["TargetFilename"] == target  # plain CSV keeps the value as it is


# ---------------------------------------------------------------------------
# exit codes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, status, message",
    [
        ([], 0, None),
        (["--exclude", "Computer=*"], 1, None),
        (["--by", "Computer,Nope"], 1, None),
        (["--by", "Computer,count"], 2, "statistics column"),
        (["--by", "Provider"], 2, "attributes only"),
        (["--exclude", "process_name=x"], 2, "unknown field 'process_name'"),
        (["--exclude", "nonsense"], 2, "expected FIELD=GLOB"),
        (["--exclude-file", "missing.rules"], 2, "cannot read 'missing.rules'"),
        (["--risk", "--format", "csv"], 2, "--risk"),
        (["--excel", "--format", "json"], 2, "--excel"),
        (["--format", "csv", "-o", "no/such/dir/x.csv"], 2, "cannot write 'no/such/dir/x.csv'"),
    ],
)
def test_exit_status(known: Path, scanner: List[str], args: List[str], status: int, message) -> None:
    proc = cli("scan", *scanner, *args, "known.log", cwd=known.parent)
    assert proc.returncode == status, err(proc)
    if message is not None:
        assert out(proc) == ""
        lines = err(proc).splitlines()
        assert len(lines) == 1 and lines[0].startswith("sysmon-hunt: error: "), lines
        assert message in lines[0]


def test_help_shows_examples_and_exit_codes() -> None:
    for args in (["--help"], ["scan", "--help"]):
        proc = cli(*args)
        assert proc.returncode == 0
        text = out(proc)
        assert "examples:" in text and "--exclude-file" in text and "--sample" in text
        assert "0 hits found, 1 no hits, 2 error, 130 interrupted" in text


def test_version() -> None:
    proc = cli("--version")
    assert proc.returncode == 0
    assert re.fullmatch(r"sysmon-hunt \S+\n", out(proc)), out(proc)


# ---------------------------------------------------------------------------
# exclusions
# ---------------------------------------------------------------------------


def test_exclude_glob_and_case(known: Path, scanner: List[str]) -> None:
    proc = cli(
        "scan",
        *scanner,
        "--format",
        "ndjson",
        "--exclude",
        "Image=*\\APPDATA\\roaming\\*\\telegram.EXE",
        "--exclude",
        "Hash=SHA256=AB1?",
        str(known),
    )
    assert proc.returncode == 1, err(proc)  # both hits excluded: no hits
    assert out(proc) == ""
    assert summary_line(proc).endswith(", 0 hits, 2 excluded")
    # A non-ASCII letter keeps its case: "дмитрий" is not "ДМИТРИЙ".
    proc = cli("scan", *scanner, "--format", "ndjson", "--exclude", "Computer=дмитрий-пк", str(known))
    assert len(out(proc).splitlines()) == 2
    assert summary_line(proc).endswith(", 2 hits, 0 excluded")


def test_exclude_file(known: Path, tmp_path: Path, scanner: List[str]) -> None:
    rules = tmp_path / "known-good.rules"
    rules.write_text(
        "\ufeff# known-good downloads\n"
        "Computer=project-* process_id=7000  # both must hold\n"
        "Computer=project-* process_id=1\n"
        'TargetFilename="*\\R&D, plan.xlsx:*" Hash=nomatch\n',
        encoding="utf-8",
    )
    proc = cli("scan", *scanner, "--format", "ndjson", "--exclude-file", str(rules), str(known))
    assert proc.returncode == 0, err(proc)
    assert [json.loads(line)["Computer"] for line in out(proc).splitlines()] == ["ДМИТРИЙ-ПК"]
    assert summary_line(proc).endswith(", 1 hit, 1 excluded")
    expected = sysmon_hunt.scan(known, exclude=sysmon_hunt.exclusions.read_rules(str(rules)))
    assert [json.loads(line) for line in out(proc).splitlines()] == json_rows(expected)


def test_exclude_file_error_names_the_line(known: Path, tmp_path: Path, scanner: List[str]) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text("Computer=x\nImage\n", encoding="utf-8")
    proc = cli("scan", *scanner, "--exclude-file", str(rules), str(known))
    assert proc.returncode == 2
    assert err(proc).startswith(f"sysmon-hunt: error: {rules}:2: ")


# ---------------------------------------------------------------------------
# --by
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["v1", "v3", "Computer,process_name", "dest,Channel,RuleName"])
def test_by(known: Path, scanner: List[str], by: str) -> None:
    proc = cli("scan", *scanner, "--format", "csv", "--by", by, str(known))
    expected = sysmon_hunt.scan(known, by=by)
    assert proc.returncode == (0 if len(expected) else 1), err(proc)
    reader = csv.DictReader(io.StringIO(out(proc), newline=""))
    assert tuple(reader.fieldnames or ()) == expected.columns
    assert list(reader) == rows(expected)
    assert len(expected) >= 1


def test_by_v3_table(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "table", "--by", "v3", str(known))
    header, *lines = out(proc).splitlines()
    assert header.split() == [
        "dest",
        "EventCode",
        "process_name",
        "process_id",
        "TargetFilename",
        "Hash",
        "count",
        "firstTime",
        "lastTime",
    ]
    assert [line.split()[2] for line in lines] == ["Telegram.exe", "TELEGRAM.EXE"]


# ---------------------------------------------------------------------------
# --risk
# ---------------------------------------------------------------------------


def test_risk_events(tmp_path: Path, scanner: List[str]) -> None:
    path = tmp_path / "users.log"
    path.write_text(
        "\n".join(
            [
                event("2021-04-28T20:11:34Z", extra_data="<Data Name='User'>CORP\\Дмитрий</Data>"),
                event("2021-04-28T20:12:34Z", extra_data="<Data Name='User'>CORP\\bob</Data>"),
                event("2021-04-28T20:13:34Z", computer="other", extra_data=""),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    proc = cli("scan", *scanner, "--risk", str(path))
    assert proc.returncode == 0, err(proc)
    events = [json.loads(line) for line in out(proc).splitlines()]
    assert len(events) == 2
    other, mumbai = sorted(events, key=lambda e: e["risk_object"])
    assert mumbai["risk_message"] == (
        "Suspicious files were downloaded with the Telegram application on "
        "project-mumbai-host by CORP\\bob, CORP\\Дмитрий."
    )
    assert other["risk_message"].endswith(" on other by unknown.")
    for e in events:
        assert (e["risk_object_type"], e["risk_score"], e["mitre_technique_id"]) == ("system", 49, "T1105")
        assert e["detection_name"] == "Download Files Using Telegram"
        assert e["detection_id"] == "58194e28-ae5e-11eb-8912-acde48001122"
    assert mumbai["count"] == 2 and mumbai["firstTime"] == "2021-04-28T20:11:34.000000Z"
    assert mumbai["lastTime"] == "2021-04-28T20:12:34.000000Z"
    expected = sysmon_hunt.scan(path, users=True).risk_events()
    assert [e["risk_message"] for e in events] == [e["risk_message"] for e in expected]
    proc = cli("scan", *scanner, "--risk", "--by", "Image", str(path))
    assert proc.returncode == 2 and "host" in err(proc)


# ---------------------------------------------------------------------------
# write errors and closed pipes
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_one_line_exit_2(known: Path, scanner: List[str]) -> None:
    proc = cli("scan", *scanner, "--format", "csv", "-o", "/dev/full", str(known))
    assert proc.returncode == 2
    assert err(proc) == f"sysmon-hunt: error: cannot write '/dev/full': {os.strerror(28)}\n"
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "sysmon_hunt", "scan", *scanner, str(known)],
            env=ENV,
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    assert proc.returncode == 2
    assert err(proc) == f"sysmon-hunt: error: cannot write '<stdout>': {os.strerror(28)}\n"


@pytest.mark.parametrize("args", [["--format", "ndjson"], ["--risk"]])
def test_broken_pipe_is_quiet_and_keeps_the_exit_status(tmp_path: Path, scanner: List[str], args: List[str]) -> None:
    path = tmp_path / "many.log"
    path.write_text(
        "\n".join(event("2021-04-28T20:11:%02d.5Z" % (i % 60), process_id=str(1000 + i)) for i in range(3000)) + "\n",
        encoding="utf-8",
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "sysmon_hunt", "scan", *scanner, *args, str(path)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()  # `| head -1`: the output (~1 MB) does not fit in the pipe
    stderr = child.stderr.read().decode("utf-8")
    child.stderr.close()
    assert child.wait(timeout=300) == 0, stderr  # hits were found, and no traceback
    assert json.loads(first)["count"] == 1
    assert stderr == ""


# ---------------------------------------------------------------------------
# progress bar
# ---------------------------------------------------------------------------

#: Runs the CLI with the progress bar's delay at 0, so that a short scan shows it.
NO_DELAY = "import sys; from sysmon_hunt import cli; cli.PROGRESS_DELAY_S = 0; sys.exit(cli.main(sys.argv[1:]))"


def read_until_closed(master: int) -> bytes:
    """What a pseudo-terminal shows until every slave end is closed; closes `master`."""
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every slave end is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return bytes(shown)


def run_with_pty_stderr(args: List[str]) -> "tuple[int, str, bytes]":
    """Runs the CLI with stderr on a pseudo-terminal (stdout a pipe); returns
    the status, what the terminal showed, and stdout."""
    pty = pytest.importorskip("pty")
    fcntl, termios = pytest.importorskip("fcntl"), pytest.importorskip("termios")
    master, slave = pty.openpty()
    # A new pty is 0x0; a real terminal has a size (and tqdm draws nothing in 0 columns).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", NO_DELAY, *args],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=slave,
            stdin=subprocess.DEVNULL,
        )
    finally:
        os.close(slave)
    shown = read_until_closed(master)
    stdout = child.stdout.read() if child.stdout else b""
    if child.stdout:
        child.stdout.close()
    return child.wait(timeout=300), shown.decode("utf-8", "replace"), stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_progress_bar_on_a_terminal(known: Path, scanner: List[str]) -> None:
    status, shown, stdout = run_with_pty_stderr(["scan", *scanner, "--format", "csv", str(known)])
    assert status == 0, shown
    assert "sysmon-hunt: 1 file:" in shown and "B/s" in shown, shown
    assert re.search("\r(?!\n)", shown)  # redrawn in place (the terminal shows "\n" as "\r\n")
    assert stdout.startswith(b"Computer,")  # results untouched
    assert re.search(r"sysmon-hunt: 1 file, \d+ bytes, 5 events, 1 malformed, 2 hits", shown), shown


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("flag", ["--no-progress", "-q"])
def test_progress_bar_can_be_turned_off(known: Path, flag: str) -> None:
    status, shown, _ = run_with_pty_stderr(["scan", flag, "--format", "csv", str(known)])
    assert status == 0, shown
    assert not re.search("\r(?!\n)", shown) and "sysmon-hunt: 1 file:" not in shown, shown
    if flag == "-q":
        assert shown == ""


def test_no_progress_bar_when_stderr_is_piped(known: Path, scanner: List[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", NO_DELAY, "scan", *scanner, "--format", "csv", str(known)],
        env=ENV,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0
    assert "\r" not in err(proc) and "sysmon-hunt: 1 file:" not in err(proc)
    assert summary_line(proc).endswith(" 2 hits")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal and SIGINT")
def test_ctrl_c_with_the_progress_bar_shown(tmp_path: Path) -> None:
    """Ctrl-C while the bar is drawn: the bar is closed, one line, status 130."""
    import signal

    pty = pytest.importorskip("pty")
    fcntl, termios = pytest.importorskip("fcntl"), pytest.importorskip("termios")
    path = tmp_path / "big.log"
    # ~40 MB: the reference scanner takes seconds over it, long past the signal.
    path.write_text((event("2021-04-28T20:11:34Z") + "\n") * 40000, encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        # A suite run as a background job inherits SIGINT ignored, and Python
        # keeps an ignored SIGINT ignored: give the child Python's handler.
        interruptible = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); " + NO_DELAY
        child = subprocess.Popen(
            [sys.executable, "-c", interruptible, "scan", "--reference", str(path)],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=slave,
            stdin=subprocess.DEVNULL,
        )
    finally:
        os.close(slave)
    shown = bytearray()
    while b"sysmon-hunt: 1 file:" not in shown:  # the bar is up: the scan has started
        chunk = os.read(master, 65536)
        assert chunk, shown
        shown += chunk
    child.send_signal(signal.SIGINT)
    shown += read_until_closed(master)
    assert child.wait(timeout=300) == 130
    assert child.stdout is not None and child.stdout.read() == b""
    child.stdout.close()
    text = shown.decode("utf-8", "replace")
    assert text.rstrip().endswith("sysmon-hunt: interrupted"), text
    assert "Traceback" not in text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_default_format_on_a_terminal_is_the_table(known: Path) -> None:
    pty = pytest.importorskip("pty")
    fcntl, termios = pytest.importorskip("fcntl"), pytest.importorskip("termios")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "sysmon_hunt", "scan", "-q", str(known)],
            env=ENV,
            stdout=slave,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
    finally:
        os.close(slave)
    shown = read_until_closed(master)
    assert child.wait(timeout=300) == 0
    table = cli("scan", "-q", "--format", "table", str(known))
    assert shown.replace(b"\r\n", b"\n") == table.stdout


def test_a_failed_scan_leaves_the_output_file_alone(known: Path, scanner: List[str]) -> None:
    """`-o` is opened before the scan (a bad -o fails at once) but emptied
    only when results are written: an existing file survives a missing
    input, and a file the failed run created is removed."""
    existing = known.with_name("existing.csv")
    existing.write_text("keep me\n")
    created = known.with_name("created.csv")
    for target in (existing, created):
        proc = cli("scan", *scanner, "-o", str(target), str(known), str(known.with_name("missing.log")))
        assert proc.returncode == 2 and "cannot read" in err(proc)
    assert existing.read_text() == "keep me\n"
    assert not created.exists()
    proc = cli("scan", *scanner, "--format", "csv", "-o", str(existing), str(known))
    assert proc.returncode == 0
    assert existing.read_text(encoding="utf-8").startswith("Computer,EventCode")


@pytest.mark.parametrize(
    "value, seconds, micros",
    [
        (datetime(1, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc), "0001-01-02T03:04:05", "0001-01-02T03:04:05.000006Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=timezone.utc), "0999-12-31T23:59:59", "0999-12-31T23:59:59.000000Z"),
        (
            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
            "9999-12-31T23:59:59",
            "9999-12-31T23:59:59.999999Z",
        ),
        # Naive: taken as UTC. Another offset: converted to UTC.
        (datetime(2021, 4, 28, 20, 11, 34, 709744), "2021-04-28T20:11:34", "2021-04-28T20:11:34.709744Z"),
        (
            datetime(2021, 4, 28, 22, 11, 34, 709744, tzinfo=timezone(timedelta(hours=2))),
            "2021-04-28T20:11:34",
            "2021-04-28T20:11:34.709744Z",
        ),
    ],
)
def test_times_are_written_in_utc_with_four_digit_years(value: datetime, seconds: str, micros: str) -> None:
    assert (ctime(value), iso_time(value)) == (seconds, micros)


def test_characters_below_the_narrow_bound_take_one_column_each() -> None:
    for code in range(ord(output._NARROW_BELOW)):
        ch = chr(code)
        assert not unicodedata.combining(ch) and unicodedata.east_asian_width(ch) not in ("W", "F"), hex(code)
    assert output._width("José-LAPTOP") == 11
    assert output._width("e\u0301") == 1 and output._width("漢字") == 4


#: Cell text with what CSV must quote or double, and characters beyond ASCII.
#: No lone surrogates: cells are decoded text (a test below covers them).
CSV_CELLS = st.text(
    alphabet=st.sampled_from(list(",\"\r\n \t#=;\\'aZ09\x00é漢\u2028")) | st.characters(exclude_categories=["Cs"]),
    max_size=12,
)


@given(rows=st.lists(st.lists(CSV_CELLS, min_size=1, max_size=6), max_size=8))
def test_csv_rows_are_what_pythons_csv_writer_writes(rows: List[List[str]]) -> None:
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\r\n").writerows(rows)
    assert _native.csv_records(rows) == expected.getvalue()


def test_a_csv_row_without_fields_or_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        _native.csv_records([["a"], []])
    # As writing it to a UTF-8 file would.
    with pytest.raises(UnicodeEncodeError):
        _native.csv_records([["\ud800"]])
