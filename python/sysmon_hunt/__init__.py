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

from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from . import _native, exclusions
from ._native import ScanError
from ._request import ExcludeArg, InputArg, PathArg, input_list, scan_config
from .detection import ByArg
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
    "Rule",
    "BY_FIELDS",
    "COLUMNS",
    "InputArg",
    "PathArg",
]

__version__: str = _native.__version__  # Cargo.toml's version, the only one

Rule = exclusions.Rule
Progress = Callable[[int, int], object]


def scan(
    paths: Union[InputArg, Iterable[InputArg]],
    /,
    *,
    threads: int = 0,
    chunk_size: int = 0,
    split_size: int = 0,
    by: ByArg = None,
    exclude: ExcludeArg = None,
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
    answer, slower; for comparison and debugging). `evtx_prefilter=False` renders every EVTX
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
    inputs = input_list(paths)
    config, rules = scan_config(
        by,
        exclude,
        users,
        threads=threads,
        chunk_size=chunk_size,
        split_size=split_size,
        evtx_prefilter=evtx_prefilter,
    )
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable(bytes_done, bytes_total)")
    return exclusions.exclude(_native.scan(inputs, config, progress), rules)


def sample_path() -> Path:
    """The small sample log shipped with the package (made by benches/generate.py)."""
    return Path(__file__).parent / "data" / "sample.log"
