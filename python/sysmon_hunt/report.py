"""The HTML report: one self-contained page that answers the hunt at a glance.

This module builds the page *model* from a `ScanResult` (pure data: hosts and
their hits, the time span, the timeline's geometry, the table's rows and the
caps that keep a page of 100k hits quick to open) and renders it through a
Jinja2 template shipped with the package (``templates/report.html.j2``).

Every value in a result comes from the logs, so an attacker may have chosen
it (a ``TargetFilename`` of ``<script>...``). The page is safe by
construction: values only ever reach the HTML through Jinja2's autoescaping,
the only markup not escaped is the package's own stylesheet and script, and
a Content-Security-Policy allows exactly those two (by their SHA-256) and no
network load of any kind.

Jinja2 is an optional dependency: ``pip install 'sysmon-hunt[html]'``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import detection
from .output import ctime, iso_time
from .results import STATS_COLUMNS, ScanResult

#: Lanes drawn in the timeline; the quieter hosts past it are counted in a note.
MAX_LANES = 40
#: Rows in the hits table; past it the table says how many were left out.
MAX_ROWS = 5000
#: Inputs listed in the summary (a directory may hold thousands of files).
MAX_INPUTS = 200
#: Characters of one table cell; a longer value says how many were left out.
#: (An event may be up to 1 MiB, so one value could be nearly that long.)
MAX_CELL_CHARS = 600
#: Columns holding a longer value may break it anywhere (paths, hashes); the
#: others break only between words, so that short values stay whole.
LONG_VALUE = 40
#: Characters of a host name in a lane's label (the full name is its tooltip).
MAX_LABEL_CHARS = 26

#: Timeline geometry, in SVG user units (the SVG scales to the page width).
SVG_WIDTH = 1000
PLOT_LEFT = 240
PLOT_RIGHT = 975
AXIS_HEIGHT = 34
LANE_HEIGHT = 30
#: Where a lane's marks sit below its top (its count labels go above them).
MARK_Y = 18
#: Hits whose first time falls within this many units are drawn as one mark.
MARK_BIN = 4.0
#: Half the width of a tick's label (``03-11 08:00``).
TICK_LABEL_HALF = 32
#: A count label is drawn only this far from the previous one (more for
#: wide numbers: LABEL_DIGIT units a digit), so that labels never overlap.
LABEL_GAP = 22.0
LABEL_DIGIT = 6.5

HTML_EXTRA_HINT = "pip install 'sysmon-hunt[html]'"

_TEMPLATES = "templates"
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Axis steps, in seconds: the smallest giving at most `_MAX_TICKS` ticks is used.
_TICK_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
    91 * 86400,
    182 * 86400,
    365 * 86400,
)
_MAX_TICKS = 8


# --------------------------------------------------------------------------
# the page model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One mark on a lane: the hits whose first time falls in one bin.

    `x` is where the first of them starts, `x_end` where the last of them
    ends (``lastTime``); `downloads` sums their `count`.
    """

    x: float
    x_end: float
    first: datetime
    last: datetime
    hits: int
    downloads: int
    #: Whether the count is written above the mark: when it is over one and
    #: the label would not overlap the previous one.
    labelled: bool

    @property
    def radius(self) -> float:
        # Grows with the downloads, slowly, so that a busy mark stays a mark.
        return min(3.0 + 1.2 * math.log2(self.downloads), 6.5) if self.downloads > 0 else 3.0

    @property
    def title(self) -> str:
        span = ctime(self.first) if self.first == self.last else "%s to %s" % (ctime(self.first), ctime(self.last))
        return "%s, %s: %s UTC" % (_plural(self.downloads, "download"), _plural(self.hits, "hit"), span)


@dataclass(frozen=True)
class Lane:
    """One host's row in the timeline."""

    host: str
    hits: int
    downloads: int
    first: datetime
    last: datetime
    #: Distinct users of the host's hits, when the scan collected them.
    users: Optional[Tuple[str, ...]]
    marks: Tuple[Mark, ...] = ()
    #: The lane's span line, from its first `firstTime` to its last `lastTime`.
    x: float = 0.0
    x_end: float = 0.0

    @property
    def label(self) -> str:
        return _shorten(self.host, MAX_LABEL_CHARS)

    @property
    def host_text(self) -> str:
        """The host for its tooltip and the table filter, as long as a table cell may be."""
        return _shorten(self.host, MAX_CELL_CHARS)

    @property
    def users_text(self) -> Optional[str]:
        """Its users for the tooltip (bounded as a cell is); None when not collected."""
        if self.users is None:
            return None
        return _shorten(", ".join(self.users), MAX_CELL_CHARS) if self.users else "unknown"


