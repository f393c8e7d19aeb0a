"""Type stubs of the native core (`rust/python.rs`). Use `sysmon_hunt.scan()`."""

from typing import IO, Any, Callable, List, Optional, Tuple, Union

from .results import ScanResult

class ScanError(Exception):
    """A scan failed: a corrupt input or an internal error."""

#: The crate version (Cargo.toml), which the wheel metadata also carries.
__version__: str

#: Constants the core and Python share, defined once in the core.
BY_V1: Tuple[str, ...]
BY_V3: Tuple[str, ...]
STATS_COLUMNS: Tuple[str, ...]
MAX_MALFORMED_EXAMPLES: int
#: The owned_len of a unit that is a whole file (2**64 - 1).
WHOLE_FILE: int

class ScanConfig:
    """How to scan; the options every unit of a scan shares. Raises
    ValueError for a bad by-field name."""

    def __init__(
        self,
        *,
        threads: int = 0,
        chunk_size: int = 0,
        split_size: int = 0,
        by: Optional[List[str]] = None,
        users: bool = False,
        evtx_prefilter: bool = True,
    ) -> None: ...
    @property
    def threads(self) -> int: ...
    @property
    def chunk_size(self) -> int: ...
    @property
    def split_size(self) -> int: ...
    @property
    def by(self) -> Optional[List[str]]: ...
    @property
    def users(self) -> bool: ...
    @property
    def evtx_prefilter(self) -> bool: ...

def scan(
    inputs: List[Union[str, IO[bytes]]],
    config: ScanConfig,
    progress: Optional[Callable[[int, int], object]] = None,
) -> ScanResult:
    """`inputs`: paths (files, directories, "-" for stdin) and binary file
    objects. The result has no exclusions applied. `progress(bytes_done,
    bytes_total)` is called about every 100 ms and at the end."""

class PlannedFile:
    """One file of a cluster scan's plan."""

    def __init__(
        self, path: str, size: int, ranges: List[Tuple[int, int]], format: Optional[str], skipped: Optional[str]
    ) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def ranges(self) -> List[Tuple[int, int]]:
        """Units as (start, owned_len); owned_len is WHOLE_FILE for a whole file."""
    @property
    def format(self) -> Optional[str]:
        """The detected format, as `stats.inputs` names it; None if skipped."""
    @property
    def skipped(self) -> Optional[str]:
        """Why a file found in a directory was skipped (it has no units)."""

def plan_path(path: str, split_size: int = 0) -> List[PlannedFile]:
    """The files `path` names (a directory walked as a local scan walks it),
    each cut into the units a scan cuts it into (`split_size` 0: the default)."""

def scan_range(path: str, file_index: int, start: int, owned_len: int, config: ScanConfig) -> Partial:
    """Scans the events of `path` whose `<Event` starts lie in
    [start, start + owned_len); the file is number `file_index` of the
    scan's files. Every unit of a scan uses the same `config`."""

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
    def finish(self, plan: List[PlannedFile], config: ScanConfig) -> ScanResult:
        """The result, as `scan()` returns it (no exclusions applied), of a
        scan of the files `plan` lists (skipped ones included, in input
        order) whose units were scanned with `config`."""

class PendingHits:
    """A scan's hits as the core returns them; `ScanResult` builds them on
    first access."""

    def __len__(self) -> int: ...
    def build(self) -> Tuple[Tuple[Any, ...], ...]:
        """The hits as `results.hit_type(by_fields)` named tuples."""

def csv_records(rows: List[List[str]]) -> str:
    """`rows` (each with at least one field) as CSV text, as Python's
    `csv.writer(out, lineterminator="\\r\\n")` writes them."""
