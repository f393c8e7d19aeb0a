"""The pure-Python reference implementation of the detection: the oracle.

This module is slow on purpose. It reads each whole file into memory, decodes
it in one go, finds events with a plain loop and parses every event on its own
with Python's expat, so that each step can be checked by reading it against
the contract. Property tests compare the fast Rust core against it.

It follows ``docs/semantics.md`` (the contract, with every decision where
Splunk's search leaves one open) and ``docs/json.md`` for JSON inputs.
The steps, in order, each a small function below:

0. inputs     - a directory is walked recursively (entries sorted by name,
                symlinks followed, loops skipped); ``-`` is standard input;
                a binary file object is read whole.
1. decode     - gzip or zstd (one layer; a corrupt or truncated stream keeps
                what decoded before the damage, which is reported), then BOM
                / XML Appendix F sniffing; UTF-16 is transcoded to UTF-8
                (lone surrogates become invalid UTF-8).
2. frame      - every ``<Event`` followed by whitespace, ``>`` or ``/`` starts an
                event; it ends at the first ``</Event>`` after it, unless the
                next start comes first (then it is unterminated: malformed).
3. parse      - the event's bytes alone must be a well-formed XML 1.0 document
                as expat (without namespace processing) judges it.
4. fields     - elements and attributes by local name; an element's value is
                its own character data, or None if it has child elements.
5. match      - provider, EventID, Image basename, TargetFilename suffix,
                ASCII case-insensitively.
6. aggregate  - group by the by-fields (events with a missing or empty one are
                dropped), parse SystemTime (a matching event without a
                parsable one is malformed), count and min/max time, and
                (when asked) the distinct non-empty ``User`` values.
7. exclude    - drop the hits the exclusion rules hold for (the filter macro,
                after stats; ``exclusions.py``, shared with the core's API).

A decoded input that is JSON (docs/json.md) takes ``reference_json.py``
instead of steps 2-4: every record is parsed with the standard library's
``json`` and mapped onto the same fields; steps 5-7 are shared.

Only the standard library is used, except the ``zstandard`` package for zstd
input (a test dependency; the standard library has no zstd before Python
3.14). Binary EVTX files are not read here: the tests check the native EVTX
reader against the XML exports of the same logs. ``threads`` and
``chunk_size`` are accepted
so that tests can call this and the native scanner the same way; they are
ignored.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import zlib
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union
from xml.parsers import expat

from . import exclusions, reference_json
from ._request import InputArg
from .detection import ByArg, by_field_names
from .results import (
    BY_FIELDS,
    MAX_MALFORMED_EXAMPLES,
    InputStats,
    MalformedEvent,
    ScanResult,
    ScanStats,
    hit_type,
)

__all__ = ["scan", "scan_bytes"]

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: XML whitespace: the only characters trimmed from EventID and SystemTime.
XML_WHITESPACE = " \t\r\n"

PROVIDER = b"microsoft-windows-sysmon"  # compared after ASCII lower-casing
EVENT_ID = "15"
PROCESS_NAME = b"telegram.exe"  # compared after ASCII lower-casing
TARGET_SUFFIX = b":zone.identifier"  # compared after ASCII lower-casing


# --------------------------------------------------------------------------
# 1. decode
# --------------------------------------------------------------------------

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16LE_BOM = b"\xff\xfe"
UTF16BE_BOM = b"\xfe\xff"


#: The file header of binary Windows event logs (`.evtx`).
EVTX_MAGIC = b"ElfFile\x00"


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Decoded(NamedTuple):
    """A file's bytes decoded: the UTF-8 stream, its format name, and where
    and why a damaged compressed stream stopped (None when intact)."""

    data: bytes
    format: str
    damaged_at: Optional[int]
    damage: Optional[str]


def inflate_pieces(d: Any, data: bytes, out: List[bytes]) -> Tuple[Optional[str], bytes]:
    """Feed `data` to the zlib decompressor `d`, keeping every byte it
    produces before an error (zlib drops the output of the call that fails,
    so a failing piece is fed again byte by byte). Returns the error, if
    any, and the bytes after the end of the stream."""
    piece = 1 << 16
    for start in range(0, len(data), piece):
        chunk = data[start : start + piece]
        saved = d.copy()
        try:
            out.append(d.decompress(chunk))
        except zlib.error:
            for i in range(len(chunk)):
                try:
                    out.append(saved.decompress(chunk[i : i + 1]))
                except zlib.error as error:
                    return str(error), b""
        if d.eof:
            return None, d.unused_data + data[start + piece :]
    return None, b""


def gunzip(data: bytes) -> Tuple[bytes, Optional[str]]:
    """All gzip members, as far as they decode; the error that stopped it."""
    out: List[bytes] = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        error, rest = inflate_pieces(d, data, out)
        if error is not None:
            return b"".join(out), error
        if not d.eof:
            out.append(d.flush())
            return b"".join(out), "truncated gzip stream"
        data = rest
    return b"".join(out), None


def unzstd(data: bytes) -> Tuple[bytes, Optional[str]]:
    """All zstd frames, as far as they decode; the error that stopped it."""
    import zstandard  # test dependency, see the module docstring

    out = []
    while data:
        d = zstandard.ZstdDecompressor().decompressobj()
        try:
            out.append(d.decompress(data))
        except zstandard.ZstdError as error:
            return b"".join(out), str(error)
        if not d.eof:
            return b"".join(out), "truncated zstd stream"
        data = d.unused_data
    return b"".join(out), None


def decode_input(raw: bytes) -> Decoded:
    """Turn a file's raw bytes into the UTF-8 byte stream events are framed in.

    gzip or zstd is undone once (not recursively). A UTF-8 BOM is kept in the
    stream (so offsets equal file offsets); a UTF-16 BOM is dropped before
    transcoding. Without a BOM, ``3C 00`` means UTF-16LE and ``00 3C`` means
    UTF-16BE (XML 1.0 Appendix F); anything else is taken as UTF-8 as is.
    """
    data, prefix, damage = raw, "", None
    if data.startswith(GZIP_MAGIC):
        (data, damage), prefix = gunzip(data), "gzip+"
    elif data.startswith(ZSTD_MAGIC):
        (data, damage), prefix = unzstd(data), "zstd+"
    if prefix and data.startswith(EVTX_MAGIC):
        raise ValueError("a compressed EVTX file: decompress it first")
    if data.startswith(UTF16LE_BOM):
        text, name = utf16_to_utf8(data[2:], "utf-16-le"), "xml-utf16le"
    elif data.startswith(UTF16BE_BOM):
        text, name = utf16_to_utf8(data[2:], "utf-16-be"), "xml-utf16be"
    elif data.startswith(b"\x3c\x00"):
        text, name = utf16_to_utf8(data, "utf-16-le"), "xml-utf16le"
    elif data.startswith(b"\x00\x3c"):
        text, name = utf16_to_utf8(data, "utf-16-be"), "xml-utf16be"
    else:
        text, name = data, "xml"
    # A damaged stream ends where its decoded text ends.
    return Decoded(text, prefix + name, len(text) if damage else None, damage)


def decode(raw: bytes) -> bytes:
    """The UTF-8 byte stream of a file's raw bytes (see `decode_input`)."""
    return decode_input(raw).data


