"""Partial results: any split of any file into ranges, each scanned alone by
the core, shipped as bytes and merged in any order, gives the whole scan.

This is what a cluster scan relies on (`sysmon_hunt.dask`), checked here
without a cluster: `_native.plan_path`, `_native.scan_range` and
`_native.Partial` are the pieces its workers and client run.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from typing import List, Tuple

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import strategies as S
import sysmon_hunt
from oracle import write_files
from sysmon_hunt import _native

WHOLE_FILE = _native.WHOLE_FILE
#: Units scanned with the options of a default `scan()`.
DEFAULT = _native.ScanConfig()


def plan(paths: List[str], split_size: int = 1) -> List[_native.PlannedFile]:
    return [planned for path in paths for planned in _native.plan_path(path, split_size)]


def splittable(path: str) -> bool:
    """Whether the core reads `path` in ranges (plain UTF-8) or only whole."""
    (planned,) = _native.plan_path(path, 1)
    return planned.size > 1 and planned.ranges[0][1] != WHOLE_FILE


def shipped(partial: "_native.Partial") -> "_native.Partial":
    """`partial` after the trip a cluster gives it: pickled, then unpickled."""
    return pickle.loads(pickle.dumps(partial))


@given(files=st.lists(S.log_files(max_events=8), min_size=1, max_size=3), data=st.data())
def test_any_split_merged_in_any_order_equals_the_whole_scan(files, data) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = write_files(directory, [f.raw for f in files])
        units: List[Tuple[str, int, int, int]] = []
        for index, path in enumerate(paths):
            size = os.path.getsize(path)
            if not splittable(path):
                units.append((path, index, 0, WHOLE_FILE))
                continue
            # Any cut points, not only a regular split: ranges of any length,
            # each cut anywhere (inside `<Event`, inside `</Event>`, ...).
            cuts = data.draw(
                st.lists(st.integers(1, size - 1), unique=True, max_size=12), label=f"cuts of file {index}"
            )
            bounds = [0] + sorted(cuts) + [size]
            units.extend((path, index, start, end - start) for start, end in zip(bounds, bounds[1:]))
        order = data.draw(st.permutations(units), label="merge order")
        chunk_size = data.draw(st.sampled_from([0, 1, 7, 64]), label="chunk_size")

        config = _native.ScanConfig(chunk_size=chunk_size)
        merged = _native.Partial()
        for path, index, start, owned in order:
            merged.merge(shipped(_native.scan_range(path, index, start, owned, config)))
        split = shipped(merged).finish(plan(paths), config)
        whole = sysmon_hunt.scan(paths, threads=1)
        note(f"split: {list(split)!r} {split.stats!r}")
        note(f"whole: {list(whole)!r} {whole.stats!r}")
        assert split == whole


def test_a_regular_plan_matches_the_local_scan_at_every_split_size(tmp_path) -> None:
    """`plan_path` cuts as a local scan does; the merged ranges equal it."""
    E = S.simple_event
    raw = (E() + "\n" + E(process_id="1")[:250] + "\r\n" + E(time="2022-01-01T00:00:00Z") + E()).encode()
    path = str(tmp_path / "one.log")
    with open(path, "wb") as handle:
        handle.write(raw)
    whole = sysmon_hunt.scan(path, threads=1)
    assert (whole.stats.events, whole.stats.malformed, sum(h.count for h in whole)) == (4, 1, 3)
    for split_size in range(1, len(raw) + 2):
        (planned,) = _native.plan_path(path, split_size)
        assert (planned.path, planned.size, planned.format) == (path, len(raw), "xml")
        assert len(planned.ranges) == (1 if split_size >= len(raw) else -(-len(raw) // split_size))
        merged = _native.Partial()
        for start, owned in planned.ranges:
            merged.merge(_native.scan_range(path, 0, start, owned, DEFAULT))
        assert merged.finish([planned], DEFAULT) == whole, split_size


def test_partial_bytes_round_trip_and_refuse_garbage() -> None:
    path = str(sysmon_hunt.sample_path())
    partial = _native.scan_range(path, 0, 0, WHOLE_FILE, DEFAULT)
    data = partial.to_bytes()
    again = _native.Partial(data)
    # Groups are a hash map, so bytes differ between maps; the content may not.
    assert again.finish(plan([path]), DEFAULT) == partial.finish(plan([path]), DEFAULT)
    assert again.finish(plan([path]), DEFAULT) == sysmon_hunt.scan(path)
    assert (again.events, again.malformed) == (partial.events, partial.malformed) == (31, 1)
    assert len(pickle.dumps(partial)) < len(data) + 200
    for bad in [b"", b"junk", data[:-1], data + b"\x00", data[1:]]:
        with pytest.raises(ValueError, match="invalid partial result"):
            _native.Partial(bad)


def test_a_partial_that_does_not_fit_the_scan_is_refused() -> None:
    path = str(sysmon_hunt.sample_path())
    partial = _native.scan_range(path, 3, 0, WHOLE_FILE, DEFAULT)  # has a malformed event, in file 3
    with pytest.raises(ValueError, match="invalid partial result"):
        partial.finish(plan([path]), DEFAULT)
    with pytest.raises(ValueError, match="invalid partial result"):
        partial.finish(plan([path, path, path]), DEFAULT)
    assert partial.finish(plan([path] * 4), DEFAULT).stats.malformed_examples[0].path == path
    # Grouped by two fields, the partial's six-field groups do not fit.
    with pytest.raises(ValueError, match="invalid partial result"):
        partial.finish(plan([path] * 4), _native.ScanConfig(by=["Computer", "Hash"]))


def test_a_plan_pickles_and_names_its_fields() -> None:
    path = str(sysmon_hunt.sample_path())
    (planned,) = _native.plan_path(path, 1000)
    again = pickle.loads(pickle.dumps(planned))
    fields = ("path", "size", "ranges", "format", "skipped")
    assert [getattr(again, f) for f in fields] == [getattr(planned, f) for f in fields]
    assert (planned.path, planned.format, planned.skipped, len(planned.ranges)) == (path, "xml", None, 42)
    config = _native.ScanConfig(chunk_size=7, by=["Computer"], users=True)
    again = pickle.loads(pickle.dumps(config))
    assert (again.threads, again.chunk_size, again.by, again.users) == (0, 7, ["Computer"], True)


def test_a_compressed_file_is_never_read_in_ranges(tmp_path) -> None:
    import gzip

    path = tmp_path / "one.log.gz"
    path.write_bytes(gzip.compress(sysmon_hunt.sample_path().read_bytes()))
    (planned,) = _native.plan_path(str(path), 10)
    assert (planned.ranges, planned.format) == ([(0, WHOLE_FILE)], "gzip+xml")
    with pytest.raises(sysmon_hunt.ScanError, match="must be read whole"):
        _native.scan_range(str(path), 0, 10, 10, DEFAULT)


def test_plan_path_reports_unreadable_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        _native.plan_path(str(tmp_path / "missing.log"), 10)
    # 0 is the default split size, as for a local scan.
    sample = str(sysmon_hunt.sample_path())
    assert _native.plan_path(sample, 0)[0].ranges == _native.plan_path(sample, 32 << 20)[0].ranges
