"""The hits of a native `ScanResult` are made into Python objects on first
access (`rust/python_hits.rs`): whatever is asked first, and however often,
the result is the one the reference builds eagerly."""

from __future__ import annotations

import gc
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, List

import pytest

import sysmon_hunt
from events import sysmon_event
from sysmon_hunt import reference
from sysmon_hunt.results import Hit, ScanResult

#: Ways to read a result first; each must see the same hits.
FIRST_READS: List[Callable[[ScanResult], Any]] = [
    list,
    lambda r: r[0],
    lambda r: r[-2:],
    lambda r: r == reference.scan(sysmon_hunt.sample_path()),
    lambda r: r.to_pandas() if _has_pandas() else list(r),
    lambda r: pickle.loads(pickle.dumps(r)),
    lambda r: sysmon_hunt.exclusions.exclude(r, sysmon_hunt.exclusions.parse_rules("Computer=nothing")),
]


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("first_read", FIRST_READS)
def test_the_hits_are_the_same_whatever_is_read_first(first_read: Callable[[ScanResult], Any]) -> None:
    native = sysmon_hunt.scan(sysmon_hunt.sample_path())
    assert len(native) == 6 and "6 hits" in repr(native)
    first_read(native)
    expected = reference.scan(sysmon_hunt.sample_path())
    assert native == expected
    assert list(native) == list(expected) and all(type(h) is Hit for h in native)
    # Made once: the same objects on every later access.
    assert native[0] is native[0] and list(native)[5] is native[5]


@pytest.mark.parametrize("by", [None, "v3", ["Hash", "Computer"]])
def test_a_pickled_result_is_equal_and_keeps_its_options(by: Any) -> None:
    native = sysmon_hunt.scan(sysmon_hunt.sample_path(), users=True, by=by)
    again = pickle.loads(pickle.dumps(native))
    assert again == native and again.users == native.users and again.by_fields == native.by_fields
    assert [type(hit) for hit in again] == [type(hit) for hit in native]
    assert again[0]._fields == native.columns


def test_building_leaves_the_garbage_collector_as_it_was() -> None:
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            list(sysmon_hunt.scan(sysmon_hunt.sample_path()))
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


def test_the_times_at_the_edges_of_the_calendar_are_exact(tmp_path: Path) -> None:
    times = [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00.0000009Z",
        "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00.000001Z",
        "2000-02-29T12:34:56.5Z",
        "2024-02-29T23:59:59.9999999Z",
        "9999-12-31T23:59:59.9999999Z",
    ]
    log = tmp_path / "times.log"
    log.write_text(
        "\n".join(sysmon_event(layout="bare", time=t, process_id=str(i)) for i, t in enumerate(times)) + "\n",
        encoding="utf-8",
    )
    native = sysmon_hunt.scan(log)
    assert native == reference.scan(log)
    by_pid = {hit.process_id: hit for hit in native}
    assert by_pid["0"].firstTime == datetime(1, 1, 1, tzinfo=timezone.utc)
    assert by_pid["2"].firstTime == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert by_pid["4"].lastTime == datetime(2000, 2, 29, 12, 34, 56, 500000, tzinfo=timezone.utc)
    assert by_pid["6"].lastTime == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    for hit in native:
        assert hit.firstTime.tzinfo is timezone.utc and hit.firstTime.utcoffset().total_seconds() == 0
        # The objects behave as any datetime: arithmetic, formatting, pickling.
        assert datetime.fromisoformat(hit.firstTime.isoformat()) == hit.firstTime
        assert pickle.loads(pickle.dumps(hit.lastTime)) == hit.lastTime


def test_threads_reading_a_fresh_result_at_once_see_the_same_hits(tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    log.write_text(
        "\n".join(
            sysmon_event(layout="bare", process_id=str(i), target=f"C:\\d\\{i}.txt:Zone.Identifier")
            for i in range(3000)
        )
        + "\n",
        encoding="utf-8",
    )
    expected = reference.scan(log)

    def read(result: ScanResult, start: threading.Barrier) -> List[Hit]:
        start.wait()
        return list(result)

    for _ in range(5):
        native = sysmon_hunt.scan(log)
        start = threading.Barrier(6)
        with ThreadPoolExecutor(6) as pool:
            seen = list(pool.map(read, [native] * 6, [start] * 6))
        assert all(hits == list(expected) for hits in seen)
        # Whoever built them first, every thread got the kept objects.
        assert all(all(a is b for a, b in zip(hits, native)) for hits in seen)
