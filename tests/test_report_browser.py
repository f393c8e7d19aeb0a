"""The HTML report in a real browser: Debian's headless Chromium, driven by
selenium through Debian's chromedriver (see tests/browser.py for why).

Each page is loaded from a file, as a responder opens a mail attachment. The
tests check the DOM against the scan (rows, lanes, figures), that nothing was
requested but the page itself, that the console has no error and the CSP
blocked nothing, that hostile values from the logs never run, and that a
screenshot at desktop width is not blank.

Without Chromium (tests/install-browser.sh installs it) the tests skip with
the reason; when the environment variable CI is set they fail instead.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, Iterator, List
from xml.sax.saxutils import escape

import pytest

import browser
import sysmon_hunt
from events import sysmon_event
from sysmon_hunt import report
from sysmon_hunt.results import BY_FIELDS, ScanResult, ScanStats, hit_type

HOSTILE_TARGET = (
    'C:\\Users\\x\\Downloads\\<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    "<img src='http://127.0.0.1:9/beacon'>.pdf:Zone.Identifier"
)
HOSTILE_HOST = '"><svg onload=alert(3)><iframe srcdoc="<script>alert(4)</script>">'
FIXED = datetime(2024, 3, 12, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = browser.missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail("browser tests must run in CI: " + reason, pytrace=False)
        pytest.skip(reason)
    chrome = browser.start(str(tmp_path_factory.mktemp("chromium-profile")))
    try:
        yield chrome
    finally:
        chrome.quit()


def write_report(tmp_path: Path, result: ScanResult, name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(result.to_html(rules=0, generated=FIXED), encoding="utf-8")
    return path


def assert_clean(visit: browser.Visit) -> None:
    """Nothing loaded from outside, nothing logged as an error, nothing blocked, no dialog."""
    assert visit.requests == [visit.url]
    assert visit.outside_requests == []
    assert visit.console_errors == []
    assert visit.csp_violations == []
    assert visit.dialogs == []


def texts(driver: Any, selector: str) -> List[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", selector
    )


def assert_matches_scan(driver: Any, result: ScanResult) -> None:
    """Rows, lanes and figures of the loaded page are the scan's."""
    rows = driver.execute_script("return document.querySelectorAll('#hits tbody tr').length")
    assert rows == min(len(result), report.MAX_ROWS)
    lanes = driver.execute_script(
        "return Array.from(document.querySelectorAll('#timeline g.lane'), g => g.getAttribute('data-host'))"
    )
    hosts = [host for host, _ in report.group_by_host(result)]
    assert lanes == hosts[: report.MAX_LANES]
    s = result.stats
    for fid, value in (
        ("stat-hits", len(result)),
        ("stat-events", s.events),
        ("stat-bytes", s.bytes),
        ("stat-files", s.files),
        ("stat-malformed", s.malformed),
        ("stat-excluded", s.excluded),
        ("stat-downloads", sum(h.count for h in result)),
        ("stat-hosts", len(hosts)),
    ):
        text = driver.execute_script("return document.getElementById(arguments[0]).textContent", fid)
        assert int(text.replace(",", "")) == value, fid
    # The script ran: the filter is shown with the row count.
    status = driver.execute_script("return document.getElementById('hits-status').textContent")
    assert status == "%d rows" % rows


def test_the_sample_report(driver: Any, tmp_path: Path) -> None:
    result = sysmon_hunt.scan(sysmon_hunt.sample_path())
    assert len(result)
    visit = browser.Visit(driver, write_report(tmp_path, result))
    assert_clean(visit)
    assert_matches_scan(driver, result)
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('#hits tbody tr:first-child td'), td => td.textContent)"
    )
    hit = result[0]
    assert cells == [str(v) for v in hit[:-3]] + [
        str(hit.count),
        report.ctime(hit.firstTime),
        report.ctime(hit.lastTime),
    ]


