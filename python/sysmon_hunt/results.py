"""Result types shared by the native scanner and the pure-Python reference.

Both implementations return the same `ScanResult`, so a test can compare them
with `==` and a caller never needs to know which one produced it.
"""

from __future__ import annotations

import functools
import keyword
from collections import namedtuple
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union, cast, overload

from . import _native

#: The by-fields of the detection (v1), in Splunk's column order.
BY_FIELDS: Tuple[str, ...] = _native.BY_V1

#: The statistics columns after the by-fields.
STATS_COLUMNS: Tuple[str, ...] = _native.STATS_COLUMNS

#: Every output column, in Splunk's order.
COLUMNS: Tuple[str, ...] = BY_FIELDS + STATS_COLUMNS


#: A hit of any grouping: a named tuple of the by-fields, then the statistics.
HitRow = Tuple[Any, ...]


class Hit(NamedTuple):
    """One output row of `stats count min(_time) max(_time) by ...`."""

    Computer: str
    EventCode: str
    Image: str
    process_id: str
    TargetFilename: str
    Hash: str
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, as Splunk names it
    firstTime: datetime
    lastTime: datetime


@functools.lru_cache(maxsize=64)
def hit_type(by_fields: Tuple[str, ...]) -> Callable[..., HitRow]:
    """The named-tuple class of hits grouped by `by_fields`: those fields in
    that order, then `count, firstTime, lastTime`. `Hit` for the default
    by-fields; one class per by-field list, made once."""
    if by_fields == BY_FIELDS:
        return Hit
    for name in by_fields:
        if keyword.iskeyword(name):
            raise ValueError(f"by-field {name!r}: a Python keyword cannot name a field of Hit")
    return namedtuple("Hit", by_fields + STATS_COLUMNS)


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
    #: Events found malformed (see docs/semantics.md, "Counting").
    malformed: int
    #: The first few malformed events, in file order then offset order.
    malformed_examples: Tuple[MalformedEvent, ...]
    #: Hits removed by exclusion rules (the detection's filter macro).
    excluded: int = 0
    #: Every input, scanned or skipped, in the order given (directories
    #: expanded in place, their files sorted by name).
    inputs: Tuple[InputStats, ...] = ()
    #: Files found in directories and not scanned (listed in `inputs`).
    files_skipped: int = 0
    #: JSON records read (non-blank lines, array elements), see docs/json.md.
    json_records: int = 0
    #: JSON records recognised as Windows events. The core counts them among
    #: the records that could match (a lower bound); the reference, exactly.
    json_events: int = 0


class ScanResult(Sequence[Hit]):
    """The hits of a scan, ordered by their by-field values, plus `stats`.

    `by_fields` names the hits' grouping fields (`columns` adds the
    statistics); `users` is, per hit, the sorted distinct `User` values of
    its events when the scan collected them (``users=True``), else None.

    A native scan hands its hits over as the core returns them; their
    Python objects are made the first time the hits are read, and kept
    (``len()``, ``repr()`` and ``stats`` do not need them). A scan with
    tens of thousands of distinct hits returns sooner, and a caller that
    reads only the counts never pays for the objects.
    """

    __slots__ = ("_built", "_pending", "stats", "by_fields", "users")

    def __init__(
        self,
        hits: Union[Sequence[HitRow], _native.PendingHits],
        stats: ScanStats,
        *,
        by_fields: Tuple[str, ...] = BY_FIELDS,
        users: Optional[Sequence[Tuple[str, ...]]] = None,
    ) -> None:
        # Hits grouped by other by-fields are named tuples of their own
        # (`hit_type`); they are typed as `Hit`, the default grouping.
        self._built: Optional[Tuple[Hit, ...]] = None
        self._pending: Optional[_native.PendingHits] = None
        if isinstance(hits, _native.PendingHits):
            self._pending = hits
        else:
            self._built = cast(Tuple[Hit, ...], tuple(hits))
        self.stats = stats
        self.by_fields: Tuple[str, ...] = tuple(by_fields)
        self.users: Optional[Tuple[Tuple[str, ...], ...]] = None if users is None else tuple(map(tuple, users))
        if self.users is not None and len(self.users) != len(self):
            raise ValueError("users must have one entry per hit")

    @property
    def _hits(self) -> Tuple[Hit, ...]:
        """The hits' objects, made on first use from the native ones."""
        built = self._built
        if built is None:
            # Read once: another thread may build them meanwhile. It sets
            # `_built` before it drops `_pending`, and the first set wins.
            pending = self._pending
            if pending is not None:
                fresh = cast(Tuple[Hit, ...], pending.build())
                if self._built is None:
                    self._built = fresh
                self._pending = None  # frees the core's copy
            built = self._built
            assert built is not None
        return built

    @property
    def columns(self) -> Tuple[str, ...]:
        """Every output column: the by-fields, then `count, firstTime, lastTime`."""
        return self.by_fields + STATS_COLUMNS

    def risk_events(self) -> List[Dict[str, Any]]:
        """One Splunk risk event (RBA) per hit, as dicts; needs ``users=True``."""
        from .risk import risk_events

        return risk_events(self)

    def to_html(self, **options: object) -> str:
        """A self-contained HTML report of the result (`sysmon_hunt.report`);
        needs Jinja2 (``pip install 'sysmon-hunt[html]'``)."""
        from .report import render_html

        return render_html(self, **options)

    def to_pandas(self) -> Any:
        """The hits as a pandas DataFrame, one column per entry of `columns`
        (with `users` last when they were collected); needs pandas.
        ``pandas.DataFrame(result)`` gives the same columns but `users`."""
        try:
            import pandas
        except ImportError as error:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from error
        frame = pandas.DataFrame.from_records(self._hits, columns=list(self.columns))
        if self.users is not None:
            frame["users"] = list(self.users)
        return frame

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> Tuple[Hit, ...]: ...
    def __getitem__(self, index: Union[int, slice]) -> Union[Hit, Tuple[Hit, ...]]:
        return self._hits[index]

    def __len__(self) -> int:
        pending = self._pending
        return len(self._hits) if pending is None else len(pending)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self._hits)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScanResult):
            return (self._hits, self.stats, self.by_fields, self.users) == (
                other._hits,
                other.stats,
                other.by_fields,
                other.users,
            )
        return NotImplemented

    def __repr__(self) -> str:
        return f"ScanResult({len(self)} hits, {self.stats!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickles (for Dask, multiprocessing) with its hits built, as plain
        # tuples: the named-tuple class of other by-fields is made at run
        # time, so pickle could not find it by name.
        rows = tuple(map(tuple, self._hits))
        return (_unpickle_result, (rows, self.stats, self.by_fields, self.users))


def _unpickle_result(
    rows: Sequence[HitRow],
    stats: ScanStats,
    by_fields: Tuple[str, ...],
    users: Optional[Sequence[Tuple[str, ...]]],
) -> ScanResult:
    make_hit = hit_type(by_fields)
    return ScanResult([make_hit(*row) for row in rows], stats, by_fields=by_fields, users=users)


#: How many malformed events a scan reports by location.
MAX_MALFORMED_EXAMPLES: int = _native.MAX_MALFORMED_EXAMPLES
