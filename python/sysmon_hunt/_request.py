"""What a caller passes to a scan, checked and turned into what the core
takes. Shared by the local `scan()` and the cluster scan (`sysmon_hunt.dask`),
so that both accept and refuse exactly the same arguments."""

from __future__ import annotations

import os
from typing import IO, Iterable, List, Tuple, Union, cast

from . import _native, exclusions
from .detection import ByArg, by_field_names
from .results import hit_type

PathArg = Union[str, "os.PathLike[str]"]
#: A path, or a binary file object (anything with ``read(n) -> bytes``).
InputArg = Union[PathArg, IO[bytes]]
#: Inputs as the core takes them: `str` paths and binary file objects.
InputList = List[Union[str, IO[bytes]]]
ExcludeArg = Union[None, exclusions.RuleArg, Iterable[exclusions.RuleArg]]


def is_stream(value: object) -> bool:
    return hasattr(value, "read") and not isinstance(value, (str, bytes, os.PathLike))


def input_list(paths: Union[InputArg, Iterable[InputArg]]) -> InputList:
    """One input or an iterable of them, as a list of `str` paths and binary
    file objects (a `str` is one path, a file object one input)."""
    items: Iterable[object] = [paths] if isinstance(paths, (str, bytes, os.PathLike)) or is_stream(paths) else paths
    result: InputList = []
    for path in items:
        if is_stream(path):
            result.append(cast(IO[bytes], path))
        elif isinstance(path, (str, bytes, os.PathLike)):
            result.append(os.fsdecode(path))
        else:
            raise TypeError(f"expected a path (str or os.PathLike) or a binary file object, got {type(path).__name__}")
    return result


def check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def scan_config(
    by: ByArg,
    exclude: ExcludeArg,
    users: bool,
    *,
    threads: int = 0,
    chunk_size: int = 0,
    split_size: int = 0,
    evtx_prefilter: bool = True,
) -> Tuple[_native.ScanConfig, List[exclusions.Rule]]:
    """The core's configuration of a scan and its exclusion rules, checked
    so that a bad option, by-field name or rule fails before any file is read."""
    config = _native.ScanConfig(
        threads=check_size("threads", threads),
        chunk_size=check_size("chunk_size", chunk_size),
        split_size=check_size("split_size", split_size),
        by=list(by_field_names(by)),
        users=bool(users),
        evtx_prefilter=bool(evtx_prefilter),
    )
    by_fields = tuple(config.by or ())
    hit_type(by_fields)  # a name that cannot name a field of Hit fails here too
    rules = exclusions.as_rules(exclude)
    exclusions.check(rules, by_fields)
    return config, rules
