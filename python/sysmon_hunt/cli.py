"""The command line: ``sysmon-hunt scan [PATH ...] [--sample] [--format ...]``.

Runs the detection over Sysmon XML logs (here, or on a Dask cluster with
``--dask``) and prints one row per hit, in
Splunk's column order (``results.COLUMNS``), on stdout; a summary goes to
stderr. Exit status: 0 on success (with or without hits), 2 on a usage error,
an unreadable file or a failed scan, 130 when interrupted. A closed stdout
(``sysmon-hunt scan x.log | head -1``) ends the program quietly with 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import stat
import sys
import unicodedata
import zlib
from datetime import datetime, timezone
from typing import Callable, List, Optional, Sequence, TextIO

from . import ScanError, sample_path
from . import scan as native_scan
from .dask import IncompleteScanError, UnitFailure
from .dask import connect as dask_connect
from .dask import scan as dask_scan
from .results import COLUMNS, Hit, ScanResult

PROG = "sysmon-hunt"
FORMATS = ("table", "csv", "ndjson")
#: How many malformed events the summary names.
SHOWN_MALFORMED = 5


class CliError(Exception):
    """An error reported as one line on stderr, with exit status 2."""


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    # Hits carry aware UTC datetimes; a naive one is taken to be UTC already.
    return value.astimezone(timezone.utc) if value.tzinfo is not None else value


def ctime(value: datetime) -> str:
    """``%Y-%m-%dT%H:%M:%S`` in UTC, as Splunk's ``security_content_ctime``."""
    v = _utc(value)
    # Not strftime: it does not zero-pad years below 1000 on every platform.
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (v.year, v.month, v.day, v.hour, v.minute, v.second)


