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
from typing import IO, Iterable, List, Union

from . import _native
from ._native import ScanError
from .results import (
    BY_FIELDS,
    COLUMNS,
    Hit,
    InputStats,
    MalformedEvent,
    ScanResult,
    ScanStats,
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
    "BY_FIELDS",
    "COLUMNS",
]

__version__ = "0.1.0"

PathArg = Union[str, "os.PathLike[str]"]
#: A path, or a binary file object (anything with ``read(n) -> bytes``).
InputArg = Union[PathArg, IO[bytes]]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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
) -> ScanResult:
    """Run the detection over Sysmon logs: XML (UTF-8/UTF-16, plain, gzip or
    zstd) and binary EVTX, the format sniffed from the bytes.

    `paths` is one input or an iterable of them: a file, a directory (walked
    recursively), ``"-"`` for standard input, or a binary file object. `threads=0` uses every core,
    `threads=1` scans on one. `chunk_size` (bytes per read) and `split_size`
    (bytes per parallel unit) are tuning knobs; 0 picks the defaults.

    Returns the hits ordered by their by-field values, with `.stats`. Raises
    `FileNotFoundError`/`PermissionError`/`OSError` for unreadable files
    (before scanning anything), `ScanError` for an EVTX file with a broken
    header, and `KeyboardInterrupt` when interrupted (the scan stops within
    a second). A corrupt or truncated compressed stream is not an error: what
    came before the damage is scanned and `stats.inputs` says where it is.
    """
    path_list = _path_list(paths)
    native = _native.scan(
        path_list,
        _check_size("threads", threads),
        _check_size("chunk_size", chunk_size),
        _check_size("split_size", split_size),
    )
    return _result_from_native(native)


def _result_from_native(native) -> ScanResult:
    """The `ScanResult` of the core's `(hits, stats)` tuples (from a local
    scan, or from merged partial results of a distributed one)."""
    raw_hits, (files, nbytes, events, malformed, examples, inputs, skipped) = native
    hits = [
        Hit(*values, count, _EPOCH + timedelta(microseconds=first), _EPOCH + timedelta(microseconds=last))
        for values, count, first, last in raw_hits
    ]
    stats = ScanStats(
        files=files,
        bytes=nbytes,
        events=events,
        malformed=malformed,
        malformed_examples=tuple(MalformedEvent(*example) for example in examples),
        inputs=tuple(InputStats(*entry) for entry in inputs),
        files_skipped=skipped,
    )
    return ScanResult(hits, stats)


def sample_path() -> Path:
    """The small sample log shipped with the package (made by benches/generate.py)."""
    return Path(__file__).parent / "data" / "sample.log"