def utf16_to_utf8(data: bytes, codec: str) -> bytes:
    """Transcode UTF-16 (no BOM) to UTF-8.

    A dangling odd final byte is dropped. A lone surrogate is kept as its
    3-byte form (e.g. ``ED A0 80``), which is not valid UTF-8, so the event
    holding it is malformed.
    """
    if len(data) % 2:
        data = data[:-1]
    return data.decode(codec, "surrogatepass").encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------
# 2. frame
# --------------------------------------------------------------------------

EVENT_OPEN = b"<Event"
EVENT_CLOSE = b"</Event>"
#: What may follow ``<Event`` for it to be an event start.
EVENT_OPEN_FOLLOWERS = (b" ", b"\t", b"\r", b"\n", b">", b"/")


class Framed(NamedTuple):
    """One event start: its offset, and either its bytes or why it has none."""

    offset: int
    data: Optional[bytes]
    reason: Optional[str]


def event_starts(data: bytes) -> List[int]:
    """Every index where an event starts, in order."""
    starts = []
    i = data.find(EVENT_OPEN)
    while i != -1:
        follower = data[i + len(EVENT_OPEN) : i + len(EVENT_OPEN) + 1]
        if follower in EVENT_OPEN_FOLLOWERS:
            starts.append(i)
        i = data.find(EVENT_OPEN, i + 1)
    return starts


