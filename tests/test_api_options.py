"""The options of `scan()` on top of the detection: `by`, `exclude`, `users`
(with `ScanResult.risk_events()`) and `progress`, for the native scanner and
the reference alike."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import List, Tuple

import pytest

import sysmon_hunt
from strategies import simple_event as E
from sysmon_hunt import Hit, Rule, reference
from sysmon_hunt.exclusions import Condition

SCANNERS = [pytest.param(sysmon_hunt.scan, id="native"), pytest.param(reference.scan, id="reference")]
TELEGRAM = r"C:\Users\a\AppData\Roaming\Telegram Desktop\Telegram.exe"


def user(name: str) -> str:
    return f"<Data Name='User'>{name}</Data>"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """host-a: one process (two users over three events); host-b: two
    processes with the same Image, no User; one chrome download."""
    lines = [
        E(computer="host-a", time="2021-04-28T20:00:00Z", image=TELEGRAM, extra_data=user("CORP\\bob")),
        E(computer="host-a", time="2021-04-28T20:05:00Z", image=TELEGRAM, extra_data=user("CORP\\alice")),
        E(computer="host-a", time="2021-04-28T20:01:00Z", image=TELEGRAM, extra_data=user("CORP\\bob")),
        E(computer="host-b", process_id="1", image="D:\\TELEGRAM.EXE", extra_data=user("")),
        E(computer="host-b", process_id="2", image="D:\\TELEGRAM.EXE"),
        E(computer="host-c", image=r"C:\Program Files\Google\Chrome\Application\chrome.exe"),
    ]
    path = tmp_path / "sysmon.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# by
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scan", SCANNERS)
def test_default_by_is_v1(log: Path, scan) -> None:
    result = scan(log)
    assert result.by_fields == sysmon_hunt.BY_FIELDS
    assert result.columns == sysmon_hunt.COLUMNS
    assert all(type(h) is Hit for h in result)
    assert scan(log, by="v1") == result
    assert scan(log, by=list(sysmon_hunt.BY_FIELDS)) == result
    assert scan(log, by=",".join(sysmon_hunt.BY_FIELDS)) == result


@pytest.mark.parametrize("scan", SCANNERS)
def test_by_v3(log: Path, scan) -> None:
    result = scan(log, by="v3")
    assert result.by_fields == ("dest", "EventCode", "process_name", "process_id", "TargetFilename", "Hash")
    assert type(result[0])._fields == result.columns == result.by_fields + ("count", "firstTime", "lastTime")
    assert [(h.dest, h.process_name, h.process_id, h.count) for h in result] == [
        ("host-a", "Telegram.exe", "7000", 3),
        ("host-b", "TELEGRAM.EXE", "1", 1),
        ("host-b", "TELEGRAM.EXE", "2", 1),
    ]
    a = result[0]
    assert a.firstTime == datetime(2021, 4, 28, 20, 0, tzinfo=timezone.utc)
    assert a.lastTime == datetime(2021, 4, 28, 20, 5, tzinfo=timezone.utc)
    # One class per by-field list.
    assert type(scan(log, by="v3")[0]) is type(a)


@pytest.mark.parametrize("scan", SCANNERS)
def test_by_custom_fields(log: Path, scan) -> None:
    result = scan(log, by="Computer,User")
    # host-b's events have an empty or no User: dropped, as `stats by` drops them.
    assert [(h.Computer, h.User, h.count) for h in result] == [("host-a", "CORP\\alice", 1), ("host-a", "CORP\\bob", 2)]
    by_host = scan(log, by=["dest"])
    assert [(h.dest, h.count) for h in by_host] == [("host-a", 3), ("host-b", 2)]
    # System text elements: EventID untrimmed, Version is not in `bare` events.
    assert [h.EventID for h in scan(log, by=["EventID"])] == ["15"]
    assert len(scan(log, by=["dest", "Version"])) == 0


@pytest.mark.parametrize("scan", SCANNERS)
@pytest.mark.parametrize(
    "by",
    [
        "",
        "Computer,",
        "Computer,Computer",
        "count",
        "firstTime",
        "Provider",
        "TimeCreated",
        "1x",
        "_x",
        "a-b",
        "Имя",
        "Computer,class",
        ["Image", "Image"],
        [],
    ],
)
def test_bad_by_fields_are_value_errors(log: Path, scan, by) -> None:
    with pytest.raises(ValueError):
        scan(log, by=by)


@pytest.mark.parametrize("scan", SCANNERS)
def test_by_names_are_case_sensitive(log: Path, scan) -> None:
    # `computer` is not `Computer`: it is read as a Data name, which no event has.
    assert len(scan(log, by=["computer"])) == 0


def test_by_must_be_names(log: Path) -> None:
    with pytest.raises(TypeError):
        sysmon_hunt.scan(log, by=["Computer", 1])


# ---------------------------------------------------------------------------
# exclude
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scan", SCANNERS)
def test_exclude_drops_whole_hits(log: Path, scan) -> None:
    everything = scan(log)
    assert len(everything) == 3 and everything.stats.excluded == 0
    result = scan(log, exclude=["Computer=HOST-B"])  # ASCII case-insensitive
    assert [h.Computer for h in result] == ["host-a"]
    assert result.stats.excluded == 2
    assert result[0] == everything[0]  # counts and times untouched
    assert result.stats._replace(excluded=0) == everything.stats


@pytest.mark.parametrize("scan", SCANNERS)
def test_exclude_rule_forms(log: Path, scan) -> None:
    def kept(exclude) -> List[Tuple[str, str]]:
        return [(h.Computer, h.process_id) for h in scan(log, exclude=exclude)]

    assert kept("process_id=?") == [("host-a", "7000")]
    assert kept(["Image=*\\telegram.exe", "Computer=nothing"]) == []
    # A mapping: every condition must hold.
    assert kept([{"Computer": "host-b", "process_id": "2"}]) == [("host-a", "7000"), ("host-b", "1")]
    assert kept([Rule((Condition("Computer", "host-?"), Condition("process_id", "7*")))]) == [
        ("host-b", "1"),
        ("host-b", "2"),
    ]
    assert kept([]) == kept(None) == [("host-a", "7000"), ("host-b", "1"), ("host-b", "2")]


@pytest.mark.parametrize("scan", SCANNERS)
def test_exclude_fields_are_the_by_fields(log: Path, scan) -> None:
    with pytest.raises(ValueError, match="process_name"):
        scan(log, exclude=["process_name=telegram.exe"])  # v1 has Image, not process_name
    assert len(scan(log, by="v3", exclude=["process_name=telegram.exe"])) == 0
    for bad in (["Computer"], ["=x"], [{}], [42]):
        with pytest.raises((ValueError, TypeError)):
            scan(log, exclude=bad)


# ---------------------------------------------------------------------------
# users and risk events
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scan", SCANNERS)
def test_users_are_distinct_sorted_and_non_empty(log: Path, scan) -> None:
    result = scan(log, users=True)
    assert result.users == (("CORP\\alice", "CORP\\bob"), (), ())
    assert list(result) == list(scan(log))  # collecting users changes no hit
    assert scan(log).users is None
    # Exclusions keep users aligned with their hits.
    assert scan(log, users=True, exclude=["Computer=host-a"]).users == ((), ())


@pytest.mark.parametrize("scan", SCANNERS)
def test_risk_events(log: Path, scan) -> None:
    result = scan(log, users=True, by="v3")
    events = result.risk_events()
    assert len(events) == len(result)
    a, b, _ = events
    assert a["risk_object"] == "host-a"
    assert a["risk_object_type"] == "system"
    assert a["risk_score"] == 49
    assert a["mitre_technique_id"] == "T1105"
    assert a["detection_name"] == "Download Files Using Telegram"
    assert a["detection_id"] == "58194e28-ae5e-11eb-8912-acde48001122"
    assert a["risk_message"] == (
        "Suspicious files were downloaded with the Telegram application on host-a by CORP\\alice, CORP\\bob."
    )
    assert a["user"] == ["CORP\\alice", "CORP\\bob"]
    assert (a["dest"], a["process_name"], a["count"]) == ("host-a", "Telegram.exe", 3)
    assert a["firstTime"] == result[0].firstTime
    assert b["risk_message"].endswith(" on host-b by unknown.")
    assert b["user"] == []


def test_risk_events_need_users_and_a_host(log: Path) -> None:
    with pytest.raises(ValueError, match="users=True"):
        sysmon_hunt.scan(log).risk_events()
    with pytest.raises(ValueError, match="host"):
        sysmon_hunt.scan(log, users=True, by="Image").risk_events()
    assert len(sysmon_hunt.scan(log, users=True, by="Computer").risk_events()) == 2


def test_risk_message_fills_tokens_once(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text(E(computer="$user$", extra_data=user("$dest$")) + "\n", encoding="utf-8")
    (event,) = sysmon_hunt.scan(path, users=True).risk_events()
    assert event["risk_message"] == (
        "Suspicious files were downloaded with the Telegram application on $user$ by $dest$."
    )


# ---------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scan", SCANNERS)
def test_progress_reports_up_to_the_total(log: Path, tmp_path: Path, scan) -> None:
    other = tmp_path / "other.log"
    other.write_text((E() + "\n") * 2000, encoding="utf-8")
    calls: List[Tuple[int, int]] = []
    result = scan([log, other], progress=lambda done, total: calls.append((done, total)), chunk_size=4096)
    total = result.stats.bytes
    assert calls, "progress was never called"
    assert calls[-1] == (total, total)
    assert all(t == total and 0 <= d <= total for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert result == scan([log, other])


class Stop(Exception):
    pass


@pytest.mark.parametrize("scan", SCANNERS)
def test_an_exception_in_progress_stops_the_scan(tmp_path: Path, scan) -> None:
    path = tmp_path / "big.log"
    path.write_text((E() + "\n") * 5000, encoding="utf-8")

    def stop(done: int, total: int) -> None:
        raise Stop(done, total)

    with pytest.raises(Stop):
        scan(path, progress=stop, threads=1, chunk_size=64)
    # The scanner is usable afterwards.
    assert scan(path)[0].count == 5000


def test_progress_must_be_callable(log: Path) -> None:
    with pytest.raises(TypeError):
        sysmon_hunt.scan(log, progress=42)