@dataclass(frozen=True)
class Tick:
    x: float
    label: str

    @property
    def shows_label(self) -> bool:
        """Whether its label fits: not over the hits column, not past the right edge."""
        return PLOT_LEFT + TICK_LABEL_HALF <= self.x <= SVG_WIDTH - TICK_LABEL_HALF


@dataclass(frozen=True)
class Timeline:
    #: The by-field holding the host, or None when the hits are not grouped by one.
    host_field: Optional[str]
    start: datetime
    end: datetime
    lanes: Tuple[Lane, ...]
    ticks: Tuple[Tick, ...]
    #: Hosts (and their hits and downloads) past `MAX_LANES`, not drawn.
    hidden_hosts: int
    hidden_hits: int
    hidden_downloads: int
    hosts: int

    @property
    def height(self) -> int:
        return AXIS_HEIGHT + LANE_HEIGHT * len(self.lanes) + 6


@dataclass(frozen=True)
class Cell:
    text: str
    #: Characters left out of `text` (see MAX_CELL_CHARS); 0 when whole.
    cut: int = 0


@dataclass(frozen=True)
class Table:
    columns: Tuple[str, ...]
    #: Columns sorted as numbers by the page's script.
    numeric: Tuple[bool, ...]
    rows: Tuple[Tuple[Cell, ...], ...]
    #: Hits in the result; `rows` holds the first `MAX_ROWS` of them.
    total: int

    @property
    def capped(self) -> bool:
        return len(self.rows) < self.total

    @property
    def classes(self) -> Tuple[str, ...]:
        """Each column's class on the page: ``num`` (sorted as a number),
        ``time``, ``long`` (values that may break anywhere: paths, hashes) or none."""
        classes = []
        for index, (column, numeric) in enumerate(zip(self.columns, self.numeric)):
            if numeric:
                classes.append("num")
            elif column in STATS_COLUMNS:
                classes.append("time")
            elif any(len(row[index].text) > LONG_VALUE for row in self.rows):
                classes.append("long")
            else:
                classes.append("")
        return tuple(classes)


@dataclass(frozen=True)
class InputRow:
    path: str
    format: Optional[str]
    bytes: int
    #: Why it was not (wholly) scanned: skipped, or damaged at an offset.
    problem: Optional[str]


@dataclass(frozen=True)
class Figure:
    """One headline number, with the id the page and its tests find it by."""

    id: str
    label: str
    value: int


@dataclass(frozen=True)
class Summary:
    figures: Tuple[Figure, ...]
    inputs: Tuple[InputRow, ...]
    #: Inputs past `MAX_INPUTS`, not listed.
    hidden_inputs: int
    formats: Tuple[Tuple[str, int], ...]
    #: ``path:offset: reason`` of the malformed events the scan located.
    malformed: Tuple[str, ...]
    #: Malformed events counted but not located (the scan keeps the first ten).
    malformed_unlisted: int
    start: Optional[datetime]
    end: Optional[datetime]
    problems: Tuple[str, ...]
    #: Hits removed by exclusion rules.
    excluded: int


@dataclass(frozen=True)
class DetectionInfo:
    name: str
    id: str
    technique: str
    risk_score: int
    risk_message: str
    by_version: str
    by_fields: Tuple[str, ...]
    rules: Optional[int]


@dataclass(frozen=True)
class Page:
    title: str
    headline: str
    generated: datetime
    version: str
    summary: Summary
    detection: DetectionInfo
    timeline: Optional[Timeline]
    table: Table

    @property
    def notes(self) -> Tuple[str, ...]:
        """What the page leaves out, said at the top as well as where it happens."""
        notes = []
        if self.timeline is not None and self.timeline.hidden_hosts:
            notes.append(hidden_lanes_note(self.timeline))
        if self.table.capped:
            notes.append(capped_table_note(self.table))
        return tuple(notes)


