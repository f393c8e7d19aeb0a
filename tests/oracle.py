"""The property tests' oracle: the native scanner checked against the
pure-Python reference, which runs once per example.

For any input the native `scan()` must give exactly the reference's hits and
`events`, the same `files` and `bytes`, and a `malformed` count between the
number of unterminated events (which every implementation must count) and
the reference's count (the native prefilter may skip checking events that
cannot match). Its malformed examples must be events the reference also
finds malformed, in (file, offset) order.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List, Sequence, Tuple

from hypothesis import note
from hypothesis.control import currently_in_test_context

import sysmon_hunt
from sysmon_hunt import reference
from sysmon_hunt.detection import ByArg, by_field_names
from sysmon_hunt.results import MAX_MALFORMED_EXAMPLES, ScanResult


class ReferenceRun(reference.Scan):
    """The reference scan, remembering every malformed event (not only the
    first few) and which of them are unterminated."""

    def __init__(self, by: ByArg = None, users: bool = False) -> None:
        super().__init__(by_field_names(by), users)
        self.every: List[Tuple[str, int]] = []
        self.unterminated: List[Tuple[str, int]] = []

    def add_event(self, path: str, framed: reference.Framed) -> None:
        if framed.data is None:
            self.unterminated.append((path, framed.offset))
        super().add_event(path, framed)

    def add_malformed(self, path: str, offset: int, reason: str) -> None:
        super().add_malformed(path, offset, reason)
        self.every.append((path, offset))


def reference_run(paths: Sequence[str], by: ByArg = None, users: bool = False) -> ReferenceRun:
    """The reference's scan of `paths`, once; `.result()` is `reference.scan(paths, by=by, users=users)`."""
    run = ReferenceRun(by, users)
    for path in paths:
        run.add_file(path, Path(path).read_bytes())
    return run


def write_files(directory: str, raws: Sequence[bytes]) -> List[str]:
    paths = []
    for i, raw in enumerate(raws):
        path = os.path.join(directory, f"f{i}.log")
        with open(path, "wb") as handle:
            handle.write(raw)
        paths.append(path)
    return paths


def check_against_reference(
    paths: Sequence[str], threads: int, chunk_size: int, split_size: int
) -> Tuple[ScanResult, ScanResult]:
    """Scan natively and with the reference; assert the contract between them."""
    native = sysmon_hunt.scan(paths, threads=threads, chunk_size=chunk_size, split_size=split_size)
    run = reference_run(paths)
    ref = run.result()
    if currently_in_test_context():
        note(f"native: {list(native)!r} {native.stats!r}")
        note(f"reference: {list(ref)!r} {ref.stats!r}")
    assert list(native) == list(ref)
    assert native.stats.events == ref.stats.events
    assert native.stats.files == ref.stats.files == len(paths)
    assert native.stats.bytes == ref.stats.bytes

    must = run.unterminated
    assert len(must) <= native.stats.malformed <= ref.stats.malformed

    # Examples: the first min(10, malformed) of the native's malformed
    # events, in (file, offset) order, each one the reference finds malformed
    # too, and including every unterminated event that comes before the last.
    order = {path: i for i, path in enumerate(paths)}
    key = lambda item: (order[item[0]], item[1])  # noqa: E731
    examples = [(m.path, m.offset) for m in native.stats.malformed_examples]
    assert len(examples) == min(native.stats.malformed, MAX_MALFORMED_EXAMPLES)
    assert examples == sorted(examples, key=key)
    assert set(examples) <= set(run.every)
    for m in native.stats.malformed_examples:
        assert isinstance(m.reason, str) and m.reason
    if native.stats.malformed <= MAX_MALFORMED_EXAMPLES:
        assert set(must) <= set(examples)
    else:
        assert {u for u in must if key(u) < key(examples[-1])} <= set(examples)
    if native.stats.malformed == ref.stats.malformed:
        assert examples == [(m.path, m.offset) for m in ref.stats.malformed_examples]
    return native, ref


def check_bytes(
    raw: bytes, threads: int = 0, chunk_size: int = 0, split_size: int = 0
) -> Tuple[ScanResult, ScanResult]:
    with tempfile.TemporaryDirectory() as directory:
        paths = write_files(directory, [raw])
        return check_against_reference(paths, threads, chunk_size, split_size)
