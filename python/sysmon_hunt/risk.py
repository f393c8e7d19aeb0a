"""Risk events (Splunk risk-based alerting): one per hit, as the detection's
RBA section describes them.

The host is the risk object (type ``system``), scored 49; the message names
the host and the users: the distinct ``User`` values of the hit's events
(Sysmon schema 4.80+ writes ``User`` in event 15), sorted and joined with
``", "``, or ``unknown`` when none of its events has one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List

from . import detection

if TYPE_CHECKING:  # results.ScanResult.risk_events() calls this module
    from .results import ScanResult

UNKNOWN_USER = "unknown"

_TOKEN = re.compile(r"\$(dest|user)\$")


def message(dest: str, user: str) -> str:
    """The RBA message with its `$dest$` and `$user$` tokens filled in (in one
    pass, so a host name holding ``$user$`` stays as it is)."""
    values = {"dest": dest, "user": user}
    return _TOKEN.sub(lambda m: values[m.group(1)], detection.RISK_MESSAGE)


def risk_events(result: "ScanResult") -> List[Dict[str, Any]]:
    """One risk event per hit of `result`, which must have been scanned with
    ``users=True`` and grouped by a host field (`Computer` or `dest`)."""
    if result.users is None:
        raise ValueError("risk events name the users: scan with users=True")
    host = detection.host_field(result.by_fields)
    if host is None:
        raise ValueError("risk events need the host: group by Computer or dest")
    events = []
    for hit, users in zip(result, result.users):
        dest = getattr(hit, host)
        user = ", ".join(users) if users else UNKNOWN_USER
        event: Dict[str, Any] = {
            "risk_object": dest,
            "risk_object_type": "system",
            "risk_score": detection.RISK_SCORE,
            "risk_message": message(dest, user),
            "mitre_technique_id": detection.MITRE_TECHNIQUE_ID,
            "detection_name": detection.NAME,
            "detection_id": detection.ID,
            "user": list(users),
        }
        # The hit's own fields follow; a by-field named like a risk field
        # (e.g. `user`) does not replace it.
        for name, value in hit._asdict().items():
            event.setdefault(name, value)
        events.append(event)
    return events