#: An event whose first `</Event>` ends more than this many bytes after its
#: start is malformed. Windows caps an event record at 64 KiB; the cap only
#: keeps garbage from holding memory, and the native core applies it too.
MAX_EVENT_BYTES = 1 << 20


def frame(data: bytes) -> Iterator[Framed]:
    """Cut the decoded stream into events, one `Framed` per event start."""
    starts = event_starts(data)
    for k, start in enumerate(starts):
        next_start = starts[k + 1] if k + 1 < len(starts) else None
        # Searching only up to the next start gives the same answer as
        # searching to the end, without quadratic time on garbage.
        search_end = len(data) if next_start is None else next_start
        end = data.find(EVENT_CLOSE, start + len(EVENT_OPEN), search_end)
        if end != -1 and end + len(EVENT_CLOSE) - start > MAX_EVENT_BYTES:
            yield Framed(start, None, "no </Event> within 1 MiB of the event start")
        elif end == -1:
            if next_start is None:
                reason = "no </Event> before end of input"
            else:
                reason = "no </Event> before the next event start"
            yield Framed(start, None, reason)
        elif next_start is not None and next_start < end:
            yield Framed(start, None, "no </Event> before the next event start")
        else:
            yield Framed(start, data[start : end + len(EVENT_CLOSE)], None)


# --------------------------------------------------------------------------
# 3. parse
# --------------------------------------------------------------------------


def local_name(name: str) -> str:
    """The part of an element or attribute name after its last ``:``."""
    return name.rpartition(":")[2]


class Element:
    """A parsed element: names, attributes in document order, children, text."""

    __slots__ = ("name", "attributes", "children", "text_parts")

    def __init__(self, name: str, attributes: List[Tuple[str, str]]) -> None:
        self.name = name
        self.attributes = attributes
        self.children: List["Element"] = []
        self.text_parts: List[str] = []

    @property
    def local(self) -> str:
        return local_name(self.name)

    def value(self) -> Optional[str]:
        """Own character data; None if the element holds any child element."""
        if self.children:
            return None
        return "".join(self.text_parts)

    def attribute(self, wanted_local: str) -> Optional[str]:
        """The first attribute whose local name is `wanted_local`.

        Namespace declarations (`xmlns`, `xmlns:*`) are not attributes of the
        data, so `xmlns:Name='x'` is never a `Name`.
        """
        for name, value in self.attributes:
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            if local_name(name) == wanted_local:
                return value
        return None

    def child(self, wanted_local: str) -> Optional["Element"]:
        """The first child element whose local name is `wanted_local`."""
        for child in self.children:
            if child.local == wanted_local:
                return child
        return None

    def children_named(self, wanted_local: str) -> List["Element"]:
        return [c for c in self.children if c.local == wanted_local]


class NotWellFormed(Exception):
    """The event's bytes are not a well-formed XML document."""


def parse(event: bytes) -> Element:
    """Parse one event's bytes alone with expat; return the root element.

    Expat does all well-formedness checking (UTF-8 validity, allowed
    characters, entity and character references, tag nesting, duplicate
    attributes, ...), line-end normalisation and attribute-value
    normalisation. No namespace processing: undeclared prefixes are fine.
    Comments and processing instructions have no handler, so they are skipped;
    CDATA content arrives as character data. The event's root element comes
    first, so expat never sees a DTD: a ``<!DOCTYPE`` is a syntax error and
    no entity beyond the predefined five is ever declared or expanded.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = True
    stack: List[Element] = []
    roots: List[Element] = []

    def start(name: str, flat_attributes: List[str]) -> None:
        pairs = list(zip(flat_attributes[0::2], flat_attributes[1::2]))
        element = Element(name, pairs)
        if stack:
            stack[-1].children.append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text_parts.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(event, True)
    except expat.ExpatError as error:
        raise NotWellFormed(f"not well-formed XML: {error}") from None
    # A successful parse has exactly one root, and it is the event element.
    (root,) = roots
    return root


# --------------------------------------------------------------------------
# 4. fields
# --------------------------------------------------------------------------


class Fields(NamedTuple):
    """The values the conditions and the time look at; None where absent."""

    provider: Optional[str]
    event_id: Optional[str]
    system_time: Optional[str]
    image: Optional[str]
    target_filename: Optional[str]


def system_child(root: Element, wanted_local: str) -> Optional[Element]:
    """``System/<wanted>``, both the first of their local name."""
    system = root.child("System")
    if system is None:
        return None
    return system.child(wanted_local)


def data_value(root: Element, name: str) -> Optional[str]:
    """``EventData/Data[@Name=name]``: the first such Data's value."""
    event_data = root.child("EventData")
    if event_data is None:
        return None
    for data in event_data.children_named("Data"):
        if data.attribute("Name") == name:
            return data.value()
    return None


