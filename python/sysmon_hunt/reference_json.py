"""JSON inputs for the pure-Python reference, read with the standard
library's ``json`` from the mapping table of docs/json.md, independently of
the core (``rust/json.rs``, ``rust/json_shapes.rs``).

Layout: after an optional UTF-8 BOM and JSON white space, ``{`` means NDJSON
(one record per line; blank lines are not records) and ``[`` means arrays
of records (any number of them, one after another). Every record is parsed
here; the core parses only the records that could match, so its counts of
recognised and malformed records are lower bounds of these.

A record is malformed when it is longer than 1 MiB, nested deeper than 64
levels, not valid UTF-8 or not valid JSON (a lone surrogate escape, ``NaN``
and trailing bytes included), when a value the detection reads holds U+0000,
or when it matches without a usable time. Array framing that cannot go on
is one malformed entry, and the rest of the input is not read.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, NamedTuple, Optional, Tuple, Union

if TYPE_CHECKING:  # the reference's Scan; imported lazily to avoid a cycle
    from .reference import Scan

MAX_RECORD_BYTES = 1 << 20
MAX_JSON_DEPTH = 64
JSON_SNIFF_LEN = 4096
UTF8_BOM = b"\xef\xbb\xbf"
JSON_SPACE = b" \t\r\n"

TOO_LONG = "JSON record longer than 1 MiB"
TOO_DEEP = "JSON record nested deeper than 64 levels"
NO_TIME = "matching JSON record has no usable time"
NOT_CLOSED = "JSON array not closed"


def json_layout(decoded: bytes) -> Optional[bool]:
    """None when the decoded text is not JSON; else whether it holds arrays."""
    head = decoded[:JSON_SNIFF_LEN]
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    tokens = bytes(b for b in head if b not in JSON_SPACE)[:2]
    # The next token must fit a log of records, so that a text log opening
    # with `[2021-04-28 ...]` or `[INFO]` stays text.
    if tokens[:1] == b"{" and tokens[1:2] in (b"", b'"', b"}"):
        return False
    if tokens[:1] == b"[" and tokens[1:2] in (b"", b"{", b"[", b"]"):
        return True
    return None


# --------------------------------------------------------------------------
# framing
# --------------------------------------------------------------------------


class Framed(NamedTuple):
    offset: int
    record: Optional[bytes]  # None: a framing error (not a record)
    depth: Optional[int]  # known from the framing (array elements)
    reason: Optional[str]  # why it is malformed before parsing


STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.S)
STRUCTURE = re.compile(rb'["{}\[\]]')
SCALAR = re.compile(rb"[^ \t\r\n,\]]*")
SPACE = re.compile(rb"[ \t\r\n]*")


def string_end(data: bytes, content_start: int) -> Optional[int]:
    """Index after the closing quote of a string whose content starts there."""
    m = STRING_REST.match(data, content_start)
    return None if m is None else m.end()


def max_depth(record: bytes) -> int:
    depth = deepest = 0
    pos = 0
    while True:
        m = STRUCTURE.search(record, pos)
        if m is None:
            return deepest
        c = record[m.start()]
        if c == 0x22:  # "
            end = string_end(record, m.end())
            if end is None:
                return deepest
            pos = end
            continue
        if c in b"{[":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
        pos = m.end()


def line_records(data: bytes) -> Iterator[Framed]:
    offset = 0
    for line in data.split(b"\n"):
        record = line[len(UTF8_BOM) :] if offset == 0 and line.startswith(UTF8_BOM) else line
        if record.strip(JSON_SPACE):
            yield Framed(offset, record, None, None)
        offset += len(line) + 1


def element_end(data: bytes, start: int) -> Tuple[Optional[int], int]:
    """(index after the element starting at `start`, or None if the input
    ends inside it; its nesting depth)."""
    first = data[start]
    if first == 0x22:
        return string_end(data, start + 1), 0
    if first not in b"{[":
        end = SCALAR.match(data, start).end()  # type: ignore[union-attr]
        return (None if end == len(data) else end), 0
    depth = deepest = 0
    pos = start
    while True:
        m = STRUCTURE.search(data, pos)
        if m is None:
            return None, deepest
        c = data[m.start()]
        if c == 0x22:
            end = string_end(data, m.end())
            if end is None:
                return None, deepest
            pos = end
            continue
        pos = m.end()
        if c in b"{[":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
            if depth == 0:
                return pos, deepest


def array_records(data: bytes) -> Iterator[Framed]:
    pos = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    state = "outside"
    n = len(data)
    while True:
        pos = SPACE.match(data, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            if state != "outside":
                yield Framed(n, None, None, NOT_CLOSED)
            return
        c = data[pos : pos + 1]
        if state == "outside":
            if c != b"[":
                yield Framed(pos, None, None, "expected [ to start a JSON array")
                return
            state, pos = "open", pos + 1
            continue
        if state == "open" and c == b"]":
            state, pos = "outside", pos + 1
            continue
        if state == "after":
            if c == b",":
                state, pos = "comma", pos + 1
            elif c == b"]":
                state, pos = "outside", pos + 1
            else:
                yield Framed(pos, None, None, "expected , or ] after a JSON array element")
                return
            continue
        if state == "comma" and c in (b"]", b","):
            yield Framed(pos, None, None, "expected a JSON array element after ,")
            return
        end, depth = element_end(data, pos)
        if end is None:
            yield Framed(pos, data[pos:], depth, NOT_CLOSED)
            return
        yield Framed(pos, data[pos:end], depth, None)
        state, pos = "after", end


# --------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------


class Members(List[Tuple[str, Any]]):
    """A JSON object's members in order, duplicates kept."""

    def get(self, key: str) -> Any:
        """The first member named `key` (the first occurrence counts)."""
        for k, v in self:
            if k == key:
                return v
        return None

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self)


