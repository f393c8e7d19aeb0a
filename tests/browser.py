"""Headless Chromium for the report's browser tests, and the logs they load.

Why selenium: it is the well-kept W3C WebDriver client, and Debian ships a
chromedriver built with its chromium (same version, `chromium-driver`), so
the tests drive exactly the browser apt installed. The driver's path and
the browser's binary are given explicitly and Selenium Manager is told to
stay offline (``SE_OFFLINE``): nothing is ever downloaded. What WebDriver
does not cover (the page's own network requests, a hook that records
alert() calls and CSP violations before any script of the page runs) comes
through chromedriver's DevTools bridge (`execute_cdp_cmd`, the performance
log).

Run as a script, it writes the example screenshot of the docs:
``python tests/browser.py docs/report.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from events import sysmon_event

CHROMEDRIVER = "/usr/bin/chromedriver"
#: Desktop width for screenshots.
WINDOW = (1440, 1000)

#: Run before any script of the page: records what a hostile value would do
#: if it ever ran (dialogs) and what the CSP blocked.
RECORDER = """
window.__dialogs = [];
window.__cspViolations = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = function (message) { window.__dialogs.push(name + ":" + String(message)); };
}
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def chromium_binary() -> Optional[str]:
    return shutil.which("chromium")


def missing_reason() -> Optional[str]:
    """Why the browser tests cannot run here, or None."""
    if chromium_binary() is None:
        return "Debian's chromium is not installed (tests/install-browser.sh installs it)"
    if not os.access(CHROMEDRIVER, os.X_OK):
        return f"{CHROMEDRIVER} (Debian's chromium-driver) is missing; tests/install-browser.sh installs it"
    try:
        import PIL  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as error:
        return f"{error.name} is not installed (pip install -e '.[test]')"
    return None


def start(profile_dir: str) -> Any:
    """A headless Chromium at desktop width, its console and network logged."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary() or "chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the tests run as root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=%d,%d" % WINDOW,
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--user-data-dir=" + profile_dir,
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    return driver


class Visit:
    """What happened while the browser loaded one page."""

    def __init__(self, driver: Any, path: Path) -> None:
        driver.get_log("browser")  # drop what earlier pages logged
        driver.get_log("performance")
        self.url = path.resolve().as_uri()
        driver.get(self.url)
        self.driver = driver
        self.console = driver.get_log("browser")
        self.requests: List[str] = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
                self.requests.append(message["params"].get("request", message["params"]).get("url", "?"))
        self.dialogs: List[str] = driver.execute_script("return window.__dialogs")
        self.csp_violations: List[str] = driver.execute_script("return window.__cspViolations")

    @property
    def console_errors(self) -> List[Dict[str, Any]]:
        return [e for e in self.console if e.get("level") == "SEVERE"]

    @property
    def outside_requests(self) -> List[str]:
        """Requests other than the page itself."""
        return [url for url in self.requests if url != self.url]


# --------------------------------------------------------------------------
# logs to make reports of
# --------------------------------------------------------------------------

BASE = datetime(2024, 3, 11, 7, 40, tzinfo=timezone.utc)
USERS = ("CORP\\j.doe", "CORP\\a.khan", "CORP\\m.ross", "FIN\\p.lopez")


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d0Z" % t.microsecond


def fleet_events(hosts: int = 9, seed: int = 7) -> Iterator[str]:
    """Telegram downloads on `hosts` hosts over one working day, busier on
    the first ones, some files downloaded several times; a User on each."""
    import random

    rnd = random.Random(seed)
    names = ["invoice_%d.pdf", "setup_v%d.exe", "photo_%d.jpg", "payload_%d.zip", "report_Q%d.xlsx", "notes_%d.txt"]
    for h in range(hosts):
        host = "WS-%s-%02d" % (["FIN", "HR", "DEV", "OPS", "LAB"][h % 5], h + 1)
        user = USERS[h % len(USERS)]
        files = max(1, 14 - 2 * h + rnd.randint(0, 2))
        for _ in range(files):
            name = rnd.choice(names) % rnd.randint(1, 40)
            target = "C:\\Users\\%s\\Downloads\\Telegram Desktop\\%s:Zone.Identifier" % (user.split("\\")[1], name)
            start = BASE + timedelta(minutes=rnd.randint(0, 9 * 60))
            digest = "SHA256=%064X" % rnd.getrandbits(256)  # the same file each time: one hit, counted
            for k in range(rnd.choice((1, 1, 1, 2, 3, 5))):
                yield sysmon_event(
                    layout="full",
                    computer=host,
                    time=_stamp(start + timedelta(minutes=7 * k)),
                    process_id=str(4000 + h),
                    target=target,
                    hash=digest,
                    extra_data="<Data Name='User'>%s</Data>" % user,
                )


def write_log(path: Path, events: Iterator[str]) -> Path:
    path.write_text("".join(e + "\n" for e in events), encoding="utf-8")
    return path


def screenshot(driver: Any, html: Path, png: Path, height: int = WINDOW[1]) -> Tuple[int, int]:
    """A screenshot of the top of the page at desktop width; returns its size."""
    driver.set_window_size(WINDOW[0], height)
    Visit(driver, html)
    png.write_bytes(driver.get_screenshot_as_png())
    from PIL import Image

    with Image.open(png) as image:
        return image.size


def main(argv: List[str]) -> int:
    """Write the docs' example screenshot: a report of generated fleet logs."""
    import sysmon_hunt

    if len(argv) != 2:
        print("usage: python tests/browser.py OUT.png", file=sys.stderr)
        return 2
    reason = missing_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp) / "fleet.log", fleet_events())
        result = sysmon_hunt.scan(str(log), users=True)
        html = Path(tmp) / "report.html"
        html.write_text(result.to_html(rules=0), encoding="utf-8")
        driver = start(str(Path(tmp) / "profile"))
        try:
            size = screenshot(driver, html, Path(argv[1]), height=1500)
        finally:
            driver.quit()
    # A palette of 128 colours keeps the picture sharp at a third of the bytes.
    from PIL import Image

    with Image.open(argv[1]) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(argv[1], optimize=True)
    print("%s: %dx%d" % (argv[1], *size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
