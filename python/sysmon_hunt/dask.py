"""Scanning on a Dask cluster, with exactly the answer of a local `scan()`.

    >>> from distributed import Client                           # doctest: +SKIP
    >>> import sysmon_hunt.dask
    >>> with Client("tcp://scheduler:8786") as client:           # doctest: +SKIP
    ...     result = sysmon_hunt.dask.scan(paths, client=client)

The work is cut as a local scan cuts it, only coarser: each input becomes
units (a byte range of a large plain UTF-8 file, where an event belongs to
the range that holds its `<Event` start; a whole small, compressed or UTF-16
file). Workers plan and scan the units with the Rust core, reading the files
by path themselves (a shared filesystem, or the same files at the same paths
on every worker), and send back partial results as compact bytes, which the
client merges exactly (count +, first min, last max, stats summed).

A unit that fails (an unreadable file, or one that changed since it was
planned) costs only its own share: the others are still merged, and
`IncompleteScanError` is raised at the end with the merged result and each
failure's file and byte range. A damaged compressed stream is not a failure:
as in a local scan, what came before the damage counts and `stats.inputs`
says where it is.

Dask is optional (``pip install 'sysmon-hunt[dask]'``): it is imported only
when a cluster is used.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

from . import _native, exclusions
from ._native import ScanError
from ._request import ExcludeArg, PathArg, input_list, scan_config
from .detection import ByArg
from .results import ScanResult

__all__ = ["scan", "connect", "WorkUnit", "UnitFailure", "IncompleteScanError", "DEFAULT_SPLIT_BYTES"]

#: Bytes per unit of a large plain file: big enough that a unit's round trip
#: to a worker is negligible, small enough to spread a file over many workers.
DEFAULT_SPLIT_BYTES = 256 * 2**20

#: The `owned_len` of a unit that is a whole file.
WHOLE_FILE: int = _native.WHOLE_FILE

#: Options of a local `scan()` that mean nothing on a cluster, and why.
_LOCAL_ONLY = {
    "threads": "each worker scans one unit per Dask thread; size the cluster instead",
    "split_size": "use split_bytes",
    "progress": "the client does not see the workers' reads; Dask's dashboard shows the tasks",
    "evtx_prefilter": "a debugging switch of local scans; cluster units always use the EVTX prefilter",
}

_INSTALL_HINT = "Dask's distributed scheduler is not installed: pip install 'sysmon-hunt[dask]'"


class WorkUnit(NamedTuple):
    """A piece of work: the events of `path` whose `<Event` starts lie in
    ``[start, start + owned_len)`` (the whole file when `owned_len` is
    `WHOLE_FILE`). `file_index` numbers the file in the whole scan."""

    path: str
    file_index: int
    start: int
    owned_len: int

    @property
    def end(self) -> Optional[int]:
        """Where the owned range ends; None for a whole file."""
        return None if self.owned_len == WHOLE_FILE else self.start + self.owned_len


class UnitFailure(NamedTuple):
    """A unit that failed: the file, the byte range it owned (``end`` None
    meaning the end of the file; a file that could not even be planned is
    ``0, None``) and the exception it raised on its worker."""

    path: str
    start: int
    end: Optional[int]
    error: BaseException

    def __str__(self) -> str:
        where = "%d-%s" % (self.start, "end" if self.end is None else self.end)
        return "%s [bytes %s]: %s: %s" % (self.path, where, type(self.error).__name__, self.error)


class IncompleteScanError(ScanError):
    """Some work units failed. `result` is the merged result of all the
    others (its `files` and `bytes` count the files that could be planned);
    `failures` says which units failed and why, in file and range order."""

    def __init__(self, failures: Iterable[UnitFailure], result: ScanResult) -> None:
        self.failures: Tuple[UnitFailure, ...] = tuple(failures)
        self.result = result
        super().__init__(
            "%d work unit%s failed (the other units' results are in .result); first: %s"
            % (len(self.failures), "" if len(self.failures) == 1 else "s", self.failures[0])
        )


# ---------------------------------------------------------------------------
# what runs on the workers (module-level, so Dask ships them by reference)
# ---------------------------------------------------------------------------


def _plan(path: str, split_bytes: int) -> List[_native.PlannedFile]:
    return _native.plan_path(path, split_bytes)


def _scan_unit(unit: WorkUnit, config: _native.ScanConfig) -> _native.Partial:
    return _native.scan_range(unit.path, unit.file_index, unit.start, unit.owned_len, config)


# ---------------------------------------------------------------------------
# the client side
# ---------------------------------------------------------------------------


def _unit_config(
    by: ByArg, exclude: ExcludeArg, users: bool, options: Any
) -> Tuple[_native.ScanConfig, List[exclusions.Rule]]:
    """The configuration every unit is scanned with, and the rules applied
    to the merged hits, checked here so that a bad option fails at once
    rather than on every worker."""
    for name, why in _LOCAL_ONLY.items():
        if name in options:
            raise TypeError("%s is not an option of a cluster scan: %s" % (name, why))
    unknown = sorted(set(options) - {"chunk_size"})
    if unknown:
        raise TypeError("unexpected keyword argument %r" % unknown[0])
    return scan_config(by, exclude, users, chunk_size=options.get("chunk_size", 0))


def _check_split(split_bytes: int) -> int:
    if isinstance(split_bytes, bool) or not isinstance(split_bytes, int) or split_bytes < 1:
        raise ValueError("split_bytes must be a positive int, got %r" % (split_bytes,))
    return split_bytes


def scan(
    paths: Union[PathArg, Iterable[PathArg]],
    /,
    *,
    client: Any,
    split_bytes: int = DEFAULT_SPLIT_BYTES,
    by: ByArg = None,
    exclude: ExcludeArg = None,
    users: bool = False,
    **scan_options: Any,
) -> ScanResult:
    """Run the detection on the cluster of `client` (a `distributed.Client`).

    The result is identical to ``sysmon_hunt.scan(paths, **scan_options)``
    on the same files, whatever `split_bytes` (bytes per unit of a large
    plain file) or the number of workers. `by`, `exclude` and `users` mean
    what they mean there: every unit groups by the same fields, and the
    rules are applied once, to the merged hits. Workers open the paths themselves.
    Raises `IncompleteScanError` (with the other units' merged result) when
    some units fail, `TypeError`/`ValueError` for bad options.
    """
    path_list = input_list(paths)
    for path in path_list:
        if not isinstance(path, str) or path == "-":
            raise TypeError("a cluster scan takes paths, which its workers open; got %r" % (path,))
    split = _check_split(split_bytes)
    config, rules = _unit_config(by, exclude, users, scan_options)
    try:
        from distributed import as_completed
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error

    # Every planned file, skipped ones included, in input order: what the
    # core's finish() lists as the inputs. Scanned files are numbered in
    # that order, skipped ones not.
    planned_files: List[_native.PlannedFile] = []
    input_of_file: List[int] = []  # which input named each numbered file
    units: List[WorkUnit] = []
    # (input number, file number, start) orders failures like inputs and ranges.
    failures: List[Tuple[Tuple[int, int, int], UnitFailure]] = []
    futures: List[Any] = []
    try:
        plans = client.map(_plan, path_list, split_bytes=split, pure=False)
        futures.extend(plans)
        for number, (path, plan) in enumerate(zip(path_list, plans)):
            try:
                planned = plan.result()
            except Exception as error:
                failures.append(((number, -1, 0), UnitFailure(str(path), 0, None, error)))
                continue
            for file in planned:
                planned_files.append(file)
                if file.skipped is not None:
                    continue
                index = len(input_of_file)
                input_of_file.append(number)
                units.extend(WorkUnit(file.path, index, start, owned_len) for start, owned_len in file.ranges)

        scans = client.map(_scan_unit, units, config=config, pure=False) if units else []
        futures.extend(scans)
        unit_of = {future.key: unit for future, unit in zip(scans, units)}
        merged = _native.Partial()
        for future in as_completed(scans):
            unit = unit_of[future.key]
            try:
                merged.merge(future.result())
            except Exception as error:
                failure = UnitFailure(unit.path, unit.start, unit.end, error)
                failures.append(((input_of_file[unit.file_index], unit.file_index, unit.start), failure))
            future.release()
    except BaseException:
        # Interrupted (or the client failed): leave no work behind.
        client.cancel(futures)
        raise

    result = exclusions.exclude(merged.finish(planned_files, config), rules)
    if failures:
        failures.sort(key=lambda item: item[0])
        raise IncompleteScanError([failure for _, failure in failures], result)
    return result


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A `distributed.Client` for `address`: a scheduler address such as
    ``tcp://scheduler:8786``, or ``local:N`` for a cluster of N worker
    processes on this machine (one thread each), closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    if address.startswith("local:"):
        count = address[len("local:") :]
        if not count.isdigit() or int(count) < 1:
            raise ValueError("expected local:N with N >= 1 worker processes, got %r" % address)
        # Its workers' logs would repeat each failed unit's error, which
        # `scan()` reports itself; only critical ones get through.
        with LocalCluster(
            n_workers=int(count), threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL
        ) as cluster:
            with Client(cluster) as client:
                yield client
    else:
        with Client(address) as client:
            yield client
