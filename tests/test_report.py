"""The HTML report without a browser: the page model (grouping by host, the
time span, the timeline's geometry, caps), escaping of hostile values, the
CSP, and ``--format html`` from the command line.

The browser tests (rendering, scripts, network) are in test_report_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

import sysmon_hunt
from events import sysmon_event
from sysmon_hunt import detection, report
from sysmon_hunt.results import BY_FIELDS, InputStats, MalformedEvent, ScanResult, ScanStats, hit_type

T0 = datetime(2024, 3, 11, 8, 0, tzinfo=timezone.utc)
FIXED = datetime(2024, 3, 12, 9, 30, tzinfo=timezone.utc)
HOSTILE_TARGET = 'C:\\x\\<script>alert(1)</script>"><img src=x onerror=alert(2)>.pdf:Zone.Identifier'
HOSTILE_HOST = "<svg onload=alert(3)>&amp;'\""


def make_hit(
    host: str,
    minutes: float,
    count: int = 1,
    span_minutes: float = 0.0,
    target: str = "C:\\a.txt:Zone.Identifier",
    by: Tuple[str, ...] = BY_FIELDS,
) -> Any:
    first = T0 + timedelta(minutes=minutes)
    values = {name: "v" for name in by}
    values.update({f: host for f in ("Computer", "dest") if f in by})
    if "TargetFilename" in by:
        values["TargetFilename"] = target
    hit_class: Any = hit_type(by)
    return hit_class(*[values[n] for n in by], count, first, first + timedelta(minutes=span_minutes))


def make_result(
    hits: Sequence[tuple],
    by: Tuple[str, ...] = BY_FIELDS,
    users: Optional[Sequence[Tuple[str, ...]]] = None,
    **stats: object,
) -> ScanResult:
    fields: Dict[str, object] = dict(files=1, bytes=1000, events=len(hits) * 3, malformed=0, malformed_examples=())
    fields.update(stats)
    return ScanResult(sorted(hits), ScanStats(**fields), by_fields=by, users=users)  # type: ignore[arg-type]


class Tags(HTMLParser):
    """Every start tag of a document, and the text of each element with an id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: List[Tuple[str, Dict[str, Optional[str]]]] = []
        self.text: List[str] = []
        self.raw: Dict[str, str] = {}
        self._raw_tag: Optional[str] = None

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._raw_tag = tag

    def handle_endtag(self, tag: str) -> None:
        self._raw_tag = None

    def handle_data(self, data: str) -> None:
        if self._raw_tag:
            self.raw[self._raw_tag] = self.raw.get(self._raw_tag, "") + data
        else:
            self.text.append(data)

    def all(self, tag: str) -> List[Dict[str, Optional[str]]]:
        return [attrs for t, attrs in self.tags if t == tag]


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


# --------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------


def test_group_by_host_busiest_first_then_by_name() -> None:
    hits = [
        make_hit("B", 1),
        make_hit("A", 2),
        make_hit("C", 3),
        make_hit("C", 4, count=9),
        make_hit("B", 5),
        make_hit("D", 6),
    ]
    result = make_result(hits)
    groups = report.group_by_host(result)
    assert [host for host, _ in groups] == ["B", "C", "A", "D"]
    for host, indexes in groups:
        assert all(result[i].Computer == host for i in indexes)
    assert sorted(i for _, ix in groups for i in ix) == list(range(len(result)))


def test_group_by_host_with_v3_uses_dest() -> None:
    by = detection.BY_V3
    result = make_result([make_hit("h1", 1, by=by), make_hit("h2", 2, by=by), make_hit("h2", 3, by=by)], by=by)
    assert [h for h, _ in report.group_by_host(result)] == ["h2", "h1"]
    assert report.build_timeline(result).host_field == "dest"  # type: ignore[union-attr]


def test_without_a_host_field_one_lane_holds_every_hit() -> None:
    by = ("Image", "TargetFilename")
    result = make_result([make_hit("x", 1, by=by), make_hit("x", 9, by=by, target="b")], by=by)
    timeline = report.build_timeline(result)
    assert timeline is not None and timeline.host_field is None
    assert [(lane.host, lane.hits) for lane in timeline.lanes] == [("", 2)]


