"""The command line: ``sysmon-hunt scan [PATH ...] [--sample] [options]``.

Runs the detection over Sysmon XML logs (here, or on a Dask cluster with
``--dask``) and writes one row per hit (or one risk event per hit with
``--risk``) on stdout or into ``-o FILE``; a progress bar (on a terminal)
and a summary go to stderr. Exit status, as grep's: 0 hits found, 1 no hits,
2 an error (one line on stderr) or units of a cluster scan that failed, 130
interrupted. A closed stdout (``sysmon-hunt scan x.log | head -1``) ends the
program quietly. Formatting lives in ``output.py``; this module is about
arguments and flow.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
import zlib
from contextlib import ExitStack
from typing import Any, Callable, List, Optional, Sequence, TextIO, Tuple

from . import ScanError, exclusions, output, sample_path
from . import scan as native_scan
from .results import ScanResult

PROG = "sysmon-hunt"
#: Exit statuses (grep's convention).
EXIT_HITS, EXIT_NO_HITS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Scans shorter than this show no progress bar.
PROGRESS_DELAY_S = 2.0

EXAMPLES = """\
examples:
  sysmon-hunt scan windows-sysmon.log exports/*.xml.gz       table on a terminal
  sysmon-hunt scan --format csv -o hits.csv --excel logs/*.log
  sysmon-hunt scan --by v3 --format ndjson logs/*.log | jq .
  sysmon-hunt scan --exclude 'TargetFilename=*\\Downloads\\Telegram Desktop\\*.pdf:*' x.log
  sysmon-hunt scan --exclude-file known-good.rules --risk x.log > risk.ndjson
  sysmon-hunt scan --format html -o report.html logs/         a page for a person
  sysmon-hunt scan --sample                                  the bundled sample log

exit status: 0 hits found, 1 no hits, 2 error, 130 interrupted
"""


class CliError(Exception):
    """An error reported as one line on stderr, with exit status 2."""


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
    # The native module's (Cargo.toml's) version: right even in a checkout
    # whose installed metadata is stale or missing.
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its namespaces carry the ``scan`` sub-parser as ``scan_parser``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Splunk's 'Download Files Using Telegram' detection (T1105) over raw Windows Sysmon XML logs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + _version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    scan = commands.add_parser(
        "scan",
        help="run the detection over log files",
        description="Run the detection over Sysmon logs (XML in UTF-8 or UTF-16, plain,\n"
        "gzip or zstd, and binary EVTX; files, directories, or - for stdin) and write\n"
        "one row per hit: the by-fields, then count firstTime lastTime. Times are UTC.\n"
        "A summary goes to stderr.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument(
        "paths", nargs="*", metavar="PATH", help="log files or directories to scan; - reads standard input"
    )
    scan.add_argument("--sample", action="store_true", help="also scan the sample log bundled with the package")
    out = scan.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=output.FORMATS,
        default=None,
        help="table (the default on a terminal), csv (the default otherwise; "
        "RFC 4180), json (one array), ndjson (one object per line) or html (a "
        "self-contained report page with a timeline per host; needs "
        "pip install 'sysmon-hunt[html]')",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    out.add_argument(
        "--excel",
        action="store_true",
        help="csv for Excel: a UTF-8 BOM, and cells that Excel would run as formulas prefixed with '",
    )
    out.add_argument(
        "--risk",
        action="store_true",
        help="write one NDJSON risk event (Splunk RBA) per hit instead of the hits "
        "(with --format html: the report, with the users)",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no summary and no progress bar on stderr")
    out.add_argument("--no-progress", action="store_true", help="no progress bar (it only ever shows on a terminal)")
    det = scan.add_argument_group("detection")
    det.add_argument(
        "--by",
        default="v1",
        metavar="v1|v3|FIELD,...",
        help="by-fields: v1 (default: Computer EventCode Image process_id "
        "TargetFilename Hash), v3 (dest EventCode process_name process_id "
        "TargetFilename Hash), or a comma-separated list of System element "
        "or EventData names",
    )
    det.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FIELD=GLOB",
        help="drop hits whose FIELD matches GLOB (* and ?, ASCII case-insensitive); repeatable",
    )
    det.add_argument(
        "--exclude-file",
        action="append",
        default=[],
        metavar="FILE",
        help="exclusion rules, one per line: FIELD=GLOB conditions separated by "
        'spaces that must all hold, FIELD="GLOB" for spaces, # comments; repeatable',
    )
    run_ = scan.add_argument_group("running")
    run_.add_argument(
        "--threads", type=_threads, default=0, metavar="N", help="worker threads (default 0: one per CPU)"
    )
    run_.add_argument(
        "--reference", action="store_true", help="use the slow pure-Python reference implementation (for checking)"
    )
    run_.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="scan on a Dask cluster: a scheduler address (tcp://host:8786), or local:N "
        "to start N worker processes here; workers read the PATHs themselves "
        "(needs pip install 'sysmon-hunt[dask]')",
    )
    parser.set_defaults(scan_parser=scan)
    return parser


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------


def _scanner(reference: bool) -> Callable[..., ScanResult]:
    if reference:
        from .reference import scan

        return scan
    return native_scan


#: Exceptions from a scan that are reported as one line, exit 2 (the
#: reference raises the standard library's gzip errors, and ValueError for
#: an EVTX file; both raise ValueError for a bad by-field or rule).
SCAN_ERRORS = (OSError, EOFError, zlib.error, ValueError, ScanError)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return "cannot read '%s': %s" % (os.fsdecode(error.filename), error.strerror)
    text = str(error)
    return text if text else type(error).__name__


def _silence_stdout() -> None:
    """After a failed write: point stdout at devnull so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _stdout(fmt: str) -> TextIO:
    """stdout, set up for `fmt`: machine formats are always UTF-8 (with the
    line ends written as they are); a table is written in the terminal's
    encoding, with what it cannot show escaped."""
    out = sys.stdout
    if out is None:  # started with stdout closed (`>&-`)
        raise CliError("cannot write '<stdout>': standard output is closed")
    reconfigure = getattr(out, "reconfigure", None)  # absent on replaced streams
    if reconfigure is not None:
        try:
            if fmt == "table":
                reconfigure(errors="backslashreplace")
            else:
                reconfigure(encoding="utf-8", newline="")
        except Exception:
            pass
    return out


def _rules(args: argparse.Namespace) -> List[exclusions.Rule]:
    try:
        rules = [
            exclusions.Rule((exclusions.parse_condition(text, "--exclude"),), "--exclude " + text)
            for text in args.exclude
        ]
    except ValueError as error:
        raise CliError(str(error)) from None
    for path in args.exclude_file:
        try:
            rules += exclusions.read_rules(path)
        except OSError as error:
            raise CliError("cannot read '%s': %s" % (path, error.strerror or error)) from None
        except UnicodeDecodeError as error:
            raise CliError("cannot read '%s': not UTF-8 text (%s)" % (path, error.reason)) from None
        except ValueError as error:  # a line that is not a rule; the message names it
            raise CliError(str(error)) from None
    return rules


def _require_html() -> None:
    """Fail before scanning when the report's template engine is missing."""
    from .report import require_jinja

    try:
        require_jinja()
    except ImportError as error:
        raise CliError(str(error)) from None


def _format(args: argparse.Namespace) -> str:
    if args.format == "html":
        _require_html()
        if args.excel:
            raise CliError("--excel applies to --format csv only")
        return "html"
    if args.risk:
        if args.format not in (None, "ndjson"):
            raise CliError("--risk writes NDJSON risk events; it cannot be combined with --format %s" % args.format)
        return "ndjson"
    on_terminal = args.output is None and sys.stdout is not None and sys.stdout.isatty()
    fmt = args.format or output.default_format(on_terminal)
    if args.excel and fmt != "csv":
        raise CliError("--excel applies to --format csv only")
    return fmt


class _ProgressBar:
    """A tqdm bar on stderr fed by the scan's progress callback; shown only
    for scans that last over PROGRESS_DELAY_S."""

    def __init__(self, files: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            leave=False,
            delay=PROGRESS_DELAY_S,
            file=sys.stderr,
            dynamic_ncols=True,
            desc="%s: %d file%s" % (PROG, files, "" if files == 1 else "s"),
        )

    def __call__(self, done: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _open_output(args: argparse.Namespace, fmt: str, stack: ExitStack) -> TextIO:
    """Where the results go, opened before scanning so a bad -o fails at once,
    but not truncated until the results are written (`_start_output`): a scan
    that fails (a missing input) leaves an existing file as it was, and
    removes a file it created. A file left open by an error is closed quietly
    (what it failed to write has been reported already)."""
    if args.output is None:
        return _stdout(fmt)
    existed = os.path.lexists(args.output)
    try:
        handle = open(args.output, "a", encoding="utf-8", newline="")
    except OSError as error:
        raise CliError("cannot write '%s': %s" % (args.output, error.strerror or error)) from None

    def close_quietly() -> None:
        try:
            handle.close()
        except OSError:
            pass

    stack.callback(close_quietly)
    if not existed:
        stack.push(lambda kind, *_: kind is not None and _remove_quietly(args.output))
    return handle


def _remove_quietly(path: str) -> bool:
    """Removes `path` (an output this run created and could not fill); never
    suppresses the error that led here."""
    try:
        os.unlink(path)
    except OSError:
        pass
    return False


def _start_output(out: TextIO) -> None:
    """Empties a regular output file, opened for appending, before the
    results are written to it (devices and pipes cannot be truncated)."""
    if out.seekable() and stat.S_ISREG(os.fstat(out.fileno()).st_mode):
        out.truncate(0)


def _scan_on_cluster(address: str, paths: List[str], **options: Any) -> Tuple[ScanResult, Sequence[str]]:
    """`sysmon_hunt.dask.scan()` on the cluster at `address`: its result, and
    the units that failed (the others' result is still written)."""
    from . import dask  # only a cluster scan needs it

    try:
        with dask.connect(address) as client:
            return dask.scan(paths, client=client, **options), ()
    except dask.IncompleteScanError as incomplete:
        return incomplete.result, [str(unit) for unit in incomplete.failures]
    except (ImportError, ValueError) as error:
        raise CliError(str(error)) from None


def input_problems(result: ScanResult) -> List[str]:
    """Warnings for inputs not (wholly) scanned: printed even with -q, and
    they make the exit status 2, as an unreadable file does for grep -r."""
    lines = []
    for entry in getattr(result.stats, "inputs", ()):
        if entry.skipped is not None:
            lines.append("%s: skipped: %s: %s" % (PROG, entry.path, entry.skipped))
        if entry.damage is not None:
            lines.append(
                "%s: damaged: %s: %s at decompressed offset %d; what came before it was scanned"
                % (PROG, entry.path, entry.damage, entry.damaged_at)
            )
    return lines


def run(args: argparse.Namespace) -> int:
    paths = [str(p) for p in args.paths]
    if args.sample:
        paths.append(str(sample_path()))
    if args.dask is not None and args.reference:
        raise CliError("--dask and --reference cannot be combined")
    fmt = _format(args)
    rules = _rules(args)
    show_progress = args.dask is None and not (args.quiet or args.no_progress) and sys.stderr.isatty()
    failed_units: Sequence[str] = ()
    with ExitStack() as stack:
        out = _open_output(args, fmt, stack)
        bar = _ProgressBar(len(paths)) if show_progress else None
        started = time.monotonic()
        try:
            if args.dask is not None:
                result, failed_units = _scan_on_cluster(args.dask, paths, by=args.by, exclude=rules, users=args.risk)
            else:
                result = _scanner(args.reference)(
                    paths, threads=args.threads, by=args.by, exclude=rules, users=args.risk, progress=bar
                )
        except SCAN_ERRORS as error:
            raise CliError(_describe(error)) from None
        finally:
            if bar is not None:
                bar.close()
        elapsed = time.monotonic() - started
        status = EXIT_HITS if len(result) else EXIT_NO_HITS
        if failed_units:
            status = EXIT_ERROR
        target = args.output or "<stdout>"
        try:
            if args.output is not None:
                _start_output(out)
            if fmt == "html":
                output.write_html(result, out, rules=len(rules), failures=list(failed_units))
            elif args.risk:
                output.write_risk(result, out)
            elif fmt == "csv":
                output.write_csv(result, out, excel=args.excel)
            else:
                output.WRITERS[fmt](result, out)
            out.flush()
            if args.output is not None:
                out.close()
        except BrokenPipeError:
            _silence_stdout()
            return status
        except ValueError as error:  # risk events without a host field
            raise CliError(str(error)) from None
        except OSError as error:
            if args.output is None:
                _silence_stdout()
            raise CliError("cannot write '%s': %s" % (target, error.strerror or error)) from None
    if not args.quiet:
        lines = output.summary(PROG, result, elapsed, rules=bool(rules))
        if not len(result) and fmt == "table":
            lines.insert(0, "%s: no hits" % PROG)
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    problems = input_problems(result)
    if problems:
        sys.stderr.write("\n".join(problems) + "\n")
        sys.stderr.flush()
    if failed_units:
        sys.stderr.write("".join("%s: failed: %s\n" % (PROG, unit) for unit in failed_units))
    if problems:
        status = EXIT_ERROR
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``sysmon-hunt`` and ``python -m sysmon_hunt``; returns the exit status."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help, --version, usage errors
            code = exit_.code
            return code if isinstance(code, int) else (0 if code is None else EXIT_ERROR)
        if not args.paths and not args.sample:
            args.scan_parser.print_usage(sys.stderr)
            sys.stderr.write("%s scan: error: no PATH given (add --sample to scan the bundled sample)\n" % PROG)
            return EXIT_ERROR
        return run(args)
    except CliError as error:
        sys.stderr.write("%s: error: %s\n" % (PROG, error))
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return EXIT_INTERRUPTED
