"""What the detection is: its name, id, ATT&CK technique, risk, and the by-field
lists of its versions, as security_content publishes them.

How a by-field name is read from an event is semantics, and lives in the
core (``rust/detection.rs``) and in ``reference.py``; this module only turns
the ``by`` argument users give into a tuple of names.
"""

from __future__ import annotations

from typing import Iterable, Optional, Tuple, Union

from . import _native

#: security_content's name and id of the detection (its v1 page).
NAME = "Download Files Using Telegram"
ID = "58194e28-ae5e-11eb-8912-acde48001122"
#: ATT&CK Ingress Tool Transfer.
MITRE_TECHNIQUE_ID = "T1105"
#: Splunk RBA: impact 70 x confidence 70 / 100.
RISK_SCORE = 49
#: The RBA message, with `$dest$` and `$user$` as Splunk writes them.
RISK_MESSAGE = "Suspicious files were downloaded with the Telegram application on $dest$ by $user$."

#: The seed's search (v1): `by Computer EventCode Image process_id TargetFilename Hash`.
BY_V1: Tuple[str, ...] = _native.BY_V1
#: v2-v4 (2023-09 on): `dest` is the host, `process_name` the basename of `Image`.
BY_V3: Tuple[str, ...] = _native.BY_V3
#: Named by-field lists.
VERSIONS = {"v1": BY_V1, "v3": BY_V3}

ByArg = Union[None, str, Iterable[str]]


def by_field_names(by: ByArg) -> Tuple[str, ...]:
    """The by-field names `by` stands for: None is v1; ``"v1"``/``"v3"`` name
    a version; any other string is a comma-separated list of field names;
    otherwise an iterable of names. Whether the names are valid is the
    scanner's to say (ValueError)."""
    if by is None:
        return BY_V1
    if isinstance(by, str):
        if by in VERSIONS:
            return VERSIONS[by]
        return tuple(name.strip() for name in by.split(","))
    names = tuple(by)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"by-field names must be str, got {type(name).__name__}")
    return names


def host_field(by_fields: Tuple[str, ...]) -> Optional[str]:
    """The by-field that holds the host (`dest` or `Computer`), if any."""
    for name in ("dest", "Computer"):
        if name in by_fields:
            return name
    return None
