"""Helpers of the command-line tests: run the CLI in a subprocess, read its
output, and write one-line events."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

from events import sysmon_event

IMAGE_B = "C:\\Users\\Дмитрий\\AppData\\Roaming\\Telegram Desktop\\TELEGRAM.EXE"
# As written in the XML; the decoded value has "R&D, plan.xlsx".
TARGET_B_XML = "C:\\Users\\Дмитрий\\Downloads\\R&amp;D, plan.xlsx:Zone.Identifier"
TARGET_B = "C:\\Users\\Дмитрий\\Downloads\\R&D, plan.xlsx:Zone.Identifier"
HASH_B = "SHA256=AB12"


def _package_root() -> str:
    """The directory the sysmon_hunt package is imported from, for the child's PYTHONPATH."""
    spec = importlib.util.find_spec("sysmon_hunt")  # does not run sysmon_hunt/__init__.py
    assert spec is not None and spec.submodule_search_locations, "sysmon_hunt is not importable"
    return str(Path(list(spec.submodule_search_locations)[0]).parent)


ENV = dict(os.environ)
ENV["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p)
ENV["PYTHONUTF8"] = "1"
ENV.pop("PYTHONIOENCODING", None)


def cli(*args: str, cwd: Optional[Path] = None, env: Optional[dict] = None):
    return subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", *args],
        cwd=cwd,
        env=env or ENV,
        capture_output=True,
        timeout=300,
    )


def out(proc) -> str:
    return proc.stdout.decode("utf-8")


def err(proc) -> str:
    return proc.stderr.decode("utf-8")


def event(time: str, **fields) -> str:
    """One event on one line (Version, EventRecordID, Channel, RuleName and
    Contents besides what the scan reads); values are inserted verbatim."""
    return sysmon_event(layout="short", time=time, **fields)


#: The summary's first line up to the time it took.
SUMMARY_TIME = r", \d+\.\d\d s \(\d+\.\d MB/s\)"


def summary_line(proc, i: int = 0) -> str:
    """Line `i` of stderr, with the summary's time and rate checked and cut off."""
    line = err(proc).splitlines()[i]
    assert re.search(SUMMARY_TIME + "$", line), line
    return re.sub(SUMMARY_TIME + "$", "", line)