def test_time_span_is_first_firsttime_to_last_lasttime() -> None:
    result = make_result([make_hit("A", 10, span_minutes=200), make_hit("B", 5), make_hit("B", 30, span_minutes=1)])
    assert report.time_span(result) == (T0 + timedelta(minutes=5), T0 + timedelta(minutes=210))
    assert report.time_span(make_result([])) is None


def test_marks_sit_at_their_times_and_lanes_span_their_hits() -> None:
    result = make_result([make_hit("A", 0, count=2), make_hit("A", 60, span_minutes=30), make_hit("B", 120)])
    timeline = report.build_timeline(result)
    assert timeline is not None
    a, b = timeline.lanes
    assert (a.host, a.hits, a.downloads, b.host) == ("A", 2, 3, "B")
    plot = report.PLOT_RIGHT - report.PLOT_LEFT
    assert [m.x for m in a.marks] == [report.PLOT_LEFT, report.PLOT_LEFT + plot / 2]
    assert a.marks[1].x_end == pytest.approx(report.PLOT_LEFT + plot * 90 / 120)
    assert a.x == report.PLOT_LEFT and a.x_end == pytest.approx(report.PLOT_LEFT + plot * 90 / 120)
    assert b.marks[0].x == report.PLOT_RIGHT
    assert [(m.downloads, m.labelled) for m in a.marks] == [(2, True), (1, False)]


def test_close_hits_merge_into_one_mark_with_their_counts_summed() -> None:
    # 10 000 minutes across the plot: hits a minute apart share a bin.
    hits = [make_hit("A", 0), make_hit("A", 10_000)] + [make_hit("A", 5000 + k, count=k + 1) for k in range(3)]
    timeline = report.build_timeline(make_result(hits))
    assert timeline is not None
    (lane,) = timeline.lanes
    assert [(m.hits, m.downloads) for m in lane.marks] == [(1, 1), (3, 6), (1, 1)]
    merged = lane.marks[1]
    assert (merged.first, merged.last) == (T0 + timedelta(minutes=5000), T0 + timedelta(minutes=5002))
    assert "6 downloads, 3 hits" in merged.title


def test_marks_per_lane_are_bounded_by_the_plot_width() -> None:
    hits = [make_hit("A", k) for k in range(20_000)]
    timeline = report.build_timeline(make_result(hits))
    assert timeline is not None
    marks = timeline.lanes[0].marks
    assert len(marks) <= (report.PLOT_RIGHT - report.PLOT_LEFT) / report.MARK_BIN + 1
    assert sum(m.downloads for m in marks) == 20_000
    labels = [m.x for m in marks if m.labelled]
    assert all(b - a >= report.LABEL_GAP for a, b in zip(labels, labels[1:]))


def test_count_labels_never_overlap_however_wide() -> None:
    hits = [make_hit("A", k, count=1 + 10 ** (k % 7)) for k in range(3000)]
    timeline = report.build_timeline(make_result(hits))
    assert timeline is not None
    labelled = [m for m in timeline.lanes[0].marks if m.labelled]
    assert len(labelled) > 10
    for a, b in zip(labelled, labelled[1:]):
        assert b.x - a.x >= (len(str(a.downloads)) + len(str(b.downloads))) * report.LABEL_DIGIT / 2


def test_one_instant_puts_everything_in_the_middle() -> None:
    timeline = report.build_timeline(make_result([make_hit("A", 0), make_hit("B", 0)]))
    assert timeline is not None
    middle = (report.PLOT_LEFT + report.PLOT_RIGHT) / 2
    assert {m.x for lane in timeline.lanes for m in lane.marks} == {middle}
    assert [t.x for t in timeline.ticks] == [middle]


@pytest.mark.parametrize(
    "span",
    [
        timedelta(seconds=3),
        timedelta(minutes=50),
        timedelta(days=3),
        timedelta(days=800),
        datetime(9999, 12, 31, tzinfo=timezone.utc) - datetime(1, 1, 1, tzinfo=timezone.utc),
    ],
)
def test_ticks_are_few_round_and_inside_the_plot(span: timedelta) -> None:
    start = datetime(1, 1, 1, tzinfo=timezone.utc) if span.days > 100_000 else T0 + timedelta(seconds=17)
    ticks = report.ticks(start, start + span)
    assert 1 <= len(ticks) <= 8
    xs = [t.x for t in ticks]
    assert xs == sorted(xs) and report.PLOT_LEFT <= xs[0] and xs[-1] <= report.PLOT_RIGHT
    assert len(set(t.label for t in ticks)) == len(ticks)


