#!/usr/bin/env python3
"""Rewrites a one-event-per-line Sysmon XML log (benches/generate.py) as
JSON records of one shape, event for event, so that the XML and JSON paths
can be timed on the same events. Standard library only.

Shapes (docs/json.md): evtx (evtx_dump -o jsonl), ecs (Winlogbeat 8, as
Logstash writes it), nxlog (flat, as OTRF Security-Datasets ship it, with a
`Message` that repeats the event data), splunk (`splunk search -output
json`: the XML in `result._raw`). Layout: ndjson, or array (one JSON array,
one element per line, as ConvertTo-Json-style exporters write).

    python3 benches/to_json.py --shape nxlog in.log -o out.ndjson
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from typing import Dict, Iterator, List, Optional, Tuple

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SHAPES = ("evtx", "ecs", "nxlog", "splunk")


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Event:
    def __init__(self, line: str) -> None:
        root = ET.fromstring(line)
        self.system: Dict[str, ET.Element] = {}
        self.data: List[Tuple[str, str]] = []
        for child in root:
            if local(child.tag) == "System":
                for element in child:
                    self.system.setdefault(local(element.tag), element)
            elif local(child.tag) == "EventData":
                for data in child:
                    self.data.append((data.get("Name", ""), data.text or ""))

    def text(self, name: str) -> str:
        element = self.system.get(name)
        return "" if element is None else (element.text or "")

    def attribute(self, element: str, name: str) -> str:
        found = self.system.get(element)
        return "" if found is None else found.get(name, "")


def number(text: str):
    return int(text) if text.isdigit() and str(int(text)) == text else text


def evtx(ev: Event, line: str, n: int) -> dict:
    system = {
        "Provider": {
            "#attributes": {"Name": ev.attribute("Provider", "Name"), "Guid": ev.attribute("Provider", "Guid")}
        },
        "EventID": number(ev.text("EventID")),
        "Version": number(ev.text("Version")),
        "Level": number(ev.text("Level")),
        "Task": number(ev.text("Task")),
        "Opcode": number(ev.text("Opcode")),
        "Keywords": ev.text("Keywords"),
        "TimeCreated": {"#attributes": {"SystemTime": ev.attribute("TimeCreated", "SystemTime")}},
        "EventRecordID": number(ev.text("EventRecordID")),
        "Correlation": None,
        "Execution": {"#attributes": {"ProcessID": 1952, "ThreadID": 2428}},
        "Channel": ev.text("Channel"),
        "Computer": ev.text("Computer"),
        "Security": {"#attributes": {"UserID": "S-1-5-18"}},
    }
    return {"Event": {"#attributes": {"xmlns": NS}, "System": system, "EventData": dict(ev.data)}}


def message(ev: Event) -> str:
    return "Sysmon event:\r\n" + "\r\n".join(f"{name}: {value}" for name, value in ev.data)


def ecs(ev: Event, line: str, n: int) -> dict:
    time = ev.attribute("TimeCreated", "SystemTime")
    return {
        "@timestamp": time,
        "agent": {"type": "winlogbeat", "version": "8.11.0", "name": ev.text("Computer")},
        "ecs": {"version": "8.0.0"},
        "event": {
            "code": ev.text("EventID"),
            "kind": "event",
            "provider": ev.attribute("Provider", "Name"),
            "created": time,
        },
        "host": {"name": ev.text("Computer")},
        "log": {"level": "information"},
        "message": message(ev),
        "winlog": {
            "api": "wineventlog",
            "channel": ev.text("Channel"),
            "computer_name": ev.text("Computer"),
            "event_data": dict(ev.data),
            "event_id": ev.text("EventID"),
            "process": {"pid": 1952, "thread": {"id": 2428}},
            "provider_guid": ev.attribute("Provider", "Guid"),
            "provider_name": ev.attribute("Provider", "Name"),
            "record_id": ev.text("EventRecordID"),
            "user": {"identifier": "S-1-5-18", "domain": "NT AUTHORITY", "name": "SYSTEM", "type": "User"},
            "version": number(ev.text("Version") or "0"),
        },
    }


def nxlog(ev: Event, line: str, n: int) -> dict:
    time = ev.attribute("TimeCreated", "SystemTime")
    data = dict(ev.data)
    utc = data.get("UtcTime") or (time[:10] + " " + time[11:23])
    record = {
        "EventTime": utc[:19],
        "Hostname": ev.text("Computer"),
        "Keywords": -9223372036854775808,
        "EventType": "INFO",
        "SeverityValue": 2,
        "Severity": "INFO",
        "EventID": number(ev.text("EventID")),
        "SourceName": ev.attribute("Provider", "Name"),
        "ProviderGuid": ev.attribute("Provider", "Guid"),
        "Version": number(ev.text("Version") or "0"),
        "Task": number(ev.text("Task") or "0"),
        "OpcodeValue": 0,
        "RecordNumber": number(ev.text("EventRecordID") or "0"),
        "ExecutionProcessID": 1952,
        "ThreadID": 2428,
        "Channel": ev.text("Channel"),
        "Domain": "NT AUTHORITY",
        "AccountName": "SYSTEM",
        "UserID": "S-1-5-18",
        "AccountType": "User",
        "Category": "Sysmon event",
        "Opcode": "Info",
        "Message": message(ev),
        **data,
        "UtcTime": utc,
        "EventReceivedTime": utc[:19],
        "SourceModuleName": "eventlog",
        "SourceModuleType": "im_msvistalog",
        "@version": "1",
        "@timestamp": time[:23] + "Z",
        "host": "wec.internal.cloudapp.net",
        "port": 58623,
        "tags": ["mordorDataset"],
    }
    return record


def splunk(ev: Event, line: str, n: int) -> dict:
    return {
        "preview": False,
        "offset": n,
        "result": {
            "_raw": line,
            "_time": ev.attribute("TimeCreated", "SystemTime"),
            "host": ev.text("Computer"),
            "source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
            "sourcetype": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
        },
    }


WRITERS = {"evtx": evtx, "ecs": ecs, "nxlog": nxlog, "splunk": splunk}


def records(lines: Iterator[str], shape: str) -> Iterator[Optional[str]]:
    write = WRITERS[shape]
    for n, line in enumerate(lines):
        line = line.rstrip("\r\n")
        if "<Event" not in line:
            continue
        try:
            ev = Event(line)
        except ET.ParseError:
            yield None  # a malformed XML event has no JSON form
            continue
        yield json.dumps(write(ev, line, n), ensure_ascii=False, separators=(",", ":"))


def convert(source: str, output: str, shape: str, array: bool = False) -> Tuple[int, int]:
    written = skipped = 0
    with open(source, encoding="utf-8-sig") as lines, open(output, "w", encoding="utf-8", newline="\n") as out:
        if array:
            out.write("[\n")
        for record in records(lines, shape):
            if record is None:
                skipped += 1
                continue
            if array and written:
                out.write(",\n")
            out.write(record)
            if not array:
                out.write("\n")
            written += 1
        if array:
            out.write("\n]\n")
    return written, skipped


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="one-event-per-line XML log")
    ap.add_argument("--shape", choices=SHAPES, required=True)
    ap.add_argument("--array", action="store_true", help="one JSON array instead of NDJSON")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    written, skipped = convert(args.source, args.output, args.shape, args.array)
    print(
        f"to_json.py: {written} {args.shape} records, {skipped} malformed XML events left out -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
