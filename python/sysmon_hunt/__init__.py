"""sysmon-hunt: Splunk's "Download Files Using Telegram" detection (ATT&CK T1105)
over raw Windows Sysmon XML logs, with a Rust core.

    >>> import sysmon_hunt
    >>> result = sysmon_hunt.scan("windows-sysmon.log")          # doctest: +SKIP
    >>> for hit in result:                                        # doctest: +SKIP
    ...     print(hit.Computer, hit.TargetFilename, hit.count, hit.firstTime)

`scan()` is a thin layer over the native core; `sysmon_hunt.reference.scan()`
is the slow pure-Python oracle with the same signature and result, and
`sysmon_hunt.dask.scan()` gives the same result on a Dask cluster.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Callable, Iterable, List, Optional, Sequence, Tuple, Union

from . import _native
from . import exclusions
from ._native import ScanError
from .detection import ByArg, by_field_names
from .results import (
    BY_FIELDS,
    COLUMNS,
    Hit,
    InputStats,
    MalformedEvent,
    ScanResult,
    ScanStats,
    hit_type,
)

__all__ = [
    "scan",
    "sample_path",
    "Hit",
    "ScanResult",
    "ScanStats",
    "MalformedEvent",
    "InputStats",
    "ScanError",
    "Rule",
    "BY_FIELDS",
    "COLUMNS",
]

__version__ = "0.1.0"

PathArg = Union[str, "os.PathLike[str]"]
#: A path, or a binary file object (anything with ``read(n) -> bytes``).
InputArg = Union[PathArg, IO[bytes]]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Rule = exclusions.Rule
Progress = Callable[[int, int], object]


def _is_stream(value: object) -> bool:
    return hasattr(value, "read") and not isinstance(value, (str, bytes, os.PathLike))


def _path_list(paths: Union[InputArg, Iterable[InputArg]]) -> list:
    """One input or an iterable of them, as a list of `str` paths and binary
    file objects (a `str` is one path, a file object one input)."""
    if isinstance(paths, (str, bytes, os.PathLike)) or _is_stream(paths):
        paths = [paths]
    result: list = []
    for path in paths:
        if _is_stream(path):
            result.append(path)
        elif isinstance(path, (str, bytes, os.PathLike)):
            result.append(os.fsdecode(path))
        else:
            raise TypeError(f"expected a path (str or os.PathLike) or a binary file object, got {type(path).__name__}")
    return result


def _check_size(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def scan(
    paths: Union[InputArg, Iterable[InputArg]],
    /,
    *,
    threads: int = 0,
    chunk_size: int = 0,
    split_size: int = 0,
    by: ByArg = None,
    exclude: Union[None, exclusions.RuleArg, Iterable[exclusions.RuleArg]] = None,
    users: bool = False,
    progress: Optional[Progress] = None,
    evtx_prefilter: bool = True,
) -> ScanResult:
    """Run the detection over Sysmon logs: XML (UTF-8/UTF-16, plain, gzip or
    zstd) and binary EVTX, the format sniffed from the bytes.

    `paths` is one input or an iterable of them: a file, a directory (walked
    recursively), ``"-"`` for standard input, or a binary file object. `threads=0` uses every core,
    `threads=1` scans on one. `chunk_size` (bytes per read) and `split_size`
    (bytes per parallel unit) are tuning knobs; 0 picks the defaults.

    `by` picks the by-fields: ``"v1"`` (None, the default), ``"v3"``, a
    comma-separated string or a sequence of field names; hits then carry
    those fields in that order. `exclude` holds exclusion rules applied to
    the hits (see `sysmon_hunt.exclusions`); `stats.excluded` counts the hits
    they removed. `users=True` also collects each hit's distinct `User`
    values (`result.users`, needed by `result.risk_events()`).
    `progress(bytes_done, bytes_total)` is called about ten times a second
    while the scan runs, and once at the end; an exception it raises stops
    the scan and propagates. `evtx_prefilter=False` renders every EVTX
    record to XML instead of only those whose bytes could match (the same
    answer, slower; for comparison and debugging).

    Returns the hits ordered by their by-field values, with `.stats`. Raises
    `FileNotFoundError`/`PermissionError`/`OSError` for unreadable files
    (before scanning anything), `ValueError` for an unknown by-field or a
    bad rule, `ScanError` for an EVTX file with a broken header, and
    `KeyboardInterrupt` when interrupted (the scan stops within a second).
    A corrupt or truncated compressed stream is not an error: what came
    before the damage is scanned and `stats.inputs` says where it is.
    """
    path_list = _path_list(paths)
    by_fields, rules = _grouping(by, exclude)
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable(bytes_done, bytes_total)")
    native = _native.scan(
        path_list,
        _check_size("threads", threads),
        _check_size("chunk_size", chunk_size),
        _check_size("split_size", split_size),
        list(by_fields),
        bool(users),
        progress,
        bool(evtx_prefilter),
    )
    return _result_from_native(native, by_fields, users, rules)


def _grouping(
    by: ByArg, exclude: Union[None, exclusions.RuleArg, Iterable[exclusions.RuleArg]]
) -> Tuple[Tuple[str, ...], List[exclusions.Rule]]:
    """The checked by-field names and exclusion rules of a scan, so that a
    bad name or rule fails before any file is read."""
    by_fields = tuple(_native.by_fields(list(by_field_names(by))))
    rules = exclusions.as_rules(exclude)
    exclusions.check(rules, by_fields)
    hit_type(by_fields)  # a name that cannot name a field fails here too
    return by_fields, rules


def _result_from_native(
    native,
    by_fields: Tuple[str, ...] = BY_FIELDS,
    users: bool = False,
    rules: Sequence[exclusions.Rule] = (),
) -> ScanResult:
    """The `ScanResult` of the core's `(hits, stats)` tuples (from a local
    scan, or from merged partial results of a distributed one), grouped by
    `by_fields`, with users if they were collected, and `rules` applied."""
    raw_hits, (files, nbytes, events, malformed, examples, inputs, skipped) = native
    hit_class = hit_type(by_fields)
    hits = [
        hit_class(*values, count, _EPOCH + timedelta(microseconds=first), _EPOCH + timedelta(microseconds=last))
        for values, count, first, last, _ in raw_hits
    ]
    hit_users = [tuple(u) for *_, u in raw_hits] if users else None
    hits, hit_users, excluded = exclusions.apply(hits, hit_users, rules, by_fields)
    stats = ScanStats(
        files=files,
        bytes=nbytes,
        events=events,
        malformed=malformed,
        malformed_examples=tuple(MalformedEvent(*example) for example in examples),
        excluded=excluded,
        inputs=tuple(InputStats(*entry) for entry in inputs),
        files_skipped=skipped,
    )
    return ScanResult(hits, stats, by_fields=by_fields, users=hit_users)


def sample_path() -> Path:
    """The small sample log shipped with the package (made by benches/generate.py)."""
    return Path(__file__).parent / "data" / "sample.log"