def test_lanes_are_capped_with_the_rest_counted() -> None:
    hits = [make_hit("H%03d" % h, k, count=2) for h in range(500) for k in range(1 + h % 7)]
    result = make_result(hits)
    timeline = report.build_timeline(result, max_lanes=40)
    assert timeline is not None and len(timeline.lanes) == 40 and timeline.hosts == 500
    assert timeline.hidden_hosts == 460
    assert timeline.hidden_hits + sum(lane.hits for lane in timeline.lanes) == len(result)
    assert timeline.hidden_downloads == 2 * timeline.hidden_hits
    assert [lane.hits for lane in timeline.lanes] == sorted((lane.hits for lane in timeline.lanes), reverse=True)
    assert timeline.lanes[0].hits == 7
    page = report.build_page(result, max_lanes=40, generated=FIXED)
    assert "460 hosts with" in page.notes[0] and "40 busiest of 500 hosts" in page.notes[0]


def test_table_is_capped_and_says_so() -> None:
    hits = [make_hit("H%d" % (k % 3), k) for k in range(250)]
    page = report.build_page(make_result(hits), max_rows=100, generated=FIXED)
    assert len(page.table.rows) == 100 and page.table.total == 250 and page.table.capped
    assert any("first 100 of 250 hits" in n and "150 are left out" in n for n in page.notes)
    text = report.render(page)
    tags = parse(text)
    assert len(tags.all("tr")) - 2 == 100  # less the header rows of the hits and the inputs
    assert "first 100 of 250 hits" in text
    uncapped = report.build_page(make_result(hits), generated=FIXED)
    assert len(uncapped.table.rows) == 250 and not uncapped.notes


def test_long_values_are_cut_with_a_visible_count() -> None:
    long = "C:\\" + "x" * 5000 + ":Zone.Identifier"
    page = report.build_page(make_result([make_hit("A", 0, target=long)]), generated=FIXED)
    (cell,) = [c for c in page.table.rows[0] if c.cut]
    assert cell.text == long[: report.MAX_CELL_CHARS] and cell.cut == len(long) - report.MAX_CELL_CHARS
    assert "(%s more characters)" % "{:,}".format(cell.cut) in report.render(page)


def test_a_huge_host_or_user_costs_the_page_a_bounded_size() -> None:
    host, user = "H" * 1_000_000, "U" * 1_000_000
    result = make_result([make_hit(host, 0), make_hit(host, 1)], users=[(user,), (user + "2",)])
    text = result.to_html(generated=FIXED)
    assert len(text) < 30_000
    assert host[: report.MAX_CELL_CHARS - 1] + "\u2026" in text


def test_table_has_every_column_and_users_when_collected() -> None:
    hits = [make_hit("A", 0, count=4, span_minutes=90)]
    result = make_result(hits, users=[("CORP\\bob", "CORP\\eve")])
    table = report.build_table(result)
    assert table.columns == result.columns + ("user",)
    row = [c.text for c in table.rows[0]]
    assert row[-4:] == ["4", "2024-03-11T08:00:00", "2024-03-11T09:30:00", "CORP\\bob, CORP\\eve"]
    assert table.numeric == tuple(c == "count" for c in table.columns)
    assert report.build_table(make_result(hits)).columns == result.columns
    timeline = report.build_timeline(result)
    assert timeline is not None and timeline.lanes[0].users == ("CORP\\bob", "CORP\\eve")


