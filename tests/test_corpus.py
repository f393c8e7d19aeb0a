"""The real Sysmon logs in ``../shared/corpus/real`` (beside the checkout).

Each text log must give exactly the figures in shared/corpus/README.md, and
the native scanner must agree with the reference on it. Skipped, with the
reason, when the corpus is not there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from conftest import CORPUS_DIR

import sysmon_hunt
from sysmon_hunt import reference

#: shared/corpus/README.md: relative path -> (events, hits, matched).
EXPECTED: Dict[str, Tuple[int, int, int]] = {
    "real/splunk-security-content/sysmon_eventid_15_example_log.log": (1, 1, 1),
    "real/casimkhan-sysmongo/sysmon-operational.xml.log": (2322, 0, 0),
    "real/casimkhan-sysmongo/sysmon-operational.telegram-derived.xml.log": (2322, 30, 30),
    "real/omerbenamram-evtx/sysmon.xml.log": (358, 0, 0),
    "real/ph20Eoow-adversary-detection/stager_windows_hta.events.log": (7, 0, 0),
    "real/splunk-attack-data/T1036.002-rtlo_events.log": (14, 0, 0),
    "real/splunk-attack-data/T1202-windows-sysmon.log": (24, 0, 0),
    "real/splunk-attack-data/linux-sysmon-linpeasdataset.txt": (114, 0, 0),
    "real/splunk-attack-data/T1003-test-sysmon-mixed.log": (5, 0, 0),
}


def _text_logs() -> List[str]:
    """Every .log/.txt file under real/, plus every expected one (so that a
    missing file fails instead of silently dropping out)."""
    found = set()
    real = CORPUS_DIR / "real"
    if real.is_dir():
        found = {
            p.relative_to(CORPUS_DIR).as_posix()
            for p in real.rglob("*")
            if p.is_file() and p.name.endswith((".log", ".txt"))
        }
    return sorted(found | set(EXPECTED))


@pytest.mark.parametrize("relative", _text_logs())
def test_corpus_file(corpus_dir: Path, relative: str) -> None:
    path = corpus_dir / relative
    assert relative in EXPECTED, f"{relative}: no expected figures (add its README.md row to EXPECTED)"
    assert path.is_file(), f"{relative} is listed in shared/corpus/README.md but missing"
    events, hits, matched = EXPECTED[relative]

    native = sysmon_hunt.scan(path)
    assert native.stats.events == events
    assert len(native) == hits
    assert sum(hit.count for hit in native) == matched
    assert native.stats.files == 1
    assert native.stats.bytes == path.stat().st_size

    ref = reference.scan(path)
    assert list(native) == list(ref)
    assert native.stats.events == ref.stats.events
    assert native.stats.malformed <= ref.stats.malformed


def test_the_one_real_telegram_download(corpus_dir: Path) -> None:
    """The public example event, field by field."""
    path = corpus_dir / "real/splunk-security-content/sysmon_eventid_15_example_log.log"
    (hit,) = sysmon_hunt.scan(path)
    assert hit.Computer == "project-mumbai-host"
    assert hit.EventCode == "15"
    assert hit.Image == r"C:\Users\DefaultAccount\AppData\Roaming\Telegram Desktop\Telegram.exe"
    assert hit.process_id == "7000"
    assert hit.TargetFilename == r"C:\Users\DefaultAccount\Downloads\Telegram Desktop\Good(NLA).txt:Zone.Identifier"
    assert hit.Hash.startswith("MD5=C785C55D5FA3443A11B8417209C4B524,SHA256=")
    assert hit.count == 1
    assert hit.firstTime == hit.lastTime
    assert hit.firstTime.isoformat() == "2021-04-28T20:11:34.709744+00:00"


def test_largest_file_is_independent_of_threads_and_splits(corpus_dir: Path) -> None:
    logs = [corpus_dir / r for r in EXPECTED if (corpus_dir / r).is_file()]
    largest = max(logs, key=lambda p: p.stat().st_size)
    baseline = sysmon_hunt.scan(largest, threads=1)
    for options in (
        dict(threads=2),
        dict(threads=2, split_size=4096),
        dict(threads=3, split_size=1000, chunk_size=777),
        dict(threads=1, split_size=65536, chunk_size=64),
    ):
        result = sysmon_hunt.scan(largest, **options)
        assert list(result) == list(baseline), options
        assert result.stats.events == baseline.stats.events, options
        assert (result.stats.files, result.stats.bytes) == (baseline.stats.files, baseline.stats.bytes), options


def test_whole_corpus_in_one_scan(corpus_dir: Path) -> None:
    """All text logs at once: hits merge, events add up, order does not matter."""
    logs = [corpus_dir / r for r in sorted(EXPECTED) if (corpus_dir / r).is_file()]
    together = sysmon_hunt.scan(logs, threads=2)
    assert together.stats.events == sum(EXPECTED[p.relative_to(corpus_dir).as_posix()][0] for p in logs)
    assert sum(h.count for h in together) == sum(EXPECTED[p.relative_to(corpus_dir).as_posix()][2] for p in logs)
    backwards = sysmon_hunt.scan(list(reversed(logs)), threads=2)
    assert list(backwards) == list(together)
    assert backwards.stats.events == together.stats.events
