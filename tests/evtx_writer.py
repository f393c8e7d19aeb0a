"""A small EVTX writer for tests and benchmarks (not part of the package).

It writes valid binary Windows event logs from `Event` values: a file
header, 64 KiB chunks with their string and template tables, templates
with substitutions defined inline at their first use in a chunk and
shared by later records of the same shape, record headers, and CRC32
checksums (file header, chunk header, chunk records). `xml_twin()` gives
the same events as one-line XML, the oracle the pure-Python reference
reads.

Each `Data` value is written in one of the BinXML encodings (`ENCODINGS`):

* ``utf16``    - a normal substitution (0x0d), UTF-16LE string value;
* ``optional`` - an optional substitution (0x0e), UTF-16LE string value;
* ``ansi``     - a substitution with an ANSI (windows-1252) string value;
* ``ansi_nul`` - the same with a NUL byte inside, which the reader drops;
* ``subsplit`` - a substitution followed by template text in one element;
* ``split``    - two value tokens in the template, one after the other;
* ``charref``  - template text with one character as a character reference;
* ``template`` - the whole value as text in the template definition;
* ``nested``   - the whole `Data` element in a nested BinXML value (0x21).

Encodings that cannot carry a value (ANSI for text outside windows-1252,
character references for an empty value, an optional empty value) fall
back to ``utf16``; `Event.data` records what was written. With
`Event.nested_data`, `EventData` is a nested template instance (a 0x21
value with its own template, defined inline at first use), as Windows
writes Sysmon records; the encodings then apply inside it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
CHANNEL = "Microsoft-Windows-Sysmon/Operational"
ENCODINGS = ("utf16", "optional", "ansi", "ansi_nul", "subsplit", "split", "charref", "template", "nested")

CHUNK_SIZE = 65536
HEADER_BLOCK = 4096
CHUNK_HEADER = 512
EPOCH_1601 = datetime(1601, 1, 1, tzinfo=timezone.utc)

# Substitution value types (MS-EVEN6 2.2.4.1).
T_STRING, T_ANSI, T_UINT16, T_UINT64, T_FILETIME, T_BINXML = 0x01, 0x02, 0x06, 0x0A, 0x11, 0x21


@dataclass(frozen=True)
class Data:
    """One `EventData/Data` element: its Name, decoded value and encoding."""

    name: str
    value: str
    encoding: str = "utf16"


@dataclass(frozen=True)
class Event:
    provider: str
    event_id: int
    filetime: int
    computer: str
    data: tuple[Data, ...] = ()
    record_id: int = 0
    #: `EventData` as a nested template instance (0x21 value), as Windows
    #: writes Sysmon records, instead of part of the record's template.
    nested_data: bool = False


def filetime_of(moment: datetime) -> int:
    """100 ns ticks since 1601 of an aware datetime."""
    delta = moment - EPOCH_1601
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def system_time(filetime: int) -> str:
    """The SystemTime text the evtx crate renders: seven fraction digits and Z."""
    moment = EPOCH_1601 + timedelta(microseconds=filetime // 10)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{filetime % 10_000_000:07d}Z"


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&apos;")
        .replace('"', "&quot;")
    )


def xml_twin(events: Sequence[Event]) -> bytes:
    """The events as one-line XML, as the reader renders them (values decoded)."""
    lines = []
    for e in events:
        data = "".join(f"<Data Name='{_escape(d.name)}'>{_escape(d.value)}</Data>" for d in e.data)
        lines.append(
            f"<Event xmlns='{NS}'><System><Provider Name='{_escape(e.provider)}'/>"
            f"<EventID>{e.event_id}</EventID><TimeCreated SystemTime='{system_time(e.filetime)}'/>"
            f"<EventRecordID>{e.record_id}</EventRecordID><Channel>{CHANNEL}</Channel>"
            f"<Computer>{_escape(e.computer)}</Computer></System><EventData>{data}</EventData></Event>"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def effective(d: Data) -> Data:
    """`d` with the encoding it can actually be written in."""
    enc = d.encoding
    if enc in ("ansi", "ansi_nul"):
        try:
            d.value.encode("cp1252")
        except UnicodeEncodeError:
            enc = "utf16"
    if enc in ("optional", "subsplit", "split", "charref", "ansi_nul") and not d.value:
        enc = "utf16"
    if enc == "charref" and not any(_charref_ok(c) for c in d.value):
        enc = "utf16"
    return replace(d, encoding=enc)


def _charref_ok(c: str) -> bool:
    return ord(c) < 0x10000 and not 0xD800 <= ord(c) <= 0xDFFF


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _name_hash(name: str) -> int:
    h = 0
    for unit in struct.unpack(f"<{len(_utf16(name)) // 2}H", _utf16(name)):
        h = (h * 65599 + unit) & 0xFFFFFFFF
    return h & 0xFFFF


class _Names:
    """The chunk's names: each written inline at its first use, then referenced."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}

    def copy(self) -> _Names:
        other = _Names()
        other.offsets = dict(self.offsets)
        return other