def test_a_fleet_report_sorts_filters_and_is_not_blank(driver: Any, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    log = browser.write_log(tmp_path / "fleet.log", browser.fleet_events())
    result = sysmon_hunt.scan(str(log), users=True)
    assert len(report.group_by_host(result)) == 9
    visit = browser.Visit(driver, write_report(tmp_path, result))
    assert_clean(visit)
    assert_matches_scan(driver, result)
    assert texts(driver, "#hits thead th")[-1] == "user"
    # Sorting by count (a click on its header) puts the most downloaded first.
    driver.execute_script("document.querySelector('#hits thead th.num button').click()")
    counts = [int(c) for c in texts(driver, "#hits tbody td.num")]
    assert counts == sorted((h.count for h in result), reverse=True)
    # A click on a host in the timeline filters the table to it.
    busiest = report.group_by_host(result)[0]
    driver.execute_script("document.querySelector('#timeline g.lane text.host').dispatchEvent(new MouseEvent('click'))")
    shown = driver.execute_script(
        "return Array.from(document.querySelectorAll('#hits tbody tr'), r => r.hidden ? null : r.cells[0].textContent)"
        ".filter(x => x !== null)"
    )
    assert shown == [busiest[0]] * len(busiest[1])
    driver.execute_script("document.querySelector('#timeline g.lane text.host').dispatchEvent(new MouseEvent('click'))")
    # Desktop width: the screenshot has the page, the marks drawn in their colour.
    driver.set_window_size(*browser.WINDOW)
    driver.execute_script("window.scrollTo(0, 0)")
    png = driver.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(png)
    with Image.open(BytesIO(png)) as image:
        rgb = image.convert("RGB")
        assert rgb.size[0] == browser.WINDOW[0]
        assert ImageStat.Stat(rgb.convert("L")).stddev[0] > 20
        colors: List[Any] = rgb.getcolors(maxcolors=1 << 24) or []
        assert len(colors) > 50
        # The marks' colour (#c2410c, antialiased).
        accent = sum(n for n, (r, g, b) in colors if abs(r - 0xC2) < 40 and abs(g - 0x41) < 40 and b < 60)
        assert accent > 500, "no timeline marks in the screenshot"


def test_hostile_values_do_not_run(driver: Any, tmp_path: Path) -> None:
    log = tmp_path / "hostile.log"
    log.write_text(
        sysmon_event(layout="full", target=escape(HOSTILE_TARGET), computer=escape(HOSTILE_HOST))
        + "\n"
        + sysmon_event(layout="full", computer="ok-host")
        + "\n",
        encoding="utf-8",
    )
    result = sysmon_hunt.scan(str(log))
    assert {h.TargetFilename for h in result} >= {HOSTILE_TARGET} and len(result) == 2
    visit = browser.Visit(driver, write_report(tmp_path, result))
    assert_clean(visit)  # no dialog, nothing blocked by the CSP, no request
    counts = driver.execute_script(
        "return ['img', 'iframe', 'svg', 'script', '[onerror]', '[onload]', '[srcdoc]']"
        ".map(s => document.querySelectorAll(s).length)"
    )
    assert counts == [0, 0, 1, 1, 0, 0, 0]  # the timeline's svg and the page's script
    cells = texts(driver, "#hits tbody td")
    assert HOSTILE_TARGET in cells and HOSTILE_HOST in cells
    hosts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#timeline g.lane'), g => g.getAttribute('data-host'))"
    )
    assert sorted(hosts) == sorted([HOSTILE_HOST, "ok-host"])
    assert_matches_scan(driver, result)


def test_without_javascript_the_page_reads_the_same(driver: Any, tmp_path: Path) -> None:
    result = sysmon_hunt.scan(sysmon_hunt.sample_path())
    page = write_report(tmp_path, result)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        visit = browser.Visit(driver, page)
        assert visit.console_errors == [] and visit.outside_requests == []
        rows = driver.find_elements("css selector", "#hits tbody tr")
        assert len(rows) == len(result) and rows[0].is_displayed()
        assert not driver.find_element("css selector", "#hits-tools").is_displayed()
        assert driver.find_element("css selector", "#timeline").is_displayed()
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_100k_hits_open_quickly_and_say_what_is_cut(driver: Any, tmp_path: Path) -> None:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    hit: Any = hit_type(BY_FIELDS)
    hits: List[Any] = [
        hit(
            "HOST-%03d" % (k % 500),
            "15",
            "C:\\t\\Telegram.exe",
            str(k % 97),
            "C:\\d\\file_%06d.bin:Zone.Identifier" % k,
            "SHA256=%064X" % k,
            1 + k % 5,
            start + timedelta(minutes=k),
            start + timedelta(minutes=k + k % 30),
        )
        for k in range(100_000)
    ]
    result = ScanResult(sorted(hits), ScanStats(1, 10**9, 300_000, 0, ()))
    began = time.monotonic()
    page = write_report(tmp_path, result)
    rendered = time.monotonic() - began
    size = page.stat().st_size
    began = time.monotonic()
    visit = browser.Visit(driver, page)
    loaded = time.monotonic() - began
    print("100k hits: rendered in %.1f s, %.1f MB, loaded in %.1f s" % (rendered, size / 1e6, loaded))
    assert_clean(visit)
    assert_matches_scan(driver, result)
    assert size < 8e6
    notes = driver.find_elements("css selector", "#notes li")
    assert [n.is_displayed() for n in notes] == [True, True]
    assert "first 5,000 of 100,000 hits" in notes[1].text and "460 hosts" in notes[0].text
    assert driver.find_element("css selector", "#rows-note").is_displayed()
    assert driver.find_element("css selector", "#lanes-note").is_displayed()


def test_the_checks_see_markup_that_was_not_escaped(driver: Any, tmp_path: Path) -> None:
    """A control: the same report with markup put in raw, as a broken
    escaper would. Without the CSP the handler runs and the image loads; with
    it the CSP blocks both and says so. Either way `assert_clean` would fail."""
    page = sysmon_hunt.scan(sysmon_hunt.sample_path()).to_html(generated=FIXED)
    injected = page.replace("</h1>", "</h1><img src=x onerror=alert(2)>", 1)
    no_csp = tmp_path / "no-csp.html"
    no_csp.write_text(injected.replace('http-equiv="Content-Security-Policy"', 'name="x"', 1), encoding="utf-8")
    visit = browser.Visit(driver, no_csp)
    assert visit.dialogs == ["alert:2"]
    assert visit.outside_requests == [(tmp_path / "x").as_uri()]
    with_csp = tmp_path / "csp.html"
    with_csp.write_text(injected, encoding="utf-8")
    visit = browser.Visit(driver, with_csp)
    # The CSP stops the handler; the image is still asked for (and blocked):
    # the request log sees attempts, not only loads that went through.
    assert visit.dialogs == [] and visit.outside_requests == [(tmp_path / "x").as_uri()]
    assert sorted(v.split()[0] for v in visit.csp_violations) == ["img-src", "script-src-attr"]
    assert visit.console_errors