class Number(str):
    """A JSON number, as written."""


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, Members):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in value)
    if isinstance(value, list):
        return any(has_surrogate(v) for v in value)
    return False


def scalar_text(value: Any) -> Optional[str]:
    """A string's text, a number as written, true/false, "" for null; None
    for an object or array (no value)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(value)
    return None


def members(value: Any) -> Optional[Members]:
    return value if isinstance(value, Members) else None


def element_text(value: Any) -> Optional[str]:
    """An evtx-crate element: a scalar, or the `#text` of one with attributes."""
    m = members(value)
    if m is not None:
        return scalar_text(m.get("#text")) if m.has("#text") else None
    return scalar_text(value)


def get_text(m: Optional[Members], key: str, how: Callable[[Any], Optional[str]] = scalar_text) -> Optional[str]:
    if m is None or not m.has(key):
        return None
    text: Optional[str] = how(m.get(key))
    return text


class Shape:
    """Where one record's values are, by what they are."""

    def provider(self) -> Optional[str]: ...
    def event_id(self) -> Optional[str]: ...
    def computer(self) -> Optional[str]: ...
    def time(self) -> Optional[str]: ...
    def system_text(self, element: str) -> Optional[str]: ...
    def data(self, name: str) -> Optional[str]: ...


class Evtx(Shape):
    def __init__(self, event: Members, system: Members) -> None:
        self.event, self.system = event, system

    def attribute(self, element: str, name: str) -> Optional[str]:
        holder = get_members(self.system, element)
        attributes = get_members(holder, "#attributes") if holder is not None else None
        return get_text(attributes, name)

    def provider(self) -> Optional[str]:
        return self.attribute("Provider", "Name")

    def time(self) -> Optional[str]:
        return self.attribute("TimeCreated", "SystemTime")

    def event_id(self) -> Optional[str]:
        return self.system_text("EventID")

    def computer(self) -> Optional[str]:
        return self.system_text("Computer")

    def system_text(self, element: str) -> Optional[str]:
        return get_text(self.system, element, element_text)

    def data(self, name: str) -> Optional[str]:
        return get_text(get_members(self.event, "EventData"), name, element_text)


def get_members(m: Members, key: str) -> Optional[Members]:
    return members(m.get(key)) if m.has(key) else None


class Ecs(Shape):
    def __init__(self, record: Members, winlog: Members) -> None:
        self.record, self.winlog = record, winlog

    def provider(self) -> Optional[str]:
        return get_text(self.winlog, "provider_name")

    def event_id(self) -> Optional[str]:
        return get_text(self.winlog, "event_id")

    def computer(self) -> Optional[str]:
        return get_text(self.winlog, "computer_name")

    def time(self) -> Optional[str]:
        return get_text(self.record, "@timestamp")

    def system_text(self, element: str) -> Optional[str]:
        key = {"Channel": "channel", "EventRecordID": "record_id"}.get(element)
        return None if key is None else get_text(self.winlog, key)

    def data(self, name: str) -> Optional[str]:
        return get_text(get_members(self.winlog, "event_data"), name)


class NxLog(Shape):
    def __init__(self, top: Members) -> None:
        self.top = top

    def provider(self) -> Optional[str]:
        return get_text(self.top, "SourceName")

    def event_id(self) -> Optional[str]:
        return get_text(self.top, "EventID")

    def computer(self) -> Optional[str]:
        return get_text(self.top, "Hostname")

    def time(self) -> Optional[str]:
        utc = get_text(self.top, "UtcTime")
        if utc is not None and len(utc.encode("utf-8")) > 10 and utc.encode("utf-8")[10:11] == b" ":
            raw = utc.encode("utf-8")
            return (raw[:10] + b"T" + raw[11:]).decode("utf-8")
        return utc

    def system_text(self, element: str) -> Optional[str]:
        key = {
            "Channel": "Channel",
            "EventRecordID": "RecordNumber",
            "Version": "Version",
            "Task": "Task",
            "Opcode": "OpcodeValue",
        }.get(element)
        return None if key is None else get_text(self.top, key)

    def data(self, name: str) -> Optional[str]:
        return get_text(self.top, name)