def fields(root: Element) -> Fields:
    provider = system_child(root, "Provider")
    event_id = system_child(root, "EventID")
    time_created = system_child(root, "TimeCreated")
    return Fields(
        provider=None if provider is None else provider.attribute("Name"),
        event_id=None if event_id is None else event_id.value(),
        system_time=None if time_created is None else time_created.attribute("SystemTime"),
        image=data_value(root, "Image"),
        target_filename=data_value(root, "TargetFilename"),
    )


# --------------------------------------------------------------------------
# 5. match
# --------------------------------------------------------------------------


def ascii_lower(value: str) -> bytes:
    """Lower-case ASCII letters only (bytes.lower never touches non-ASCII)."""
    return value.encode("utf-8").lower()


def basename(path: str) -> str:
    """The text after the last backslash; the whole value if there is none."""
    return path.rpartition("\\")[2]


def matches(f: Fields) -> bool:
    """The base search: all four conditions; a missing value never matches."""
    if f.provider is None or ascii_lower(f.provider) != PROVIDER:
        return False
    if f.event_id is None or f.event_id.strip(XML_WHITESPACE) != EVENT_ID:
        return False
    if f.image is None or ascii_lower(basename(f.image)) != PROCESS_NAME:
        return False
    if f.target_filename is None or not ascii_lower(f.target_filename).endswith(TARGET_SUFFIX):
        return False
    return True


# --------------------------------------------------------------------------
# 6. aggregate
# --------------------------------------------------------------------------

Key = Tuple[str, ...]

#: `System` children of the Windows event schema whose data is their text.
SYSTEM_TEXT_ELEMENTS = (
    "EventID",
    "Version",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "EventRecordID",
    "Channel",
    "Computer",
)
#: `System` children whose data are attributes only: no value to group by.
SYSTEM_ATTRIBUTE_ELEMENTS = ("Provider", "TimeCreated", "Correlation", "Execution", "Security")
STATS_COLUMNS = ("count", "firstTime", "lastTime")
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def check_by_fields(names: Sequence[str]) -> None:
    """Raise ValueError unless `names` is a usable by-field list: at least one,
    no repeats, each a Splunk-style field name (an ASCII letter, then ASCII
    letters, digits, `_`) that is neither a statistics column nor a `System`
    element holding attributes only."""
    if not names:
        raise ValueError("at least one by-field is needed")
    for i, name in enumerate(names):
        if not FIELD_NAME.fullmatch(name):
            raise ValueError(
                f"by-field {name!r}: a field name is an ASCII letter followed by ASCII letters, digits or _"
            )
        if name in STATS_COLUMNS:
            raise ValueError(f"by-field {name!r}: this is a statistics column, not an event field")
        if name in SYSTEM_ATTRIBUTE_ELEMENTS:
            raise ValueError(f"by-field {name!r}: this System element holds attributes only")
        if name in names[:i]:
            raise ValueError(f"by-field {name!r} is given twice")


def by_field_value(root: Element, name: str) -> Optional[str]:
    """The value of by-field `name` in an event (None if absent): Splunk's
    names first (`EventCode` the trimmed EventID, `process_id` the ProcessId
    Data, `dest` the Computer, `process_name` the basename of the Image Data),
    then the text `System` elements, then the `Data` of that Name. Names are
    case-sensitive."""

    def system_text(element: str) -> Optional[str]:
        child = system_child(root, element)
        return None if child is None else child.value()

    if name == "EventCode":
        value = system_text("EventID")
        return None if value is None else value.strip(XML_WHITESPACE)
    if name == "process_id":
        return data_value(root, "ProcessId")
    if name == "dest":
        return system_text("Computer")
    if name == "process_name":
        image = data_value(root, "Image")
        return None if image is None else basename(image)
    if name in SYSTEM_TEXT_ELEMENTS:
        return system_text(name)
    return data_value(root, name)