# --------------------------------------------------------------------------
# building it
# --------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return "{:,} {}{}".format(n, word, "" if n == 1 else "s")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def time_span(result: ScanResult) -> Optional[Tuple[datetime, datetime]]:
    """The earliest `firstTime` and the latest `lastTime` of the hits; None without hits."""
    if not len(result):
        return None
    return min(h.firstTime for h in result), max(h.lastTime for h in result)


def group_by_host(result: ScanResult) -> List[Tuple[str, List[int]]]:
    """The hits' indexes per host, busiest host (most hits) first, then by
    name. Without a host by-field every hit is in one group named ``""``."""
    field = detection.host_field(result.by_fields)
    groups: Dict[str, List[int]] = {}
    for index, hit in enumerate(result):
        host = getattr(hit, field) if field is not None else ""
        groups.setdefault(host, []).append(index)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


class _Scale:
    """Times to x positions on the plot; a zero span puts everything in the middle."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.seconds = (end - start).total_seconds()

    def x(self, t: datetime) -> float:
        if self.seconds <= 0:
            return (PLOT_LEFT + PLOT_RIGHT) / 2
        return PLOT_LEFT + (t - self.start).total_seconds() / self.seconds * (PLOT_RIGHT - PLOT_LEFT)


def _tick_label(t: datetime, step: float) -> str:
    if step >= 86400:
        return "%04d-%02d-%02d" % (t.year, t.month, t.day)
    if step >= 60:
        return "%02d-%02d %02d:%02d" % (t.month, t.day, t.hour, t.minute)
    return "%02d:%02d:%02d" % (t.hour, t.minute, t.second)


def ticks(start: datetime, end: datetime) -> Tuple[Tick, ...]:
    """Axis ticks at round times (multiples of a step since 1970) between
    `start` and `end`, at most `_MAX_TICKS` of them; one at `start` when the
    span is empty."""
    scale = _Scale(start, end)
    span = scale.seconds
    if span <= 0:
        return (Tick(scale.x(start), ctime(start).replace("T", " ")),)
    step: float = next((s for s in _TICK_STEPS if span / s <= _MAX_TICKS), 0)
    if not step:  # centuries of logs: whole multiples of a year
        step = math.ceil(span / _MAX_TICKS / (365 * 86400)) * 365 * 86400
    offset = (start - _UNIX_EPOCH).total_seconds()
    first = math.ceil(offset / step) * step - offset  # seconds after start
    out = []
    n = 0
    while first + n * step <= span:
        t = start + timedelta(seconds=first + n * step)
        out.append(Tick(scale.x(t), _tick_label(t, step)))
        n += 1
    return tuple(out)


def _marks(result: ScanResult, indexes: Sequence[int], scale: _Scale) -> Tuple[Mark, ...]:
    bins: Dict[int, List[Any]] = {}
    for index in indexes:
        hit = result[index]
        x = scale.x(hit.firstTime)
        key = int((x - PLOT_LEFT) // MARK_BIN)
        entry = bins.get(key)
        if entry is None:
            bins[key] = [hit.firstTime, hit.lastTime, 1, hit.count]
        else:
            entry[0] = min(entry[0], hit.firstTime)
            entry[1] = max(entry[1], hit.lastTime)
            entry[2] += 1
            entry[3] += hit.count
    marks = []
    last_label, last_half = -math.inf, 0.0
    for key in sorted(bins):
        first, last, hits, downloads = bins[key]
        x = scale.x(first)
        half = LABEL_DIGIT * len(str(downloads)) / 2
        labelled = downloads > 1 and x - last_label >= max(LABEL_GAP, last_half + half + 3)
        if labelled:
            last_label, last_half = x, half
        marks.append(Mark(x, scale.x(last), first, last, hits, downloads, labelled))
    return tuple(marks)


def _lane_users(result: ScanResult, indexes: Sequence[int]) -> Optional[Tuple[str, ...]]:
    if result.users is None:
        return None
    return tuple(sorted({user for i in indexes for user in result.users[i]}))


def build_timeline(result: ScanResult, max_lanes: int = MAX_LANES) -> Optional[Timeline]:
    """One lane per host, busiest first, at most `max_lanes`; None without hits."""
    span = time_span(result)
    if span is None:
        return None
    scale = _Scale(*span)
    groups = group_by_host(result)
    lanes = []
    for host, indexes in groups[:max_lanes]:
        first = min(result[i].firstTime for i in indexes)
        last = max(result[i].lastTime for i in indexes)
        lanes.append(
            Lane(
                host=host,
                hits=len(indexes),
                downloads=sum(result[i].count for i in indexes),
                first=first,
                last=last,
                users=_lane_users(result, indexes),
                marks=_marks(result, indexes, scale),
                x=scale.x(first),
                x_end=scale.x(last),
            )
        )
    hidden = groups[max_lanes:]
    return Timeline(
        host_field=detection.host_field(result.by_fields),
        start=span[0],
        end=span[1],
        lanes=tuple(lanes),
        ticks=ticks(*span),
        hidden_hosts=len(hidden),
        hidden_hits=sum(len(ix) for _, ix in hidden),
        hidden_downloads=sum(result[i].count for _, ix in hidden for i in ix),
        hosts=len(groups),
    )


def _cell(text: str) -> Cell:
    if len(text) <= MAX_CELL_CHARS:
        return Cell(text)
    return Cell(text[:MAX_CELL_CHARS], len(text) - MAX_CELL_CHARS)


def build_table(result: ScanResult, max_rows: int = MAX_ROWS) -> Table:
    """Every column (and ``user`` when the scan collected users), the first
    `max_rows` hits in the result's order."""
    columns = result.columns + (("user",) if result.users is not None else ())
    numeric = tuple(c == "count" for c in columns)
    rows = []
    for index, hit in enumerate(result[:max_rows]):
        *by_values, count, first, last = hit
        cells = [_cell(str(v)) for v in by_values] + [Cell(str(count)), Cell(ctime(first)), Cell(ctime(last))]
        if result.users is not None:
            cells.append(_cell(", ".join(result.users[index])))
        rows.append(tuple(cells))
    return Table(columns, numeric, tuple(rows), len(result))