def test_summary_figures_inputs_and_problems() -> None:
    stats: Dict[str, Any] = dict(
        files=3,
        bytes=123_456,
        events=9876,
        malformed=14,
        excluded=2,
        files_skipped=1,
        malformed_examples=tuple(MalformedEvent("a.log", 10 * k, "unterminated") for k in range(10)),
        inputs=(
            InputStats("a.log", "xml", 100),
            InputStats("b.xml.gz", "gzip+xml", 200, None, 4096, "truncated"),
            InputStats("c", None, 0, "permission denied"),
            InputStats("d.evtx", "evtx", 300),
        ),
    )
    result = make_result([make_hit("A", 0, count=3), make_hit("B", 5)], **stats)
    s = report.build_summary(result, failures=["unit x failed"])
    assert {f.id: f.value for f in s.figures} == {
        "stat-hits": 2,
        "stat-hosts": 2,
        "stat-downloads": 4,
        "stat-files": 3,
        "stat-bytes": 123_456,
        "stat-events": 9876,
        "stat-malformed": 14,
        "stat-excluded": 2,
    }
    assert s.formats == (("evtx", 1), ("gzip+xml", 1), ("xml", 1))
    assert s.malformed[0] == "a.log:0: unterminated" and len(s.malformed) == 10 and s.malformed_unlisted == 4
    assert s.problems == (
        "b.xml.gz: damaged: truncated at decompressed offset 4096; what came before it was scanned",
        "c: skipped: permission denied",
        "failed: unit x failed",
    )
    assert (s.start, s.end) == (T0, T0 + timedelta(minutes=5))
    capped = report.build_summary(result, max_inputs=2)
    assert len(capped.inputs) == 2 and capped.hidden_inputs == 2


def test_detection_facts_come_from_the_detection_module() -> None:
    page = report.build_page(make_result([], by=detection.BY_V3), rules=3, generated=FIXED)
    d = page.detection
    assert (d.name, d.id, d.technique, d.risk_score, d.risk_message) == (
        detection.NAME,
        detection.ID,
        detection.MITRE_TECHNIQUE_ID,
        detection.RISK_SCORE,
        detection.RISK_MESSAGE,
    )
    assert (d.by_version, d.by_fields, d.rules) == ("v3", detection.BY_V3, 3)
    assert report.by_version(("Computer", "Hash")) == "custom"
    text = report.render(page)
    for fact in (detection.NAME, detection.ID, "T1105", "49 per hit", html.escape(detection.RISK_MESSAGE), "v3"):
        assert fact in text
    assert "No Telegram downloads found" in text and "No hits." in text


def test_bad_caps_are_refused() -> None:
    with pytest.raises(ValueError):
        report.build_page(make_result([]), max_rows=0)


# --------------------------------------------------------------------------
# the document: escaping and CSP
# --------------------------------------------------------------------------


def hostile_result() -> ScanResult:
    hits = [make_hit(HOSTILE_HOST, 0, target=HOSTILE_TARGET), make_hit("ok", 1)]
    return make_result(
        hits,
        users=[("<b>x</b>",), ()],
        inputs=(InputStats("<img src=x onerror=alert(4)>.log", "xml", 10),),
        malformed=1,
        malformed_examples=(MalformedEvent("</script><script>alert(5)//", 0, "x"),),
    )


def test_hostile_values_stay_text() -> None:
    text = hostile_result().to_html(generated=FIXED)
    tags = parse(text)
    names = {t for t, _ in tags.tags}
    assert names <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "p",
        "time",
        "dl",
        "div",
        "dt",
        "dd",
        "ul",
        "li",
        "main",
        "section",
        "h2",
        "h3",
        "svg",
        "g",
        "line",
        "text",
        "rect",
        "circle",
        "table",
        "thead",
        "tr",
        "th",
        "tbody",
        "td",
        "label",
        "input",
        "span",
        "code",
        "footer",
        "script",
        "h1",
    }, names
    assert len(tags.all("script")) == 1 and not tags.all("img") and not tags.all("b")
    assert not [a for _, a in tags.tags if any(k.startswith("on") for k in a)]
    body = "".join(tags.text)
    for value in (HOSTILE_TARGET, HOSTILE_HOST, "<img src=x onerror=alert(4)>.log", "</script><script>alert(5)//"):
        assert value in body
    assert [a["data-host"] for a in tags.all("g") if "data-host" in a][0] == HOSTILE_HOST
    assert "<script>alert" not in text and "<img" not in text


