"""Type stubs of the native core (`rust/python.rs`). Use `sysmon_hunt.scan()`."""

from typing import Any, List, Optional, Tuple, Union

class ScanError(Exception):
    """A scan failed: a corrupt input or an internal error."""

HitTuple = Tuple[List[str], int, int, int]
MalformedTuple = Tuple[str, int, str]
InputTuple = Tuple[str, Optional[str], int, Optional[str], Optional[int], Optional[str]]
StatsTuple = Tuple[int, int, int, int, List[MalformedTuple], List[InputTuple], int]

def scan(
    inputs: List[Union[str, Any]], threads: int = 0, chunk_size: int = 0, split_size: int = 0
) -> Tuple[List[HitTuple], StatsTuple]:
    """`inputs`: paths (files, directories, "-" for stdin) and binary file
    objects. Hits as (by-field values, count, first_us, last_us), times in
    microseconds since the Unix epoch; stats as (files, bytes, events,
    malformed, examples, inputs, files_skipped)."""

def by_fields() -> List[str]:
    """The by-fields of the built-in detection, in output order."""