class _BinXml:
    """BinXML tokens written at absolute chunk offset `base`."""

    def __init__(self, base: int, names: _Names, template: bool) -> None:
        self.buf = bytearray()
        self.base = base
        self.names = names
        self.template = template  # element starts carry a dependency ID
        self.open_sizes: list[int] = []

    def pos(self) -> int:
        return self.base + len(self.buf)

    def name(self, name: str) -> None:
        known = self.names.offsets.get(name)
        if known is not None:
            self.buf += struct.pack("<I", known)
            return
        here = self.pos() + 4
        self.names.offsets[name] = here
        units = _utf16(name)
        self.buf += struct.pack("<IIHH", here, 0, _name_hash(name), len(units) // 2) + units + b"\0\0"

    def fragment_header(self) -> None:
        self.buf += b"\x0f\x01\x01\x00"

    def open(self, name: str, attributes: bool = False) -> None:
        self.buf.append(0x41 if attributes else 0x01)
        if self.template:
            self.buf += b"\xff\xff"
        self.open_sizes.append(len(self.buf))
        self.buf += b"\0\0\0\0"  # element data size, set by end()/close_empty()
        self.name(name)
        if attributes:
            self.buf += b"\0\0\0\0"  # attribute list size (unused by readers)

    def _patch_size(self) -> None:
        at = self.open_sizes.pop()
        struct.pack_into("<I", self.buf, at, len(self.buf) - at - 4)

    def attribute(self, name: str) -> None:
        self.buf.append(0x06)
        self.name(name)

    def text(self, text: str) -> None:
        units = _utf16(text)
        self.buf += b"\x05\x01" + struct.pack("<H", len(units) // 2) + units

    def substitution(self, index: int, kind: int, optional: bool = False) -> None:
        self.buf += bytes([0x0E if optional else 0x0D]) + struct.pack("<HB", index, kind)

    def char_ref(self, c: str) -> None:
        self.buf += b"\x08" + struct.pack("<H", ord(c))

    def close_start(self) -> None:
        self.buf.append(0x02)

    def close_empty(self) -> None:
        self.buf.append(0x03)
        self._patch_size()

    def end(self) -> None:
        self.buf.append(0x04)
        self._patch_size()

    def eof(self) -> None:
        self.buf.append(0x00)


Value = tuple[int, bytes]  # (type, bytes)


def _data_value(d: Data, base: int, names: _Names) -> bytes:
    """A nested BinXML fragment holding the element `<Data Name=...>value</Data>`."""
    x = _BinXml(base, names, template=False)
    x.fragment_header()
    x.open("Data", attributes=True)
    x.attribute("Name")
    x.text(d.name)
    x.close_start()
    if d.value:
        x.text(d.value)
    x.end()
    x.eof()
    return bytes(x.buf)


#: What a template depends on: whether it is the `EventData` template of a
#: nested instance or the record's (and whether that nests `EventData`),
#: then per Data its name, encoding and template text.
Shape = tuple[tuple[str, str, str], ...]


def _shape(e: Event, inner: bool) -> Shape:
    """The shape of `e`'s template (values in substitutions do not count)."""
    parts = [("inner" if inner else "record", "", "nested" if e.nested_data else "")]
    if inner or not e.nested_data:
        for d in e.data:
            if d.encoding in ("utf16", "optional", "ansi", "ansi_nul"):
                parts.append((d.name, d.encoding, ""))
            elif d.encoding == "nested":
                parts.append(("", "nested", ""))
            else:
                parts.append((d.name, d.encoding, d.value))
    return tuple(parts)


def _split(value: str) -> tuple[str, str]:
    cut = max(1, len(value) // 2)
    return value[:cut], value[cut:]


def _template_body(e: Event, base: int, names: _Names, inner: bool) -> tuple[bytes, list[str]]:
    """The template of `e`'s shape (the record's, or with `inner` the
    `EventData` of a nested instance), and what each substitution holds."""
    x = _BinXml(base, names, template=True)
    slots: list[str] = []

    def sub(what: str, kind: int, optional: bool = False) -> None:
        x.substitution(len(slots), kind, optional)
        slots.append(what)

    x.fragment_header()
    if not inner:
        x.open("Event", attributes=True)
        x.attribute("xmlns")
        x.text(NS)
        x.close_start()
        x.open("System")
        x.close_start()
        x.open("Provider", attributes=True)
        x.attribute("Name")
        sub("provider", T_STRING)
        x.close_empty()
        x.open("EventID")
        x.close_start()
        sub("event_id", T_UINT16)
        x.end()
        x.open("TimeCreated", attributes=True)
        x.attribute("SystemTime")
        sub("time", T_FILETIME)
        x.close_empty()
        x.open("EventRecordID")
        x.close_start()
        sub("record_id", T_UINT64)
        x.end()
        x.open("Channel")
        x.close_start()
        x.text(CHANNEL)
        x.end()
        x.open("Computer")
        x.close_start()
        sub("computer", T_STRING)
        x.end()
        x.end()  # System
    if inner or not e.nested_data:
        x.open("EventData")
        x.close_start()
        for i, d in enumerate(e.data):
            _data_element(x, i, d, sub)
        x.end()  # EventData
    else:
        sub("eventdata", T_BINXML)
    if not inner:
        x.end()  # Event
    x.eof()
    return bytes(x.buf), slots


def _data_element(x: _BinXml, i: int, d: Data, sub: Callable[..., None]) -> None:
    """The template tokens of Data number `i`, in its encoding."""
    if d.encoding == "nested":
        sub(f"data{i}", T_BINXML)
        return
    x.open("Data", attributes=True)
    x.attribute("Name")
    x.text(d.name)
    x.close_start()
    if d.encoding in ("utf16", "ansi", "ansi_nul"):
        sub(f"data{i}", T_ANSI if d.encoding.startswith("ansi") else T_STRING)
    elif d.encoding == "optional":
        sub(f"data{i}", T_STRING, True)
    elif d.encoding == "subsplit":
        sub(f"data{i}", T_STRING)
        x.text(_split(d.value)[1])
    elif d.encoding == "split":
        head, tail = _split(d.value)
        x.text(head)
        x.text(tail)
    elif d.encoding == "charref":
        # From the middle on, so that the reference splits a needle the value holds.
        middle = len(d.value) // 2
        at = next(i for i in [*range(middle, len(d.value)), *range(middle)] if _charref_ok(d.value[i]))
        if d.value[:at]:
            x.text(d.value[:at])
        x.char_ref(d.value[at])
        if d.value[at + 1 :]:
            x.text(d.value[at + 1 :])
    elif d.encoding == "template":
        if d.value:
            x.text(d.value)
    else:
        raise ValueError(f"unknown encoding {d.encoding!r}")
    x.end()


class _Templates:
    """The chunk's template definitions by shape, and the next template ID."""

    def __init__(self) -> None:
        self.by_shape: dict[Shape, tuple[int, list[str]]] = {}
        self.next_id = 1

    def copy(self) -> _Templates:
        other = _Templates()
        other.by_shape = dict(self.by_shape)
        other.next_id = self.next_id
        return other


def _instance(e: Event, inner: bool, at: int, names: _Names, templates: _Templates) -> bytes:
    """A template instance of `e` (the record's, or with `inner` its nested
    `EventData`) written at chunk offset `at`: fragment header, instance,
    the template inline at its first use in the chunk, values, EOF."""
    x = bytearray(b"\x0f\x01\x01\x00\x0c\x01")
    shape = _shape(e, inner)
    known = templates.by_shape.get(shape)
    if known is None:
        template_id = templates.next_id
        templates.next_id += 1
        definition = at + len(x) + 8
        body, slots = _template_body(e, definition + 24, names, inner)
        guid = struct.pack("<I", template_id) + bytes(12)
        x += struct.pack("<II", template_id, definition)
        x += struct.pack("<I", 0) + guid + struct.pack("<I", len(body)) + body
        templates.by_shape[shape] = (definition, slots)
    else:
        definition, slots = known
        x += struct.pack("<II", 0, definition)
    values_at = at + len(x) + 4 + 4 * len(slots)
    values = _values(e, slots, values_at, names, templates)
    x += struct.pack("<I", len(values))
    for kind, raw in values:
        x += struct.pack("<HBB", len(raw), kind, 0)
    for _, raw in values:
        x += raw
    x += b"\x00"
    return bytes(x)


def _values(e: Event, slots: list[str], base: int, names: _Names, templates: _Templates) -> list[Value]:
    """The substitution values of `e` for its template's `slots`; `base`
    is where the first value lies (nested BinXML needs its place)."""
    out: list[Value] = []
    at = base
    for slot in slots:
        if slot == "provider":
            value: Value = (T_STRING, _utf16(e.provider))
        elif slot == "event_id":
            value = (T_UINT16, struct.pack("<H", e.event_id))
        elif slot == "time":
            value = (T_FILETIME, struct.pack("<Q", e.filetime))
        elif slot == "record_id":
            value = (T_UINT64, struct.pack("<Q", e.record_id))
        elif slot == "computer":
            value = (T_STRING, _utf16(e.computer))
        elif slot == "eventdata":
            value = (T_BINXML, _instance(e, True, at, names, templates))
        else:
            d = e.data[int(slot[4:])]
            if d.encoding == "ansi":
                value = (T_ANSI, d.value.encode("cp1252"))
            elif d.encoding == "ansi_nul":
                # The NUL in the middle splits a needle the value holds.
                raw = d.value.encode("cp1252")
                value = (T_ANSI, raw[: len(raw) // 2] + b"\0" + raw[len(raw) // 2 :])
            elif d.encoding == "nested":
                value = (T_BINXML, _data_value(d, at, names))
            elif d.encoding == "subsplit":
                value = (T_STRING, _utf16(_split(d.value)[0]))
            else:
                value = (T_STRING, _utf16(d.value))
        out.append(value)
        at += len(value[1])
    return out


class _Chunk:
    def __init__(self) -> None:
        self.data = bytearray(CHUNK_SIZE)
        self.free = CHUNK_HEADER
        self.names = _Names()
        self.templates = _Templates()
        self.records: list[tuple[int, int]] = []  # (offset, record id)

    def try_add(self, e: Event) -> bool:
        """Writes the record of `e` if it fits; the chunk is unchanged if not."""
        names, templates = self.names.copy(), self.templates.copy()
        binxml = _instance(e, False, self.free + 24, names, templates)
        size = 24 + len(binxml) + 4
        if self.free + size > CHUNK_SIZE:
            return False
        record = struct.pack("<4sIQQ", b"\x2a\x2a\x00\x00", size, e.record_id, e.filetime) + binxml
        record += struct.pack("<I", size)
        self.data[self.free : self.free + size] = record
        self.records.append((self.free, e.record_id))
        self.free += size
        self.names, self.templates = names, templates
        return True

    def finish(self) -> bytes:
        d = self.data
        # String table: 64 buckets by name hash, chained through each name's first field.
        buckets = [0] * 64
        for name, offset in sorted(self.names.offsets.items(), key=lambda item: item[1]):
            bucket = _name_hash(name) % 64
            struct.pack_into("<I", d, offset, buckets[bucket])
            buckets[bucket] = offset
        template_buckets = [0] * 32
        for definition, _ in self.templates.by_shape.values():
            bucket = (definition // 8) % 32
            struct.pack_into("<I", d, definition, template_buckets[bucket])
            template_buckets[bucket] = definition
        first_id, last_id = self.records[0][1], self.records[-1][1]
        struct.pack_into(
            "<8sQQQQIIII",
            d,
            0,
            b"ElfChnk\x00",
            first_id,
            last_id,
            first_id,
            last_id,
            128,
            self.records[-1][0],
            self.free,
            zlib.crc32(d[CHUNK_HEADER : self.free]),
        )
        struct.pack_into("<I", d, 120, 0)
        struct.pack_into("<64I", d, 128, *buckets)
        struct.pack_into("<32I", d, 384, *template_buckets)
        struct.pack_into("<I", d, 124, zlib.crc32(bytes(d[:120]) + bytes(d[128:512])))
        return bytes(d)


def number(events: Sequence[Event], first_id: int = 1) -> list[Event]:
    """`events` with record IDs first_id, first_id + 1, ... and their
    encodings as written."""
    return [replace(e, record_id=first_id + i, data=tuple(effective(d) for d in e.data)) for i, e in enumerate(events)]


def write_evtx(events: Sequence[Event]) -> bytes:
    """A whole EVTX file of `events` (as returned by `number`)."""
    chunks: list[bytes] = []
    chunk = _Chunk()
    for e in events:
        if not chunk.try_add(e):
            if not chunk.records:
                raise ValueError("an event does not fit in a chunk")
            chunks.append(chunk.finish())
            chunk = _Chunk()
            if not chunk.try_add(e):
                raise ValueError("an event does not fit in a chunk")
    if chunk.records:
        chunks.append(chunk.finish())
    next_id = (events[-1].record_id + 1) if events else 1
    header = bytearray(HEADER_BLOCK)
    struct.pack_into(
        "<8sQQQIHHHH",
        header,
        0,
        b"ElfFile\x00",
        0,
        max(len(chunks) - 1, 0),
        next_id,
        128,
        1,
        3,
        HEADER_BLOCK,
        len(chunks),
    )
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header) + b"".join(chunks)


def sample() -> list[Event]:
    """Every encoding twice: a Telegram hit with `Image` and `TargetFilename`
    in it, then a `chrome.exe` download in it (numbered)."""
    moment = filetime_of(datetime(2021, 4, 28, 20, 11, 34, tzinfo=timezone.utc))
    events = []
    for encoding in ENCODINGS:
        for image in (r"C:\T\Telegram.exe", r"C:\G\chrome.exe"):
            data = (
                Data("ProcessId", "7000"),
                Data("Image", image, encoding),
                Data("TargetFilename", r"C:\d\a.exe:Zone.Identifier", encoding),
                Data("Hash", "SHA256=AB12"),
            )
            events.append(Event("Microsoft-Windows-Sysmon", 15, moment, "host", data))
    return number(events)


if __name__ == "__main__":
    # `python tests/evtx_writer.py OUT.evtx`: the sample, and its XML twin beside it.
    import sys

    out = sys.argv[1]
    with open(out, "wb") as f:
        f.write(write_evtx(sample()))
    with open(out + ".xml.log", "wb") as f:
        f.write(xml_twin(sample()))