def shape_of(top: Members) -> Union[Shape, str, None]:
    """The record's shape, the first that fits; a Splunk row's `_raw` text; None."""
    event = get_members(top, "Event")
    system = get_members(event, "System") if event is not None else None
    if event is not None and system is not None:
        return Evtx(event, system)
    source = get_members(top, "_source")
    record = top if source is None else source
    winlog = get_members(record, "winlog")
    if winlog is not None:
        return Ecs(record, winlog)
    result = get_members(top, "result")
    if result is not None and result.has("_raw"):
        raw = result.get("_raw")
        if isinstance(raw, str) and not isinstance(raw, Number):
            return str(raw)
    if top.has("SourceName") and top.has("EventID"):
        return NxLog(top)
    return None


# --------------------------------------------------------------------------
# the detection over a shape (the XML reference's fields, match, by_key)
# --------------------------------------------------------------------------

SYSTEM_TEXT = ("EventID", "Version", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Channel", "Computer")


def system_value(shape: Shape, element: str) -> Optional[str]:
    if element == "EventID":
        return shape.event_id()
    if element == "Computer":
        return shape.computer()
    return shape.system_text(element)


def by_field_source(shape: Shape, name: str) -> Optional[str]:
    """The value a by-field is derived from (before trimming / basename)."""
    if name == "EventCode":
        return shape.event_id()
    if name == "process_id":
        return shape.data("ProcessId")
    if name == "dest":
        return shape.computer()
    if name == "process_name":
        return shape.data("Image")
    if name in SYSTEM_TEXT:
        return system_value(shape, name)
    return shape.data(name)


def check_record(state: "Scan", path: str, framed: Framed) -> None:
    from . import reference as ref

    state.json_records += 1
    offset, record = framed.offset, framed.record
    assert record is not None
    if framed.reason is not None:
        state.add_malformed(path, offset, framed.reason)
        return
    if len(record) > MAX_RECORD_BYTES:
        state.add_malformed(path, offset, TOO_LONG)
        return
    depth = framed.depth if framed.depth is not None else max_depth(record)
    if depth > MAX_JSON_DEPTH:
        state.add_malformed(path, offset, TOO_DEEP)
        return
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError:
        state.add_malformed(path, offset, "invalid UTF-8")
        return
    try:
        value = json.loads(
            text, object_pairs_hook=Members, parse_int=Number, parse_float=Number, parse_constant=reject_constant
        )
    except (ValueError, RecursionError):
        state.add_malformed(path, offset, "not valid JSON")
        return
    if has_surrogate(value):
        state.add_malformed(path, offset, "not valid JSON")
        return
    if not isinstance(value, Members):
        return
    shape = shape_of(value)
    if shape is None:
        return
    if isinstance(shape, str):
        events = state.events
        for framed_event in ref.frame(shape.encode("utf-8")):
            state.add_event(path, framed_event._replace(offset=offset))
        if state.events > events:
            state.json_events += 1
        state.events = events
        return
    f = ref.Fields(
        provider=shape.provider(),
        event_id=shape.event_id(),
        system_time=shape.time(),
        image=shape.data("Image"),
        target_filename=shape.data("TargetFilename"),
    )
    sources = [by_field_source(shape, name) for name in state.by_fields]
    user = shape.data("User") if state.collect_users else None
    if any(v is not None and "\0" in v for v in (*f, *sources, user)):
        state.add_malformed(path, offset, "a value holds U+0000")
        return
    state.json_events += 1
    if not ref.matches(f):
        return
    key = []
    for name, source in zip(state.by_fields, sources):
        if source is not None and name == "EventCode":
            source = source.strip(ref.XML_WHITESPACE)
        elif source is not None and name == "process_name":
            source = ref.basename(source)
        if not source:
            return  # dropped, as Splunk's `stats by` does
        key.append(source)
    time = ref.parse_time(f.system_time)
    if time is None:
        state.add_malformed(path, offset, NO_TIME)
        return
    state.add_hit(tuple(key), time, user)


def scan_json(state: "Scan", path: str, data: bytes, array: bool) -> None:
    """Adds the records of one decoded JSON input to `state`."""
    for framed in array_records(data) if array else line_records(data):
        if framed.record is None:
            state.add_malformed(path, framed.offset, framed.reason or NOT_CLOSED)
        else:
            check_record(state, path, framed)