def by_key(root: Element, by_fields: Sequence[str] = BY_FIELDS) -> Optional[Key]:
    """The by-field values in `by_fields` order; None if any is missing or empty."""
    values = tuple(by_field_value(root, name) for name in by_fields)
    if any(v is None or v == "" for v in values):
        return None
    return values  # type: ignore[return-value]


SYSTEM_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z?")


def parse_time(value: Optional[str]) -> Optional[datetime]:
    """``SystemTime`` as an aware UTC datetime, or None if absent or invalid.

    XML whitespace around it is ignored; the fraction is truncated (never
    rounded) to microseconds; the date must be a real one in years 1-9999,
    seconds 00-59 (``datetime`` rejects anything else).
    """
    if value is None:
        return None
    m = SYSTEM_TIME.fullmatch(value.strip(XML_WHITESPACE))
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = m.group(7) or ""
    microsecond = int(fraction[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=timezone.utc)
    except ValueError:
        return None


class Group:
    __slots__ = ("count", "first", "last", "users")

    def __init__(self, time: datetime) -> None:
        self.count = 1
        self.first = time
        self.last = time
        self.users: Set[str] = set()

    def add(self, time: datetime) -> None:
        self.count += 1
        self.first = min(self.first, time)
        self.last = max(self.last, time)


class Scan:
    """Accumulates events, groups and malformed events over all files."""

    def __init__(self, by_fields: Sequence[str] = BY_FIELDS, users: bool = False) -> None:
        check_by_fields(by_fields)
        self.by_fields = tuple(by_fields)
        self.collect_users = users
        self.files = 0
        self.bytes = 0
        self.inputs: List[InputStats] = []
        self.events = 0
        self.malformed = 0
        self.json_records = 0  # JSON inputs: see reference_json.py
        self.json_events = 0
        self.examples: List[MalformedEvent] = []
        self.groups: Dict[Key, Group] = {}

    def add_malformed(self, path: str, offset: int, reason: str) -> None:
        self.malformed += 1
        if len(self.examples) < MAX_MALFORMED_EXAMPLES:
            self.examples.append(MalformedEvent(path, offset, reason))

    def add_hit(self, key: Key, time: datetime, user: Optional[str] = None) -> None:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(time)
        else:
            group.add(time)
        if user:  # values() skips missing and empty values
            group.users.add(user)

    def add_event(self, path: str, framed: Framed) -> None:
        """Steps 3-6 for one event start."""
        self.events += 1
        if framed.data is None:
            self.add_malformed(path, framed.offset, framed.reason or "unterminated")
            return
        try:
            root = parse(framed.data)
        except NotWellFormed as error:
            self.add_malformed(path, framed.offset, str(error))
            return
        f = fields(root)
        if not matches(f):
            return
        key = by_key(root, self.by_fields)
        if key is None:
            return  # dropped, as Splunk's `stats by` does; not malformed
        time = parse_time(f.system_time)
        if time is None:
            if f.system_time is None:
                reason = "matching event has no TimeCreated/@SystemTime"
            else:
                reason = f"matching event has an unparsable SystemTime {f.system_time!r}"
            self.add_malformed(path, framed.offset, reason)
            return
        self.add_hit(key, time, data_value(root, "User") if self.collect_users else None)

    def add_file(self, path: str, raw: bytes) -> None:
        if raw.startswith(EVTX_MAGIC):
            # Binary EVTX is beyond this oracle (see the module docstring).
            raise ValueError(f"{path}: binary EVTX logs are not read by the reference")
        decoded = decode_input(raw)
        self.files += 1
        self.bytes += len(raw)
        json_array = reference_json.json_layout(decoded.data) if decoded.format.endswith("xml") else None
        if json_array is not None:
            json_format = decoded.format[: -len("xml")] + "json"
            self.inputs.append(InputStats(path, json_format, len(raw), None, decoded.damaged_at, decoded.damage))
            reference_json.scan_json(self, path, decoded.data, json_array)
            return
        self.inputs.append(InputStats(path, decoded.format, len(raw), None, decoded.damaged_at, decoded.damage))
        for framed in frame(decoded.data):
            self.add_event(path, framed)

    def skip(self, path: str, reason: str) -> None:
        self.inputs.append(InputStats(path, None, 0, reason))

    def result(self, rules: Sequence[exclusions.Rule] = ()) -> ScanResult:
        hit_class = hit_type(self.by_fields)
        groups = sorted(self.groups.items(), key=lambda item: item[0])
        hits = [hit_class(*key, group.count, group.first, group.last) for key, group in groups]
        users = [tuple(sorted(group.users)) for _, group in groups] if self.collect_users else None
        hits, users, excluded = exclusions.apply(hits, users, rules, self.by_fields)
        stats = ScanStats(
            files=self.files,
            bytes=self.bytes,
            events=self.events,
            malformed=self.malformed,
            malformed_examples=tuple(self.examples),
            excluded=excluded,
            inputs=tuple(self.inputs),
            files_skipped=sum(1 for i in self.inputs if i.skipped is not None),
            json_records=self.json_records,
            json_events=self.json_events,
        )
        return ScanResult(hits, stats, by_fields=self.by_fields, users=users)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def as_path_list(paths: Union[InputArg, Iterable[InputArg]]) -> List[Any]:
    """One path or file object is one input; anything else is an iterable of them."""
    if isinstance(paths, (str, bytes, os.PathLike)) or hasattr(paths, "read"):
        return [paths]
    return list(paths)


def walk(state: Scan, directory: str, ancestors: Tuple[Tuple[int, int], ...]) -> None:
    """Adds the files under `directory`, depth first, names in byte order;
    symlinks are followed, and one that leads back to an ancestor is skipped."""
    for name in sorted(os.listdir(directory), key=os.fsencode):
        path = os.path.join(directory, name)
        try:
            st = os.stat(path)
        except OSError as error:
            state.skip(path, error.strerror or str(error))
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                state.skip(path, "symlink loop")
                continue
            try:
                walk(state, path, ancestors + (key,))
            except OSError as error:
                state.skip(path, error.strerror or str(error))
        elif not stat.S_ISREG(st.st_mode):
            state.skip(path, "not a regular file")
        else:
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
                state.add_file(path, raw)
            except (OSError, ValueError) as error:
                state.skip(path, str(getattr(error, "strerror", None) or error))


def scan(
    paths: Union[InputArg, Iterable[InputArg]],
    /,
    *,
    threads: int = 0,
    chunk_size: int = 0,
    split_size: int = 0,
    by: ByArg = None,
    exclude: Union[None, exclusions.RuleArg, Iterable[exclusions.RuleArg]] = None,
    users: bool = False,
    progress: Optional[Callable[[int, int], object]] = None,
) -> ScanResult:
    """Run the detection over `paths`: one input or an iterable of them (a
    file, a directory, ``"-"`` for stdin, a binary file object).

    `by`, `exclude`, `users` and `progress` mean what they mean for
    `sysmon_hunt.scan()` (`progress` is called after each file);
    `threads`, `chunk_size` and `split_size` are ignored. A missing file
    raises FileNotFoundError.
    """
    del threads, chunk_size, split_size  # accepted for signature compatibility only
    state = Scan(by_field_names(by), users)
    rules = exclusions.as_rules(exclude)
    exclusions.check(rules, state.by_fields)
    path_list = as_path_list(paths)
    total = 0
    if progress is not None:
        total = sum(
            os.stat(path).st_size
            for path in path_list
            if not hasattr(path, "read") and os.fsdecode(path) != "-" and not os.path.isdir(path)
        )
    for path in path_list:
        if hasattr(path, "read"):
            state.add_file(str(getattr(path, "name", "<stream>")), path.read())
        elif os.fsdecode(path) == "-":
            state.add_file("-", sys.stdin.buffer.read())
        elif os.path.isdir(path):
            root = os.fsdecode(path)
            st = os.stat(root)
            walk(state, root, ((st.st_dev, st.st_ino),))
        else:
            with open(path, "rb") as handle:
                raw = handle.read()
            state.add_file(os.fsdecode(path), raw)
        if progress is not None:
            progress(min(state.bytes, total), total)
    if progress is not None and not path_list:
        progress(0, 0)
    return state.result(rules)


def scan_bytes(data: bytes, path: str = "<bytes>", by: ByArg = None, users: bool = False) -> ScanResult:
    """Run the detection over one file's raw bytes, reported under `path`."""
    state = Scan(by_field_names(by), users)
    state.add_file(path, bytes(data))
    return state.result()
