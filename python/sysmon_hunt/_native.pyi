"""Type stubs of the native core (`rust/python.rs`). Use `sysmon_hunt.scan()`."""

from typing import Any, Callable, List, Optional, Tuple, Union

class ScanError(Exception):
    """A scan failed: a corrupt input or an internal error."""

HitTuple = Tuple[List[str], int, int, int, List[str]]
MalformedTuple = Tuple[str, int, str]
InputTuple = Tuple[str, Optional[str], int, Optional[str], Optional[int], Optional[str]]
StatsTuple = Tuple[int, int, int, int, List[MalformedTuple], List[InputTuple], int]
PlannedFile = Tuple[str, int, List[Tuple[int, int]], Optional[str], Optional[str]]

def scan(
    inputs: List[Union[str, Any]],
    threads: int = 0,
    chunk_size: int = 0,
    split_size: int = 0,
    by: Optional[List[str]] = None,
    users: bool = False,
    progress: Optional[Callable[[int, int], object]] = None,
    evtx_prefilter: bool = True,
) -> Tuple[List[HitTuple], StatsTuple]:
    """`inputs`: paths (files, directories, "-" for stdin) and binary file
    objects. Hits as (by-field values, count, first_us, last_us, users),
    times in microseconds since the Unix epoch, users the sorted distinct
    `User` values (empty unless `users`); stats as (files, bytes, events,
    malformed, examples, inputs, files_skipped). `progress(bytes_done,
    bytes_total)` is called about every 100 ms and at the end."""

def by_fields(by: Optional[List[str]] = None) -> List[str]:
    """The by-fields of the built-in detection, or `by` checked (ValueError if bad)."""

#: The owned_len of a unit that is a whole file (2**64 - 1).
WHOLE_FILE: int

def plan_path(path: str, split_size: int) -> List[PlannedFile]:
    """The files `path` names (a directory walked as a local scan walks it)
    as (path, size, [(start, owned_len)], format, skipped): the units a scan
    cuts each into (owned_len 2**64 - 1 for a whole file), the detected
    format as `stats.inputs` names it, and why a file found in a directory
    was skipped (no units, format None)."""

def scan_range(
    path: str,
    file_index: int,
    start: int,
    owned_len: int,
    chunk_size: int = 0,
    by: Optional[List[str]] = None,
    users: bool = False,
) -> Partial:
    """Scans the events of `path` whose `<Event` starts lie in
    [start, start + owned_len); the file is number `file_index` of the scan.
    `by` and `users` as for `scan()`; every unit of a scan uses the same."""

class Partial:
    """A mergeable partial result; pickles as its compact bytes."""

    def __init__(self, data: Optional[bytes] = None) -> None: ...
    def to_bytes(self) -> bytes: ...
    def merge(self, other: Partial) -> None:
        """Folds `other` in: count +, first min, last max, stats summed."""
    @property
    def events(self) -> int: ...
    @property
    def malformed(self) -> int: ...
    def finish(
        self,
        paths: List[str],
        sizes: List[int],
        formats: Optional[List[str]] = None,
        by: Optional[List[str]] = None,
    ) -> Tuple[List[HitTuple], StatsTuple]:
        """(hits, stats) as `scan()` returns them, for files numbered as
        `paths` whose units were scanned with `by`; `formats` (from the
        plan) fill `stats.inputs`."""