def iso_time(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and ``Z``: ``2021-04-28T20:11:34.123456Z``."""
    return "%s.%06dZ" % (ctime(value), _utc(value).microsecond)


def row(hit: Hit) -> List[str]:
    """A hit's cells as text, times as ``ctime``."""
    cells = [str(v) for v in hit[: len(COLUMNS) - 2]]
    return cells + [ctime(hit.firstTime), ctime(hit.lastTime)]


# Control characters would break a table's one-row-per-line layout.
_CONTROL = {c: "\\x%02x" % c for c in list(range(0x20)) + [0x7F]}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def _cell(text: str) -> str:
    return text.translate(_CONTROL)


def _width(text: str) -> int:
    """Terminal columns taken by `text` (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def write_table(hits: Sequence[Hit], out: TextIO) -> None:
    """Aligned columns under a header, two spaces apart; no trailing blanks."""
    rows = [list(COLUMNS)] + [[_cell(c) for c in row(h)] for h in hits]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(COLUMNS))]
    last = len(COLUMNS) - 1
    for r in rows:
        parts = [c + " " * (widths[i] - _width(c)) if i < last else c for i, c in enumerate(r)]
        out.write("  ".join(parts) + "\n")


def write_csv(hits: Sequence[Hit], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for hit in hits:
        writer.writerow(row(hit))


def write_ndjson(hits: Sequence[Hit], out: TextIO) -> None:
    for hit in hits:
        obj = dict(zip(COLUMNS, hit))
        obj["count"] = int(hit.count)
        obj["firstTime"] = iso_time(hit.firstTime)
        obj["lastTime"] = iso_time(hit.lastTime)
        out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


WRITERS = {"table": write_table, "csv": write_csv, "ndjson": write_ndjson}


def _plural(n: int, word: str) -> str:
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def summary(result: ScanResult) -> List[str]:
    """The stderr lines after the results."""
    s = result.stats
    lines = [
        "%s: %s, %d bytes, %s, %d malformed, %s"
        % (PROG, _plural(s.files, "file"), s.bytes, _plural(s.events, "event"), s.malformed,
           _plural(len(result), "hit"))
    ]
    shown = s.malformed_examples[:SHOWN_MALFORMED]
    for m in shown:
        lines.append("%s: malformed: %s:%d: %s" % (PROG, m.path, m.offset, m.reason))
    if s.malformed > len(shown):
        lines.append("%s: malformed: ... and %d more" % (PROG, s.malformed - len(shown)))
    return lines


def input_problems(result: ScanResult) -> List[str]:
    """Warnings for inputs not (wholly) scanned: printed even with -q, and
    they make the exit status 2, as an unreadable file does for grep -r."""
    lines = []
    for entry in getattr(result.stats, "inputs", ()):
        if entry.skipped is not None:
            lines.append("%s: skipped: %s: %s" % (PROG, entry.path, entry.skipped))
        if entry.damage is not None:
            lines.append("%s: damaged: %s: %s at decompressed offset %d; what came before it was scanned"
                         % (PROG, entry.path, entry.damage, entry.damaged_at))
    return lines


# --------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError("expected a number >= 0, got %r" % text)
    return value


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("sysmon-hunt")
    except Exception:  # not installed (running from a checkout)
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its namespaces carry the ``scan`` sub-parser as ``scan_parser``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Splunk's 'Download Files Using Telegram' detection (T1105) "
        "over raw Windows Sysmon XML logs.",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + _version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    scan = commands.add_parser(
        "scan",
        help="run the detection over log files",
        description="Run the detection over Sysmon logs (XML in UTF-8 or UTF-16, plain, "
        "gzip or zstd, and binary EVTX; files, directories, or - for stdin) and print "
        "one row per hit: "
        + " ".join(COLUMNS)
        + ". Times are UTC. A summary goes to stderr.",
    )
    scan.add_argument("paths", nargs="*", metavar="PATH",
                      help="log files or directories to scan; - reads standard input")
    scan.add_argument("--sample", action="store_true",
                      help="also scan the sample log bundled with the package")
    scan.add_argument("--format", choices=FORMATS, default="table",
                      help="output format (default: table)")
    scan.add_argument("--threads", type=_threads, default=0, metavar="N",
                      help="worker threads (default 0: one per CPU)")
    scan.add_argument("--reference", action="store_true",
                      help="use the slow pure-Python reference implementation (for checking)")
    scan.add_argument("--dask", metavar="ADDRESS",
                      help="scan on a Dask cluster: a scheduler address (tcp://host:8786), or local:N "
                      "to start N worker processes here; workers read the PATHs themselves "
                      "(needs pip install 'sysmon-hunt[dask]')")
    scan.add_argument("-q", "--quiet", action="store_true",
                      help="print no summary on stderr")
    parser.set_defaults(scan_parser=scan)
    return parser


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------


def check_readable(path: str) -> None:
    """Raise CliError unless `path` is a readable regular file, a directory or - (stdin)."""
    if path == "-":
        return
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            os.listdir(path)
            return
        if not stat.S_ISREG(st.st_mode):
            raise CliError("cannot read '%s': not a regular file" % path)
        with open(path, "rb"):
            pass
    except OSError as error:
        raise CliError("cannot read '%s': %s" % (path, error.strerror or error)) from None


def _scanner(reference: bool) -> Callable[..., ScanResult]:
    if reference:
        from .reference import scan

        return scan
    return native_scan


#: Exceptions from a scan that are reported as one line, exit 2 (the
#: reference raises the standard library's gzip errors, and ValueError for
#: an EVTX file).
SCAN_ERRORS = (OSError, EOFError, zlib.error, ValueError, ScanError)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return "cannot read '%s': %s" % (os.fsdecode(error.filename), error.strerror)
    text = str(error)
    return text if text else type(error).__name__


def _silence_stdout() -> None:
    """After EPIPE: point stdout at devnull so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _stdout(fmt: str) -> TextIO:
    """stdout, set up for `fmt`: csv and ndjson are always UTF-8; a table is
    written in the terminal's encoding, with what it cannot show escaped."""
    out = sys.stdout
    reconfigure = getattr(out, "reconfigure", None)  # absent on replaced streams
    if reconfigure is not None:
        try:
            if fmt == "table":
                reconfigure(errors="backslashreplace")
            else:
                reconfigure(encoding="utf-8")
        except Exception:
            pass
    return out


def _scan_on_cluster(address: str, paths: List[str]) -> ScanResult:
    """`sysmon_hunt.dask.scan()` on the cluster at `address`; failed units
    come back inside `IncompleteScanError` with the others' result."""
    try:
        with dask_connect(address) as client:
            return dask_scan(paths, client=client)
    except (ImportError, ValueError) as error:
        raise CliError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    paths = [str(p) for p in args.paths]
    if args.sample:
        paths.append(str(sample_path()))
    if args.dask is not None and args.reference:
        raise CliError("--dask and --reference cannot be combined")
    if args.dask is None:
        # On a cluster the workers open the files; they may not be here.
        for path in paths:
            check_readable(path)
    scan = _scanner(args.reference)
    failed_units: Sequence[UnitFailure] = ()
    try:
        if args.dask is not None:
            result = _scan_on_cluster(args.dask, paths)
        else:
            result = scan(paths, threads=args.threads)
    except IncompleteScanError as incomplete:
        # Print what the other units found, then which units failed.
        result, failed_units = incomplete.result, incomplete.failures
    except SCAN_ERRORS as error:
        raise CliError(_describe(error)) from None

    out = _stdout(args.format)
    try:
        if len(result) or args.format == "csv":
            WRITERS[args.format](result, out)
        out.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 0
    if not args.quiet:
        lines = summary(result)
        if not len(result) and args.format == "table":
            lines.insert(0, "%s: no hits" % PROG)
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    problems = input_problems(result)
    if problems:
        sys.stderr.write("\n".join(problems) + "\n")
        sys.stderr.flush()
    if failed_units:
        sys.stderr.write("".join("%s: failed: %s\n" % (PROG, unit) for unit in failed_units))
    if problems or failed_units:
        return 2
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``sysmon-hunt`` and ``python -m sysmon_hunt``; returns the exit status."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help, --version, usage errors
            code = exit_.code
            return code if isinstance(code, int) else (0 if code is None else 2)
        if not args.paths and not args.sample:
            args.scan_parser.print_usage(sys.stderr)
            sys.stderr.write("%s scan: error: no PATH given (add --sample to scan the bundled "
                             "sample)\n" % PROG)
            return 2
        return run(args)
    except CliError as error:
        sys.stderr.write("%s: error: %s\n" % (PROG, error))
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return 130
