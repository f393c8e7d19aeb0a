"""Type stubs of the native core (`rust/python.rs`). Use `sysmon_hunt.scan()`."""

from typing import Callable, List, Optional, Tuple

class ScanError(Exception):
    """A scan failed: a corrupt input or an internal error."""

HitTuple = Tuple[List[str], int, int, int, List[str]]
MalformedTuple = Tuple[str, int, str]
StatsTuple = Tuple[int, int, int, int, List[MalformedTuple]]

def scan(
    paths: List[str],
    threads: int = 0,
    chunk_size: int = 0,
    split_size: int = 0,
    by: Optional[List[str]] = None,
    users: bool = False,
    progress: Optional[Callable[[int, int], object]] = None,
) -> Tuple[List[HitTuple], StatsTuple]:
    """Hits as (by-field values, count, first_us, last_us, users), times in
    microseconds since the Unix epoch, users the sorted distinct `User` values
    (empty unless `users`); stats as (files, bytes, events, malformed, examples).
    `progress(bytes_done, bytes_total)` is called about every 100 ms and at the end."""

def by_fields(by: Optional[List[str]] = None) -> List[str]:
    """The by-fields of the built-in detection, or `by` checked (ValueError if bad)."""