def by_version(by_fields: Tuple[str, ...]) -> str:
    """``v1``/``v3`` when the by-fields are a published version's, else ``custom``."""
    return next((name for name, fields in detection.VERSIONS.items() if fields == by_fields), "custom")


def build_summary(result: ScanResult, failures: Sequence[str] = (), max_inputs: int = MAX_INPUTS) -> Summary:
    s = result.stats
    span = time_span(result)
    figures = (
        Figure("stat-hits", "hits", len(result)),
        Figure("stat-hosts", "hosts", len(group_by_host(result)) if len(result) else 0),
        Figure("stat-downloads", "downloads", sum(h.count for h in result)),
        Figure("stat-files", "files", s.files),
        Figure("stat-bytes", "bytes", s.bytes),
        Figure("stat-events", "events", s.events),
        Figure("stat-malformed", "malformed", s.malformed),
        Figure("stat-excluded", "excluded", s.excluded),
    )
    inputs = []
    formats: Dict[str, int] = {}
    problems = []
    for entry in s.inputs:
        problem = None
        if entry.skipped is not None:
            problem = "skipped: %s" % entry.skipped
        elif entry.damage is not None:
            problem = "damaged: %s at decompressed offset %s; what came before it was scanned" % (
                entry.damage,
                entry.damaged_at,
            )
        if problem is not None:
            problems.append("%s: %s" % (entry.path, problem))
        if entry.format is not None:
            formats[entry.format] = formats.get(entry.format, 0) + 1
        inputs.append(InputRow(entry.path, entry.format, entry.bytes, problem))
    problems += ["failed: %s" % failure for failure in failures]
    malformed = tuple("%s:%d: %s" % (m.path, m.offset, m.reason) for m in s.malformed_examples)
    return Summary(
        figures=figures,
        inputs=tuple(inputs[:max_inputs]),
        hidden_inputs=max(0, len(inputs) - max_inputs),
        formats=tuple(sorted(formats.items())),
        malformed=malformed,
        malformed_unlisted=max(0, s.malformed - len(malformed)),
        start=span[0] if span else None,
        end=span[1] if span else None,
        problems=tuple(problems),
        excluded=s.excluded,
    )


def hidden_lanes_note(timeline: Timeline) -> str:
    return "The timeline draws the %d busiest of %s; %s with %s (%s) are not drawn (they are in the table)." % (
        len(timeline.lanes),
        _plural(timeline.hosts, "host"),
        _plural(timeline.hidden_hosts, "host"),
        _plural(timeline.hidden_hits, "hit"),
        _plural(timeline.hidden_downloads, "download"),
    )