def test_csp_forbids_network_and_allows_only_the_inline_style_and_script() -> None:
    text = make_result([make_hit("A", 0)]).to_html(generated=FIXED)
    tags = parse(text)
    (meta,) = [m for m in tags.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = dict(p.strip().split(" ", 1) for p in (meta["content"] or "").split(";"))

    def sha(s: str) -> str:
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()

    assert policy["default-src"] == "'none'" and policy["img-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert policy["style-src"] == sha(tags.raw["style"]) and policy["script-src"] == sha(tags.raw["script"])
    assert "style" not in {k for _, a in tags.tags for k in a}  # no style attributes
    assert not re.search(r"(src|href)=", text)


def test_to_html_needs_jinja_and_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    report._environment.cache_clear()
    monkeypatch.setitem(sys.modules, "jinja2", None)
    try:
        with pytest.raises(ImportError, match=re.escape("pip install 'sysmon-hunt[html]'")):
            make_result([]).to_html()
    finally:
        report._environment.cache_clear()


# --------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------


def cli(*args: str) -> "subprocess.CompletedProcess[bytes]":
    return subprocess.run([sys.executable, "-m", "sysmon_hunt", "scan", "-q", *args], capture_output=True, timeout=300)


def rows_of(page: str) -> List[List[str]]:
    """The hits table's body rows, as text."""
    table = page.split('<table id="hits"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [html.unescape(re.sub(r"<[^>]*>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_cli_writes_the_report_of_the_sample(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = cli("--format", "html", "-o", str(out), "--sample")
    assert proc.returncode == 0, proc.stderr
    result = sysmon_hunt.scan(sysmon_hunt.sample_path())
    page = out.read_text(encoding="utf-8")
    expected = report.build_page(result, rules=0, generated=FIXED)
    assert [[c.text for c in r] for r in expected.table.rows] == rows_of(page)
    assert 'id="stat-events" data-value="%d"' % result.stats.events in page
    assert page.count('<g class="lane"') == len(report.group_by_host(result))


def test_cli_html_with_by_exclude_and_risk(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    users = "<Data Name='User'>CORP\\eve</Data>"
    log.write_text(
        "\n".join(
            [
                sysmon_event(layout="full", computer="HOST-A", extra_data=users),
                sysmon_event(layout="full", computer="HOST-B", process_id="1", extra_data=users),
                sysmon_event(layout="full", computer="BUILD-1"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "r.html"
    proc = cli("--format", "html", "-o", str(out), "--by", "v3", "--exclude", "dest=BUILD-*", "--risk", str(log))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    rows = rows_of(page)
    assert [r[0] for r in rows] == ["HOST-A", "HOST-B"] and [r[-1] for r in rows] == ["CORP\\eve"] * 2
    assert '<th scope="col">user</th>' in page and "<code>v3</code>" in page
    assert 'id="stat-excluded" data-value="1"' in page and "1 rule, 1 hit excluded" in page
    # html goes to stdout too, and is refused with --excel.
    proc = cli("--format", "html", str(log))
    assert proc.returncode == 0 and proc.stdout.startswith(b"<!DOCTYPE html>")
    proc = cli("--format", "html", "--excel", str(log))
    assert proc.returncode == 2 and b"--excel applies to --format csv only" in proc.stderr


def test_cli_html_on_a_dask_cluster_matches_the_local_report(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    local, cluster = tmp_path / "local.html", tmp_path / "cluster.html"
    path = str(sysmon_hunt.sample_path())
    assert cli("--format", "html", "-o", str(local), path).returncode == 0
    proc = cli("--format", "html", "-o", str(cluster), "--dask", "local:1", path)
    assert proc.returncode == 0, proc.stderr
    assert rows_of(local.read_text(encoding="utf-8")) == rows_of(cluster.read_text(encoding="utf-8"))


def test_cli_without_jinja_fails_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code = (
        "import sys; sys.modules['jinja2'] = None; from sysmon_hunt.cli import main; "
        "sys.exit(main(['scan', '--format', 'html', '-o', %r, '--sample']))" % str(out)
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        "sysmon-hunt: error: the HTML report needs Jinja2: pip install 'sysmon-hunt[html]'"
    )
    assert not out.exists()
