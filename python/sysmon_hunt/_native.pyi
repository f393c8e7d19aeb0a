"""Type stubs of the native core (`rust/python.rs`). Use `sysmon_hunt.scan()`."""

from typing import List, Tuple

class ScanError(Exception):
    """A scan failed: a corrupt input or an internal error."""

HitTuple = Tuple[List[str], int, int, int]
MalformedTuple = Tuple[str, int, str]
StatsTuple = Tuple[int, int, int, int, List[MalformedTuple]]

def scan(
    paths: List[str], threads: int = 0, chunk_size: int = 0, split_size: int = 0
) -> Tuple[List[HitTuple], StatsTuple]:
    """Hits as (by-field values, count, first_us, last_us), times in microseconds
    since the Unix epoch; stats as (files, bytes, events, malformed, examples)."""

def by_fields() -> List[str]:
    """The by-fields of the built-in detection, in output order."""