def capped_table_note(table: Table) -> str:
    return (
        "The table shows the first %s of %s, in the scan's order; %s are left out of this page. "
        "Every hit is in --format csv or json."
        % ("{:,}".format(len(table.rows)), _plural(table.total, "hit"), "{:,}".format(table.total - len(table.rows)))
    )


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("sysmon-hunt")
    except Exception:  # running from a checkout that is not installed
        return "unknown"


def build_page(
    result: ScanResult,
    *,
    rules: Optional[int] = None,
    failures: Sequence[str] = (),
    generated: Optional[datetime] = None,
    max_lanes: int = MAX_LANES,
    max_rows: int = MAX_ROWS,
    max_inputs: int = MAX_INPUTS,
) -> Page:
    """The page model of `result`. `rules` is how many exclusion rules the
    scan applied (None: not known); `failures` describe cluster units that
    failed (the result lacks their share); `generated` defaults to now."""
    if max_lanes < 1 or max_rows < 1 or max_inputs < 1:
        raise ValueError("max_lanes, max_rows and max_inputs must be at least 1")
    summary = build_summary(result, failures, max_inputs)
    timeline = build_timeline(result, max_lanes)
    hosts = timeline.hosts if timeline is not None else 0
    if not len(result):
        headline = "No Telegram downloads found"
    elif timeline is not None and timeline.host_field is None:
        headline = "%s of files through Telegram" % _plural(sum(h.count for h in result), "download")
    else:
        headline = "%s through Telegram on %s" % (
            _plural(sum(h.count for h in result), "download"),
            _plural(hosts, "host"),
        )
    return Page(
        title="sysmon-hunt: %s" % headline,
        headline=headline,
        generated=generated or datetime.now(timezone.utc),
        version=_package_version(),
        summary=summary,
        detection=DetectionInfo(
            name=detection.NAME,
            id=detection.ID,
            technique=detection.MITRE_TECHNIQUE_ID,
            risk_score=detection.RISK_SCORE,
            risk_message=detection.RISK_MESSAGE,
            by_version=by_version(result.by_fields),
            by_fields=result.by_fields,
            rules=rules,
        ),
        timeline=timeline,
        table=build_table(result, max_rows),
    )


# --------------------------------------------------------------------------
# rendering it
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _asset(name: str) -> str:
    text = resources.files(__package__).joinpath(_TEMPLATES).joinpath(name).read_text(encoding="utf-8")
    # Inlined without escaping (it is the package's own code): it must not
    # be able to close its element early.
    if "</" in text:
        raise RuntimeError("templates/%s must not contain '</'" % name)
    return text


def _csp_hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    try:
        import jinja2
    except ImportError:
        raise ImportError("the HTML report needs Jinja2: %s" % HTML_EXTRA_HINT) from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, _TEMPLATES),
        # Every value is the logs', so the attacker's: escape everything.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ctime"] = ctime
    env.filters["iso"] = iso_time
    env.filters["plural"] = _plural
    env.filters["thousands"] = "{:,}".format
    env.filters["num"] = lambda v: "%.1f" % v
    return env


def require_jinja() -> None:
    """Raise ImportError (naming the extra to install) when Jinja2 is missing."""
    _environment()


def render(page: Page) -> str:
    """The page as one HTML document."""
    env = _environment()
    style, script = _asset("report.css"), _asset("report.js")
    csp = "; ".join(
        (
            "default-src 'none'",
            "style-src %s" % _csp_hash(style),
            "script-src %s" % _csp_hash(script),
            "img-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
    template = env.get_template("report.html.j2")
    import markupsafe  # Jinja2's own dependency

    return str(
        template.render(
            page=page,
            csp=csp,
            # The package's own, hashed into the CSP; values from logs are never marked safe.
            style=markupsafe.Markup(style),
            script=markupsafe.Markup(script),
            svg_width=SVG_WIDTH,
            plot_left=PLOT_LEFT,
            plot_right=PLOT_RIGHT,
            axis_height=AXIS_HEIGHT,
            lane_height=LANE_HEIGHT,
            mark_y=MARK_Y,
        )
    )


def render_html(result: ScanResult, **options: Any) -> str:
    """`result` as a self-contained HTML report; `options` go to `build_page`."""
    require_jinja()
    return render(build_page(result, **options))
