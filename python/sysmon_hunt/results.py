"""Result types shared by the native scanner and the pure-Python reference.

Both implementations return the same `ScanResult`, so a test can compare them
with `==` and a caller never needs to know which one produced it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator, NamedTuple, Optional, Sequence, Tuple, overload

#: The by-fields of the detection, in Splunk's column order.
BY_FIELDS: Tuple[str, ...] = (
    "Computer",
    "EventCode",
    "Image",
    "process_id",
    "TargetFilename",
    "Hash",
)

#: Every output column, in Splunk's order.
COLUMNS: Tuple[str, ...] = BY_FIELDS + ("count", "firstTime", "lastTime")


class Hit(NamedTuple):
    """One output row of `stats count min(_time) max(_time) by ...`."""

    Computer: str
    EventCode: str
    Image: str
    process_id: str
    TargetFilename: str
    Hash: str
    count: int
    firstTime: datetime
    lastTime: datetime


class MalformedEvent(NamedTuple):
    """Where a malformed event starts and why it was rejected.

    `offset` is the byte offset of its `<Event` in the file's decoded stream:
    the file offset for plain UTF-8 files, the offset in the decompressed
    bytes for gzip, and the offset in the UTF-8 transcoding for UTF-16.
    """

    path: str
    offset: int
    reason: str


class InputStats(NamedTuple):
    """What became of one input (a file, a file found in a directory, or a stream).

    `format` is what its bytes were detected to be: ``xml``, ``xml-utf16le``,
    ``xml-utf16be``, the same prefixed with ``gzip+`` or ``zstd+``, or
    ``evtx``; None when it was skipped. `skipped` says why a file found in a
    directory was not scanned. `damaged_at` and `damage` are set when a
    compressed stream is corrupt or truncated: everything before that offset
    of the decompressed stream was scanned and counts.
    """

    path: str
    format: Optional[str]
    #: Bytes read from disk or the stream.
    bytes: int
    skipped: Optional[str] = None
    damaged_at: Optional[int] = None
    damage: Optional[str] = None


class ScanStats(NamedTuple):
    #: Files (and streams) scanned.
    files: int
    #: Bytes read from disk (compressed size for gzip files).
    bytes: int
    #: `<Event` starts seen. Exact and identical across implementations.
    events: int
    #: Events found malformed (see DETECTION.md "Counting").
    malformed: int
    #: The first few malformed events, in file order then offset order.
    malformed_examples: Tuple[MalformedEvent, ...]
    #: Every input, scanned or skipped, in the order given (directories
    #: expanded in place, their files sorted by name).
    inputs: Tuple[InputStats, ...] = ()
    #: Files found in directories and not scanned (listed in `inputs`).
    files_skipped: int = 0


class ScanResult(Sequence[Hit]):
    """The hits of a scan, ordered by their by-field values, plus `stats`."""

    __slots__ = ("_hits", "stats")

    def __init__(self, hits: Sequence[Hit], stats: ScanStats) -> None:
        self._hits: Tuple[Hit, ...] = tuple(hits)
        self.stats = stats

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> Tuple[Hit, ...]: ...
    def __getitem__(self, index):
        return self._hits[index]

    def __len__(self) -> int:
        return len(self._hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self._hits)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScanResult):
            return self._hits == other._hits and self.stats == other.stats
        return NotImplemented

    def __repr__(self) -> str:
        return f"ScanResult({len(self._hits)} hits, {self.stats!r})"


#: How many malformed events a scan reports by location.
MAX_MALFORMED_EXAMPLES = 10
