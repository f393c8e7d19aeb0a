"""Abstract Sysmon events written as XML and as every JSON shape the scanner
reads (docs/json.md), for the JSON tests.

An `Ev` is what an event says (provider, EventID, time, computer, Data in
order); `xml_event` and `json_record` write it. `JsonStyle` says how a JSON
writer varies what it writes without changing what it says: key order,
extra fields, escapes, numbers as numbers or strings.
"""

from __future__ import annotations

import gzip
import json
import random
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from events import GUID, NS

SHAPES = ("evtx", "ecs", "ecs_hit", "nxlog", "splunk")


class Ev(NamedTuple):
    provider: str
    event_id: str
    time: str  # a SystemTime: `YYYY-MM-DDTHH:MM:SS...`
    computer: str
    data: Tuple[Tuple[str, str], ...]


def xml_escape(value: str, quote: bool = False) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("'", "&apos;") if quote else value


def xml_event(ev: Ev) -> str:
    data = "".join(f"<Data Name='{xml_escape(n, True)}'>{xml_escape(v)}</Data>" for n, v in ev.data)
    return (
        f"<Event xmlns='{NS}'><System><Provider Name='{xml_escape(ev.provider, True)}' Guid='{GUID}'/>"
        f"<EventID>{xml_escape(ev.event_id)}</EventID><Version>2</Version>"
        f"<TimeCreated SystemTime='{xml_escape(ev.time, True)}'/><EventRecordID>1</EventRecordID>"
        f"<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>{xml_escape(ev.computer)}</Computer>"
        f"</System><EventData>{data}</EventData></Event>"
    )


class Raw(str):
    """JSON text written as it is (a number)."""


class JsonStyle(NamedTuple):
    seed: int
    shuffle: bool = True
    extra_fields: bool = True
    escape_percent: int = 0  # chance of writing a character as \\uXXXX
    ascii_only: bool = False  # every non-ASCII character as \\uXXXX
    numbers: bool = True  # numeric EventID / ProcessId as JSON numbers


def maybe_number(value: str, style: JsonStyle, rnd: random.Random) -> Any:
    if style.numbers and value.isascii() and value.isdigit() and str(int(value)) == value and rnd.random() < 0.7:
        return Raw(value)
    return value


def write_string(text: str, style: JsonStyle, rnd: random.Random) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif (code > 0x7F and style.ascii_only) or rnd.randrange(100) < style.escape_percent:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}" if rnd.random() < 0.5 else f"\\u{code:04X}")
        elif ch == "/" and rnd.random() < 0.3:
            out.append("\\/")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def write(value: Any, style: JsonStyle, rnd: random.Random) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, str):
        return write_string(value, style, rnd)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(write(v, style, rnd) for v in value) + "]"
    items = list(value.items())
    if style.shuffle:
        rnd.shuffle(items)
    space = " " if rnd.random() < 0.3 else ""
    members = (f"{write_string(k, style, rnd)}:{space}{write(v, style, rnd)}" for k, v in items)
    return "{" + ("," + space).join(members) + "}"


EXTRA = {"x_extra": [1, {"a": None, "b": [True, False]}], "tags": ["mordorDataset"], "n": 1.5e3}


def with_extra(obj: Dict[str, Any], style: JsonStyle) -> Dict[str, Any]:
    return {**obj, **EXTRA} if style.extra_fields else obj


def json_record(ev: Ev, shape: str, style: JsonStyle) -> str:
    rnd = random.Random(f"{style.seed}/{shape}/{ev}")
    data = {name: maybe_number(value, style, rnd) if name == "ProcessId" else value for name, value in ev.data}
    event_id = maybe_number(ev.event_id, style, rnd)
    if shape == "evtx":
        if rnd.random() < 0.3:
            event_id = {"#attributes": {"Qualifiers": ""}, "#text": event_id}
        system = {
            "Provider": {"#attributes": {"Name": ev.provider, "Guid": GUID}},
            "EventID": event_id,
            "Version": Raw("2"),
            "TimeCreated": {"#attributes": {"SystemTime": ev.time}},
            "EventRecordID": Raw("1"),
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": ev.computer,
        }
        record: Dict[str, Any] = {"Event": {"#attributes": {"xmlns": NS}, "System": system, "EventData": data}}
    elif shape in ("ecs", "ecs_hit"):
        winlog = with_extra(
            {
                "provider_name": ev.provider,
                "event_id": event_id,
                "computer_name": ev.computer,
                "channel": "Microsoft-Windows-Sysmon/Operational",
                "event_data": data,
            },
            style,
        )
        record = with_extra({"@timestamp": ev.time, "winlog": winlog, "host": {"name": "ignored"}}, style)
        if shape == "ecs_hit":
            record = {"_index": "winlogbeat-8", "_id": "x", "_source": record}
    elif shape == "nxlog":
        utc = ev.time[:10] + " " + ev.time[11:]
        record = with_extra(
            {
                "SourceName": ev.provider,
                "EventID": event_id,
                "Hostname": ev.computer,
                "EventTime": "2020-10-09 18:28:00",
                "@timestamp": "2020-10-09T22:30:27.153Z",
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                **{k: v for k, v in data.items() if k != "UtcTime"},
                "UtcTime": utc,
            },
            style,
        )
    elif shape == "splunk":
        record = {"preview": False, "offset": Raw("0"), "result": {"_raw": xml_event(ev), "host": ev.computer}}
    else:
        raise ValueError(shape)
    return write(record, style, rnd)


def ndjson(records: Sequence[str], crlf: bool = False, bom: bool = False) -> bytes:
    end = "\r\n" if crlf else "\n"
    return (("\ufeff" if bom else "") + end.join(records) + end).encode("utf-8")


def json_array(records: Sequence[str], pretty: bool = False, bom: bool = False) -> bytes:
    sep = ",\n  " if pretty else ","
    body = "[\n  " + sep.join(records) + "\n]\n" if pretty else "[" + sep.join(records) + "]"
    return (("\ufeff" if bom else "") + body).encode("utf-8")


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


def xml_log(events: Sequence[Ev]) -> bytes:
    return "".join(xml_event(ev) + "\n" for ev in events).encode("utf-8")


def summary(result: Any) -> List[Tuple[Any, ...]]:
    """Hits as comparable tuples."""
    return [tuple(hit) for hit in result]


def time_of(ev: Ev) -> Optional[str]:
    return ev.time
