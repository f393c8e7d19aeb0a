"""Writing a scan's result: the hit formats (table, CSV, JSON, NDJSON, HTML),
risk events, and the summary lines for stderr.

Times are ``%Y-%m-%dT%H:%M:%S`` UTC in the table and CSV (as Splunk's
``security_content_ctime`` prints them) and ISO 8601 with microseconds and
``Z`` in JSON, NDJSON and risk events.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from typing import Any, Dict, List, TextIO

from . import _native
from .results import HitRow, ScanResult

FORMATS = ("table", "csv", "json", "ndjson", "html")
#: How many malformed events the summary names.
SHOWN_MALFORMED = 5
#: Cells Excel would run as formulas start with one of these (OWASP's list).
EXCEL_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _utc(value: datetime) -> datetime:
    # Hits carry aware UTC datetimes; a naive one is taken to be UTC already.
    if value.tzinfo is None or value.tzinfo is timezone.utc:
        return value
    return value.astimezone(timezone.utc)


def ctime(value: datetime) -> str:
    """``%Y-%m-%dT%H:%M:%S`` in UTC, as Splunk's ``security_content_ctime``."""
    v = _utc(value)
    # Not strftime: it does not zero-pad years below 1000 on every platform.
    # (Nor isoformat: with a timezone it costs a third more, measured.)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (v.year, v.month, v.day, v.hour, v.minute, v.second)


def iso_time(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and ``Z``: ``2021-04-28T20:11:34.123456Z``."""
    return "%s.%06dZ" % (ctime(value), _utc(value).microsecond)


def row(hit: HitRow) -> List[str]:
    """A hit's cells as text, times as ``ctime``."""
    *by_values, count, first, last = hit
    first_text = ctime(first)
    # A group of one event has one time (often one object): written once.
    last_text = first_text if last == first else ctime(last)
    return [str(v) for v in by_values] + [str(count), first_text, last_text]


# Control characters would break a table's one-row-per-line layout.
_CONTROL = {c: "\\x%02x" % c for c in list(range(0x20)) + [0x7F]}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def _cell(text: str) -> str:
    return text.translate(_CONTROL)


#: Below this code point no character is combining or East Asian wide
#: (tests/test_cli_outputs.py checks it against `unicodedata`): one column each.
_NARROW_BELOW = "\u0300"


def _width(text: str) -> int:
    """Terminal columns taken by `text` (East Asian wide characters take two)."""
    if text.isascii() or max(text) < _NARROW_BELOW:
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def write_table(result: ScanResult, out: TextIO) -> None:
    """Aligned columns under a header, two spaces apart, nothing cut short; no
    trailing blanks. Nothing at all without hits (the summary says so)."""
    if not len(result):
        return
    columns = result.columns
    rows = [list(columns)] + [[_cell(c) for c in row(h)] for h in result]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(columns))]
    last = len(columns) - 1
    for r in rows:
        parts = [c + " " * (widths[i] - _width(c)) if i < last else c for i, c in enumerate(r)]
        out.write("  ".join(parts) + "\n")


def _excel_safe(cell: str) -> str:
    # A downloaded file can be named "=HYPERLINK(...)": quote it so that
    # Excel shows it as text instead of running it.
    return "'" + cell if cell.startswith(EXCEL_FORMULA_STARTS) else cell


#: Rows handed to the CSV writer at a time: bounds the text held at once.
CSV_BATCH = 4096


def write_csv(result: ScanResult, out: TextIO, excel: bool = False) -> None:
    """RFC 4180 (CRLF line ends, fields quoted where needed), a header row of
    the columns. `excel`: a UTF-8 BOM first so Excel reads the text as
    UTF-8, and cells Excel would run as formulas prefixed with ``'``.

    The rows are what Python's `csv.writer(out, lineterminator="\r\n")`
    writes; the csv crate writes them (`_native.csv_records`), four times
    faster, which counts when a scan has 100k hits."""
    if excel:
        out.write("\ufeff")
    batch: List[List[str]] = [list(result.columns)]
    for hit in result:
        cells = row(hit)
        batch.append([_excel_safe(c) for c in cells] if excel else cells)
        if len(batch) == CSV_BATCH:
            out.write(_native.csv_records(batch))
            batch = []
    if batch:
        out.write(_native.csv_records(batch))


def hit_object(hit: HitRow) -> Dict[str, Any]:
    """A hit as a JSON object: its fields in column order, `count` a number."""
    obj: Dict[str, Any] = hit._asdict()  # type: ignore[attr-defined]
    obj["count"] = int(obj["count"])
    first, last = obj["firstTime"], obj["lastTime"]
    obj["firstTime"] = iso_time(first)
    obj["lastTime"] = obj["firstTime"] if last == first else iso_time(last)
    return obj


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_json(result: ScanResult, out: TextIO) -> None:
    """One JSON array of hit objects, one object per line."""
    objects = [_json(hit_object(h)) for h in result]
    out.write("[\n" + ",\n".join(objects) + "\n]\n" if objects else "[]\n")


def write_ndjson(result: ScanResult, out: TextIO) -> None:
    """One JSON object per hit, one per line."""
    for hit in result:
        out.write(_json(hit_object(hit)) + "\n")


def write_html(result: ScanResult, out: TextIO, **options: Any) -> None:
    """A self-contained HTML report (see `sysmon_hunt.report`); `options` go to its `build_page`."""
    from .report import render_html

    out.write(render_html(result, **options))


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json, "ndjson": write_ndjson, "html": write_html}


def write_risk(result: ScanResult, out: TextIO) -> None:
    """One risk event per hit as NDJSON (see `sysmon_hunt.risk`)."""
    for event in result.risk_events():
        obj = {k: iso_time(v) if isinstance(v, datetime) else v for k, v in event.items()}
        out.write(_json(obj) + "\n")


def _plural(n: int, word: str) -> str:
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def summary(prog: str, result: ScanResult, elapsed: float, rules: bool = False) -> List[str]:
    """The stderr lines after a scan: files, bytes, events, malformed, hits,
    excluded (when there are rules), time and rate; then where the first
    malformed events are."""
    s = result.stats
    parts = [
        _plural(s.files, "file"),
        "%d bytes" % s.bytes,
        _plural(s.events, "event"),
    ]
    if s.json_records:
        parts.append("%d JSON records (%d read as Windows events)" % (s.json_records, s.json_events))
    parts += [
        "%d malformed" % s.malformed,
        _plural(len(result), "hit"),
    ]
    if rules:
        parts.append("%d excluded" % s.excluded)
    rate = s.bytes / elapsed / 1e6 if elapsed > 0 else 0.0
    parts.append("%.2f s (%.1f MB/s)" % (elapsed, rate))
    lines = ["%s: %s" % (prog, ", ".join(parts))]
    shown = s.malformed_examples[:SHOWN_MALFORMED]
    for m in shown:
        lines.append("%s: malformed: %s:%d: %s" % (prog, m.path, m.offset, m.reason))
    if s.malformed > len(shown):
        lines.append("%s: malformed: ... and %d more" % (prog, s.malformed - len(shown)))
    return lines


def default_format(is_terminal: bool) -> str:
    """`table` for a person at a terminal, `csv` for files and pipes."""
    return "table" if is_terminal else "csv"
