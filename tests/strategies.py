"""Hypothesis strategies that build whole Sysmon XML log files (bytes).

The pieces, from the inside out:

* a *value* is a logical string rendered as XML text (or as an attribute
  value) with "tricks" applied at chosen positions: character references
  (``&#x74;``, ``&#46;``), comments (``<!---->``), processing instructions,
  CDATA sections, and in "bad" events invalid ones (``&#X74;``, ``&bogus;``,
  ``&#1;``, a stray ``&`` or ``<``, ``]]>``, ``--`` in a comment);
* an *event* (`events`) is ``System`` (Provider, EventID, TimeCreated,
  Computer, ...) plus ``EventData`` with ``Data`` elements. Most events are
  built around a real Telegram download, so that a good share of them match,
  and then get a short list of perturbations: near-miss values, other
  providers or EventIDs, missing, empty, self-closing, duplicated or nested
  ``Data``, other SystemTimes, extra or reordered elements, namespace
  prefixes, ...; the others are background noise (other EventIDs, programs);
* a *log* (`log_text`) is events laid out one per line, concatenated,
  pretty-printed, or wrapped in ``<?xml ...?><Events>``, with LF or CRLF, junk
  between events, byte-level corruption of some events (truncation, random
  byte edits, an extra ``</Data>``, a dropped end tag, invalid UTF-8, control
  characters) and sometimes the whole file cut short; groups of events share
  by-field values (an `Identity`) with different times;
* a *file* (`log_files`) is a log encoded as UTF-8 (BOM or not), UTF-16 LE/BE
  (BOM or not), gzip of any of those.

Shrinking goes towards the plain matching event: every random choice is an
integer whose smallest value means "the usual thing" (`chance` shrinks to
False, `pick` to the first option, lists of perturbations to empty).

Strategies are cached and helpers take `draw` directly, because Hypothesis
spends most of its time building and validating strategy objects otherwise.
"""

from __future__ import annotations

import functools
import gzip
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from hypothesis import strategies as st

from events import GUID, NS, sysmon_event

Draw = Callable

# ---------------------------------------------------------------------------
# cheap random choices
# ---------------------------------------------------------------------------

_INTEGERS: Dict[Tuple[int, int], st.SearchStrategy] = {}


def integer(draw: Draw, lo: int, hi: int) -> int:
    strategy = _INTEGERS.get((lo, hi))
    if strategy is None:
        strategy = _INTEGERS[(lo, hi)] = st.integers(lo, hi)
    return draw(strategy)


def chance(draw: Draw, percent: int) -> bool:
    """True about `percent`% of the time; shrinks to False."""
    return integer(draw, 0, 99) >= 100 - percent


def pick(draw: Draw, options: Sequence):
    """One of `options`; shrinks to the first."""
    return options[integer(draw, 0, len(options) - 1)]


def case_variant(draw: Draw, text: str) -> str:
    """`text` with the case of its ASCII letters changed at random."""
    if not chance(draw, 60):
        return text
    mask = integer(draw, 0, (1 << len(text)) - 1)
    return "".join(c.swapcase() if (mask >> i) & 1 else c for i, c in enumerate(text))


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------

COMPUTERS = [
    "project-mumbai-host",
    "win10.windomain.local",
    "ДМИТРИЙ-ПК",
    "東京-PC",
    "José-Laptop",
    "💻-host",
    "h",
    "WIN-7K3JQ2&CO",
]
USERS = ["DefaultAccount", "Дмитрий", "用户", "Zoë", "😀", "vagrant"]
IMAGE_DIRS = [
    "C:\\Users\\{user}\\AppData\\Roaming\\Telegram Desktop\\",
    "C:\\Program Files\\Telegram\\",
    "D:\\Портативные\\Telegram\\",
    "",
    "\\",
    "C:\\a/b\\",
]
TARGET_DIRS = [
    "C:\\Users\\{user}\\Downloads\\Telegram Desktop\\",
    "C:\\Users\\{user}\\Desktop\\",
    "D:\\загрузки\\",
    "",
]
FILE_NAMES = [
    "Good(NLA).txt",
    "отчёт.pdf",
    "报告.docx",
    "café.zip",
    "R&D plan.xlsx",
    "🎉.exe",
    "file with  spaces.7z",
    "'quote' \"dq\".txt",
    "a<b>c.txt",
    "<Event x>.txt",
    "x]]>y.txt",
]
HASHES = [
    "MD5=C785C55D5FA3443A11B8417209C4B524,SHA256=D07777E0DC36EBECCE3FA9644F0F44DC4A0B7EDE0CBC1F5D33E8D6CB07AF5B5C,IMPHASH=00000000000000000000000000000000",
    "SHA1=ABCDEF0123456789ABCDEF0123456789ABCDEF01",
    "SHA256=AB12",
    "Unknown",
]
PROCESS_IDS = ["7000", "812", "1", "4294967295", "0"]

#: Image values that never match, whatever their case.
IMAGE_NEAR_MISSES = [
    "C:\\x\\telegram.exe.bak",
    "C:\\x\\nottelegram.exe",
    "C:\\telegram.exe\\x.exe",
    "C:/x/telegram.exe",
    "C:\\x/telegram.exe",
    "C:\\x\\telegram.exe ",
    " telegram.exe",
    "C:\\x\\telegram.ex",
    "C:\\x\\telegram .exe",
    "C:\\x\\tеlegram.exe",  # Cyrillic е
    "C:\\x\\ｔelegram.exe",  # fullwidth t
    "C:\\x\\telegram.exe\\",
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "",
]
#: Image values that match although they look odd.
IMAGE_ODD_MATCHES = ["telegram.exe", "\\TELEGRAM.EXE", "C:\\a/b\\Telegram.exe", "\\\\?\\C:\\T\\telegram.exe"]
#: TargetFilename endings that never match.
TARGET_NEAR_MISSES = [
    ":Zone.Identifier:$DATA",
    ":Zone.Identifier.txt",
    "Zone.Identifier",
    ":Zone.Identifier ",
    ":Zone.Identifier\n",
    ":Zone_Identifier",
    ":ZONE.İDENTIFIER",  # Turkish dotted capital I
    ":Zone.Identifie",
]
#: Provider/@Name as the attribute's XML (quote-free).
PROVIDERS_XML = [
    "microsoft-windows-sysmon",
    "MICROSOFT-WINDOWS-SYSMON",
    "Microsoft-Windows-&#x53;ysmon",
    "Linux-Sysmon",
    "Microsoft-Windows-Security-Auditing",
    "Microsoft-Windows-Sysmon ",
    "Microsoft-Windows-Sysmon&#9;",
    "Microsoft-Windows-Sysmon\n",  # raw LF: normalised to a space, no match
    "",
]
#: EventID element content as XML.
EVENT_IDS_XML = [
    " 15 ",
    "\n15\t",
    "1&#53;",
    "&#49;&#x35;",
    "<![CDATA[15]]>",
    "1<!-- c -->5",
    "1<?pi?>5",
    "1",
    "11",
    "150",
    "015",
    "15.0",
    "",
    "\u00a015",
    "&#x31;5 ",
]
OTHER_EVENT_IDS_XML = ["1", "3", "11", "13", "150", "015", "22", "15"]

#: SystemTime values that are odd but valid, or invalid.
ODD_TIMES = [
    "2021-04-28T20:11:34.709744300Z",
    "2021-04-28T20:11:34Z",
    "2021-04-28T20:11:34",
    "2021-04-28T20:11:34.5",
    " 2021-04-28T20:11:34.1234567Z ",
    "\n2021-04-28T20:11:34.000001Z\t",
    "\r\n2021-04-28T20:11:34.000001Z\r\n",
    "2020-02-29T00:00:00Z",
    "2000-02-29T12:00:00.999999999Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.9999999Z",
    # invalid:
    "2021-02-30T10:00:00Z",
    "2021-02-29T10:00:00Z",
    "1900-02-29T10:00:00Z",
    "0000-01-01T00:00:00Z",
    "2021-04-28T24:00:00Z",
    "2021-04-28T23:60:00Z",
    "2021-04-28T23:59:60Z",
    "2021-13-01T00:00:00Z",
    "2021-04-31T00:00:00Z",
    "2021-04-28T20:11:34.Z",
    "2021-04-28 20:11:34Z",
    "2021-04-28T20:11:34ZZ",
    "2021-04-28T20:11:34z",
    "2021-04-28T20:11:34+00:00",
    "２021-04-28T20:11:34Z",
    "2021-4-28T20:11:34Z",
    "2021-04-28T20:11:34.1\u00a0",
    "",
    "yesterday",
]
YEARS = [2021, 2021, 2021, 2024, 1970, 1, 9999, 2000]


def valid_time(draw: Draw) -> str:
    """A valid SystemTime, mostly in 2021, with 0-9 fraction digits."""
    year = pick(draw, YEARS)
    month = integer(draw, 1, 12)
    day = integer(draw, 1, 28)
    seconds = integer(draw, 0, 86399)
    digits = integer(draw, 0, 9)
    fraction = ""
    if digits:
        fraction = "." + str(integer(draw, 0, 10**digits - 1)).zfill(digits)
    zone = "" if chance(draw, 15) else "Z"
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{year:04d}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}{fraction}{zone}"


# ---------------------------------------------------------------------------
# rendering values with tricks
# ---------------------------------------------------------------------------


class Trick(NamedTuple):
    kind: str
    pos: int  # taken modulo len(value) + 1
    arg: int  # kind-specific: a CDATA span, a choice among variants


#: Tricks that keep a value's decoded text, or change it validly (`amp`,
#: `raw_char`, `raw_cr`: a raw CR or CRLF is read as LF).
TEXT_TRICKS = ["hexref", "decref", "comment", "empty_comment", "cdata", "pi", "amp", "raw_char", "raw_cr"]
#: Tricks that make the event malformed.
BAD_TEXT_TRICKS = ["HEXref", "bogus_entity", "bad_charref", "raw_amp", "raw_lt", "cdata_end", "bad_comment"]
ATTR_TRICKS = ["hexref", "decref", "amp", "raw_ws", "raw_char"]
BAD_ATTR_TRICKS = ["HEXref", "bogus_entity", "bad_charref", "raw_amp", "raw_lt"]

BAD_CHARREFS = ["&#1;", "&#0;", "&#x1F;", "&#xFFFE;", "&#xD800;", "&#x110000;", "&#;", "&#x;", "&#12a;", "&#xFFFF;"]
BOGUS_ENTITIES = ["&bogus;", "&nbsp;", "&Amp;", "&amp", "&#x74", "&AMP;", "& amp;", "&#x 74;"]
#: Characters XML allows, written raw (some of them unusual).
RAW_CHARS = ["\x7f", "\x85", "\u2028", "\ufdd0", "\U0010ffff", "\ufeff", "\u00a0", "é", "\U0001f600", "\u0300"]
RAW_WHITESPACE = ["\t", "\n", "\r\n", "\r", " "]


def escape_char(c: str, quote: Optional[str], raw_space: bool = False) -> str:
    """`c` as XML that decodes back to `c` (in text, or in a `quote`d attribute)."""
    if c == "&":
        return "&amp;"
    if c == "<":
        return "&lt;"
    if c == ">":
        return "&gt;"
    if c == "\r" and not raw_space:
        return "&#13;"
    if quote is not None:
        if c == quote:
            return "&apos;" if quote == "'" else "&quot;"
        if c in "\t\n" and not raw_space:
            return f"&#{ord(c)};"
    return c


def render_value(value: str, quote: Optional[str], tricks: Sequence[Trick], raw_space: bool = False) -> str:
    """`value` as XML text (`quote` None) or attribute value, with `tricks`."""
    pieces = [escape_char(c, quote, raw_space) for c in value] + [""]
    covered = set()  # indices swallowed by a CDATA section
    n = len(value)
    for kind, pos, arg in tricks:
        pos %= n + 1
        at_char = pos < n and pos not in covered
        if kind in ("hexref", "decref", "HEXref"):
            if at_char:
                code = ord(value[pos])
                if kind == "HEXref":
                    pieces[pos] = f"&#X{code:x};"
                elif kind == "decref":
                    pieces[pos] = f"&#{code};"
                else:
                    pieces[pos] = f"&#x{code:X};" if arg % 2 else f"&#x{code:x};"
        elif kind == "cdata":
            end = min(n, pos + 1 + arg % 48)
            inner = value[pos:end]
            if at_char and "]]>" not in inner and "\r" not in inner and not covered.intersection(range(pos, end)):
                pieces[pos] = f"<![CDATA[{inner}]]>"
                for i in range(pos + 1, end):
                    pieces[i] = ""
                    covered.add(i)
        else:
            insert = {
                "comment": "<!-- c -->",
                "empty_comment": "<!---->",
                "bad_comment": "<!-- a -- b -->",
                "pi": "<?pi x?>",
                "amp": "&amp;",
                "bogus_entity": BOGUS_ENTITIES[arg % len(BOGUS_ENTITIES)],
                "bad_charref": BAD_CHARREFS[arg % len(BAD_CHARREFS)],
                "raw_amp": "&",
                "raw_lt": "<",
                "cdata_end": "]]>",
                "raw_char": RAW_CHARS[arg % len(RAW_CHARS)],
                "raw_cr": ["\r", "\r\n", "\r\r\n"][arg % 3],
                "raw_ws": RAW_WHITESPACE[arg % len(RAW_WHITESPACE)],
            }[kind]
            pieces[pos] = insert + pieces[pos]
    return "".join(pieces)


def escape_attr(value: str, quote: str) -> str:
    return render_value(value, quote, ())


# ---------------------------------------------------------------------------
# XML syntax edge cases, injected into whole events ("syntax" perturbation)
# ---------------------------------------------------------------------------

#: Inserted between two tags (where element content may go). Well-formed
#: ones first, then ones that make the event malformed; a few hold `<Event`
#: or `</Event>`, which changes the framing.
GAP_SNIPPETS = [
    "<!---->",
    "<!-- - -->",
    "<!--a-b-->",
    "<?pi?>",
    "<?pi x y?>",
    "<?xml-stylesheet href='a'?>",
    "<?XML x?>",
    "<?xml-x?>",
    "<?xmlfoo?>",
    "<![CDATA[]]>",
    "<![CDATA[<&]]>",
    "<x/>",
    "<x:y:z/>",
    "<:x/>",
    "<x-y.z/>",
    "<é/>",
    "<_x/>",
    "<x\u00b7/>",
    "<x\u0300/>",
    "<Données>x</Données>",
    "<x a='>'/>",
    "<x a='\"'/>",
    '<x a="\'"/>',
    "<x a='1' b:a='2'/>",
    "<x a ='1'/>",
    "<x a= '1' />",
    "<x\n/>",
    "<x></x >",
    "<x\n></x\n>",
    "<x\ta='1'/>",
    "<x a='1'\n/>",
    "<e:x e:a='1' a='2'/>",
    "<x a='&#60;&#x3E;'/>",
    "<x a='\t'/>",
    "&#x10FFFF;",
    "&#00000065;",
    "&#x000041;",
    "]]",
    "]>",
    ">",
    "\x7f",
    "\x85",
    "\ufeff",
    "\ufdd0",
    "\U0010ffff",
    "\r",
    "\r\n",
    "<!-- <Event> -->",
    "<?pi <Event ?>",
    "<![CDATA[</Event>]]>",
    "<x a='</Event>'/>",
    # malformed:
    "<!--->",
    "<!-- a --->",
    "<!-- a -- b -->",
    "<?xml version='1.0'?>",
    "<?xml?>",
    "<? x?>",
    "<?pi",
    "<!DOCTYPE x>",
    "<![CDATA[x]>",
    "<![cdata[x]]>",
    "&#1114112;",
    "&#65",
    "&#xd800;",
    "<x></y>",
    "<1x/>",
    "<-x/>",
    "<.x/>",
    "<\u00b7x/>",
    "<x a='1'b='2'/>",
    "<x a=1/>",
    "<x a='<'/>",
    "<x a='&'/>",
    "<x a='1' a='2'/>",
    "<x xmlns:a='1' xmlns:a='2'/>",
    "<x / >",
    "< x/>",
    "<x a/>",
    "<x 'a'/>",
    "</ x>",
    "<x></X>",
    "<x\u00a0a='1'/>",
    "<x a='1'\u00a0/>",
    "<x\ufeff/>",
    "]]>",
    "\ufffe",
    "\uffff",
    "<x a='\x01'/>",
    "<x>",
    "</x>",
    "<!x>",
    "<!>",
    "<!-->",
    "<x a=\"1'/>",
    "<x a='1\"/>",
    "\x00",
    "\x1b",
    "<x a=`1`/>",
]
#: Inserted inside a start tag, just before its `>` or `/>`.
TAG_SNIPPETS = [
    " a='1'",
    ' b:c="x"',
    "\n",
    " \t",
    " xmlns:q='u'",
    " é='1'",
    " a='&#9;'",
    " x.y-z='1'",
    # malformed (or a duplicate of an existing attribute):
    "a='1'",
    " a",
    " a=",
    " 1='x'",
    " a='1' a='2'",
    " =''",
    " a='x",
    " Name='dup'",
    " a=`x`",
    " a='<'",
    " xmlns='x' xmlns='y'",
    "\u00a0a='1'",
    " a='\x0b'",
]


def inject_syntax(draw: Draw, event: str) -> str:
    """`event` with one snippet from `GAP_SNIPPETS` or `TAG_SNIPPETS`."""
    if chance(draw, 30):
        positions = []
        i = event.find("<")
        while i != -1:
            if event[i + 1 : i + 2] not in ("/", "!", "?"):
                end = event.find(">", i)
                if end == -1:
                    break
                positions.append(end - 1 if event[end - 1] == "/" else end)
            i = event.find("<", i + 1)
        snippet = pick(draw, TAG_SNIPPETS)
    else:
        positions = [i + 1 for i in range(len(event) - 1) if event[i] == ">" and event[i + 1] in "<\n"]
        snippet = pick(draw, GAP_SNIPPETS)
    if not positions:
        return event
    at = pick(draw, positions)
    return event[:at] + snippet + event[at:]


# ---------------------------------------------------------------------------
# identities: the by-field values of one group
# ---------------------------------------------------------------------------


class Identity(NamedTuple):
    computer: str
    image: str
    process_id: str
    target: str
    hash: str


@st.composite
def identities(draw) -> Identity:
    """By-field values of a real Telegram download (a group)."""
    user = pick(draw, USERS)
    image = pick(draw, IMAGE_DIRS).format(user=user) + case_variant(draw, "telegram.exe")
    target = pick(draw, TARGET_DIRS).format(user=user) + pick(draw, FILE_NAMES) + case_variant(draw, ":Zone.Identifier")
    return Identity(
        computer=pick(draw, COMPUTERS),
        image=image,
        process_id=pick(draw, PROCESS_IDS),
        target=target,
        hash=pick(draw, HASHES),
    )


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------


class Node(NamedTuple):
    """An element: qualified name, attributes as (qualified name, XML value),
    and content: None (self-closing), XML text, or a list of child nodes."""

    name: str
    attributes: List[Tuple[str, str]]
    content: object


class Style(NamedTuple):
    quote: str
    pretty: bool
    loose: bool  # extra white space inside tags


def render(node: Node, style: Style, depth: int = 0) -> str:
    q = style.quote
    sep = "\n" + "  " * (depth + 1) if style.loose and len(node.attributes) > 1 else " "
    eq = " = " if style.loose else "="
    attrs = "".join(f"{sep}{name}{eq}{q}{value}{q}" for name, value in node.attributes)
    tail = " " if style.loose else ""
    if node.content is None:
        return f"<{node.name}{attrs}{tail}/>"
    if isinstance(node.content, str):
        inner = node.content
    else:
        children = [render(child, style, depth + 1) for child in node.content]
        if style.pretty:
            indent = "\n" + "  " * (depth + 1)
            inner = "".join(indent + c for c in children) + "\n" + "  " * depth
        else:
            inner = "".join(children)
    close_tail = "" if depth == 0 else tail  # the event's own `</Event>` stays exact
    return f"<{node.name}{attrs}{tail}>{inner}</{node.name}{close_tail}>"


#: Fields a trick can target. `Name:X` is the Name attribute of Data X.
TRICK_TARGETS = [
    "Image",
    "TargetFilename",
    "Computer",
    "ProcessId",
    "Hash",
    "EventID",
    "Provider",
    "SystemTime",
    "Name:Image",
    "Name:TargetFilename",
    "Contents",
    "UtcTime",
]
ATTRIBUTE_TARGETS = {"Provider", "SystemTime", "Name:Image", "Name:TargetFilename"}

PERTURBATIONS = [
    "event_id",
    "image",
    "target",
    "provider",
    "time",
    "data_shape",
    "data_shape",
    "computer",
    "target_bare",
    "image_odd",
    "time_nodes",
    "provider_attrs",
    "system_extra",
    "system_shuffle",
    "data_extra",
    "root",
    "event_attrs",
    "event_open",
    "qualifiers",
    "name_prefix",
    "old_schema",
    "syntax",
    "syntax",
    "event_close",
]
DATA_SHAPE_FIELDS = ["ProcessId", "Image", "TargetFilename", "Hash", "RuleName", "Contents", "User"]
DATA_SHAPES = [
    "empty",
    "self_closing",
    "child",
    "missing",
    "dup_after",
    "dup_before",
    "wrong_name",
    "nested_text",
    "leading_space",
    "no_name",
]
WRONG_NAMES = ["{}", "{}s", " {}", "{} "]  # with the name lower-cased or kept


@st.composite
def events(draw, pool: Sequence[Identity], pretty: bool = False) -> str:
    """One event as text (before line-end conversion, encoding, corruption)."""
    style = Style(quote=pick(draw, ["'", '"']), pretty=pretty, loose=chance(draw, 8))
    q = style.quote
    prefix_mode = "none"
    prefix_mask = 0
    if chance(draw, 15):
        prefix_mode = pick(draw, ["all", "random"])
        prefix_mask = integer(draw, 0, (1 << 30) - 1)
    telegram = not chance(draw, 25)
    identity = pool[integer(draw, 0, len(pool) - 1)]

    # Perturbations: what this event does differently from the plain match.
    p: Dict[str, object] = {}
    for _ in range(integer(draw, 1, 4) if chance(draw, 55) else 0):
        kind = pick(draw, PERTURBATIONS)
        if kind == "data_shape":
            shapes = p.setdefault("data_shape", {})
            shapes[pick(draw, DATA_SHAPE_FIELDS)] = (pick(draw, DATA_SHAPES), integer(draw, 0, 15))
        else:
            p[kind] = integer(draw, 0, 1 << 16)

    # Tricks: how values are written (references, comments, CDATA, ...).
    tricks: Dict[str, List[Trick]] = {}
    if chance(draw, 45):
        bad_event = chance(draw, 10)
        for _ in range(integer(draw, 1, 4)):
            target = pick(draw, TRICK_TARGETS)
            bad = bad_event and chance(draw, 50)
            is_attribute = target in ATTRIBUTE_TARGETS
            if is_attribute:
                kind = pick(draw, BAD_ATTR_TRICKS if bad else ATTR_TRICKS)
            else:
                kind = pick(draw, BAD_TEXT_TRICKS if bad else TEXT_TRICKS)
            tricks.setdefault(target, []).append(Trick(kind, integer(draw, 0, 255), integer(draw, 0, 63)))

    def text(target: str, value: str) -> str:
        return render_value(value, None, tricks.get(target, ()))

    def attr(target: str, value: str, raw_space: bool = False) -> str:
        return render_value(value, q, tricks.get(target, ()), raw_space)

    counter = [0]

    def name(local: str) -> str:
        counter[0] += 1
        if prefix_mode == "all" or (prefix_mode == "random" and (prefix_mask >> (counter[0] % 30)) & 1):
            return ("e:", "ev:", "x:")[counter[0] % 3 if prefix_mode == "random" else 0] + local
        return local

    computer: Optional[str] = identity.computer
    image: str = identity.image
    target: str = identity.target
    provider_xml = attr("Provider", "Microsoft-Windows-Sysmon")
    event_id_xml = text("EventID", "15")
    time_value = valid_time(draw)

    if not telegram:
        event_id_xml = pick(draw, OTHER_EVENT_IDS_XML)
        if chance(draw, 60):
            image = pick(draw, IMAGE_NEAR_MISSES)
    if "provider" in p:
        provider_xml = pick(draw, PROVIDERS_XML)
    if "event_id" in p:
        event_id_xml = pick(draw, EVENT_IDS_XML)
    if "image" in p:
        image = pick(draw, IMAGE_NEAR_MISSES)
    if "image_odd" in p:
        image = pick(draw, IMAGE_ODD_MATCHES)
    if "target" in p:
        target = target[: -len(":Zone.Identifier")] + pick(draw, TARGET_NEAR_MISSES)
    if "target_bare" in p:
        target = case_variant(draw, ":Zone.Identifier")
    if "time" in p:
        time_value = pick(draw, ODD_TIMES)
    if "computer" in p:
        computer = pick(draw, [None, "", "child"])

    # System
    provider_attributes = [("Name", provider_xml), ("Guid", GUID)]
    if "provider_attrs" in p:
        provider_attributes = pick(
            draw,
            [
                [("Guid", GUID)],  # no Name
                [("e:Name", provider_xml), ("Guid", GUID)],
                [("EventSourceName", "Microsoft-Windows-Sysmon"), ("Name", provider_xml)],
                [("xmlns:Name", "Microsoft-Windows-Sysmon"), ("Name", provider_xml)],
                [("Name", provider_xml), ("Name", "x")],  # duplicate attribute: malformed
            ],
        )
    provider = Node(name("Provider"), provider_attributes, None if pretty or "provider_attrs" not in p else "")
    qualifiers = [("Qualifiers", "")] if "qualifiers" in p else []
    event_id = Node(name("EventID"), qualifiers, event_id_xml)

    raw_space = "\n" in time_value or "\t" in time_value
    time_created = Node(name("TimeCreated"), [("SystemTime", attr("SystemTime", time_value, raw_space))], None)
    time_nodes = [time_created]
    if "time_nodes" in p:
        time_nodes = pick(
            draw,
            [
                [],
                [Node(name("TimeCreated"), [], None)],
                [Node(name("TimeCreated"), [], None), time_created],  # the first has no time: no time
                [time_created, Node(name("TimeCreated"), [("SystemTime", "bad")], None)],
                [Node(name("TimeCreated"), [("e:SystemTime", attr("SystemTime", time_value))], None)],
                [Node(name("TimeCreated"), [("SystemTime", "bad")], None), time_created],
            ],
        )

    computer_nodes = []
    if computer == "child":
        computer_nodes = [Node(name("Computer"), [], [Node("x", [], text("Computer", identity.computer))])]
    elif computer is not None:
        computer_nodes = [Node(name("Computer"), [], text("Computer", computer))]

    system_children = (
        [provider, event_id]
        + [
            Node(name("Version"), [], "2"),
            Node(name("Level"), [], "4"),
            Node(name("Task"), [], "15"),
            Node(name("Opcode"), [], "0"),
            Node(name("Keywords"), [], "0x8000000000000000"),
        ]
        + time_nodes
        + [
            Node(name("EventRecordID"), [], str(integer(draw, 1, 999999))),
            Node(name("Correlation"), [], None),
            Node(name("Execution"), [("ProcessID", "1952"), ("ThreadID", "2428")], None),
            Node(name("Channel"), [], "Microsoft-Windows-Sysmon/Operational"),
        ]
        + computer_nodes
        + [Node(name("Security"), [("UserID", "S-1-5-18")], None)]
    )
    if "system_extra" in p:
        # A second EventID, Provider or Computer: only the first counts.
        extra = pick(
            draw,
            [
                Node(name("EventID"), [], "1"),
                Node(name("EventID"), [], "15"),
                Node(name("Provider"), [("Name", "Linux-Sysmon")], None),
                Node(name("Provider"), [("Name", "Microsoft-Windows-Sysmon")], None),
                Node(name("Computer"), [], "second-computer"),
                Node(name("Computer"), [], ""),
            ],
        )
        system_children.insert(integer(draw, 0, len(system_children)), extra)
    if "system_shuffle" in p:
        system_children = draw(st.permutations(system_children))

    # EventData
    old_schema = "old_schema" in p
    data_fields: List[Tuple[str, Optional[str]]] = [
        (
            "RuleName",
            None if old_schema else pick(draw, ["-", "technique_id=T1105,technique_name=Ingress Tool Transfer"]),
        ),
        ("UtcTime", "2021-04-28 20:11:34.709"),
        ("ProcessGuid", "{ED2ECF8A-C154-6089-F967-00000000BB01}"),
        ("ProcessId", identity.process_id),
        ("Image", image),
        ("TargetFilename", target),
        ("CreationUtcTime", "2021-04-28 20:11:33.238"),
        ("Hash", identity.hash),
        (
            "Contents",
            None
            if old_schema
            else pick(
                draw,
                [
                    "[ZoneTransfer]  ZoneId=3  ",
                    "[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://cdn.telegram.org/f?a=1&b=2\r\n",
                ],
            ),
        ),
        ("User", None if old_schema else pick(draw, [None, "WIN\\Дмитрий", "NT AUTHORITY\\SYSTEM"])),
    ]
    shapes = p.get("data_shape", {})
    name_attr = "e:Name" if "name_prefix" in p else "Name"
    data_nodes: List[Node] = []
    for field_name, value in data_fields:
        if value is None:
            continue
        data = name("Data")
        attributes = [(name_attr, attr("Name:" + field_name, field_name))]
        node = Node(data, attributes, text(field_name, value))
        shape, arg = shapes.get(field_name, ("normal", 0))
        if shape == "normal":
            data_nodes.append(node)
        elif shape == "missing":
            pass
        elif shape == "empty":
            data_nodes.append(node._replace(content=""))
        elif shape == "self_closing":
            data_nodes.append(node._replace(content=None))
        elif shape == "child":
            data_nodes.append(node._replace(content=[Node("b", [], text(field_name, value))]))
        elif shape == "nested_text":
            data_nodes.append(node._replace(content=text(field_name, value) + "<x/>"))
        elif shape == "leading_space":
            data_nodes.append(node._replace(content=" \n\t"[arg % 3] + text(field_name, value)))
        elif shape == "wrong_name":
            wrong = WRONG_NAMES[arg % 4].format(field_name.lower() if arg & 4 else field_name)
            data_nodes.append(node._replace(attributes=[(name_attr, escape_attr(wrong, q))]))
        elif shape == "no_name":
            data_nodes.append(node._replace(attributes=[("Other", escape_attr(field_name, q))]))
        elif shape in ("dup_after", "dup_before"):
            decoy_value = ["decoy", "C:\\x\\chrome.exe", value + "x", "", value][arg % 5]
            decoy = node._replace(content=escape_attr(decoy_value, "'"))
            data_nodes.extend([node, decoy] if shape == "dup_after" else [decoy, node])
    if "data_extra" in p:
        data_nodes.insert(
            integer(draw, 0, len(data_nodes)),
            pick(
                draw,
                [
                    Node(name("Data"), [], "no name"),
                    Node(name("Data"), [("Name", "Image")], [Node("b", [], "x")]),
                    Node(name("Data"), [("Name", "Image"), ("Name", "x")], "dup attr"),  # malformed
                    Node(name("Data"), [("xmlns:Name", "Image")], "telegram.exe"),
                    Node(name("Data"), [("Name", "TargetFilename")], "x:Zone.Identifier"),
                ],
            ),
        )
    event_data = Node(name("EventData"), [], data_nodes)

    system = Node(name("System"), [], system_children)
    root_children = [system, event_data]
    if "root" in p:
        root_children = pick(
            draw,
            [
                [event_data, system],
                [system],
                [event_data],
                [
                    system,
                    event_data,
                    Node(name("EventData"), [], [Node(name("Data"), [("Name", "Image")], "C:\\x\\chrome.exe")]),
                ],
                [
                    system,
                    event_data,
                    Node(name("UserData"), [], [Node(name("Data"), [("Name", "Image")], "telegram.exe")]),
                ],
                [system, event_data, Node(name("System"), [], [Node(name("EventID"), [], "1")])],
                [Node(name("System"), [], [Node(name("EventID"), [], "1")]), system, event_data],
                [
                    Node(
                        name("RenderingInfo"),
                        [("Culture", "en-US")],
                        [Node(name("Message"), [], "File stream created")],
                    ),
                    system,
                    event_data,
                ],
            ],
        )

    event_attributes = [("xmlns", NS)]
    if "event_attrs" in p:
        event_attributes = pick(draw, [[], [("xmlns:e", NS)], [("xmlns", NS), ("xmlns:e", NS)], [("xmlns", "")]])
    elif prefix_mode != "none" and chance(draw, 50):
        event_attributes = [("xmlns", NS), ("xmlns:e", NS), ("xmlns:ev", NS), ("xmlns:x", NS)]
    out = render(Node("Event", event_attributes, root_children), style)
    if "syntax" in p:
        out = inject_syntax(draw, out)
    if "event_close" in p:
        # An end tag framing does not recognise (the event then runs on).
        out = out[: -len("</Event>")] + pick(draw, ["</Event >", "</Event\n>", "</event>", "</e:Event>"])
    if "event_open" in p and out.startswith("<Event "):
        # `<Event` followed by a newline or tab instead of a space.
        out = "<Event" + pick(draw, ["\n", "\t", "\r\n", "\n\n  "]) + out[len("<Event ") :]
    return out


# ---------------------------------------------------------------------------
# corruption (on bytes)
# ---------------------------------------------------------------------------

CORRUPTIONS = [
    "truncate",
    "insert_byte",
    "delete_byte",
    "replace_byte",
    "extra_close_data",
    "drop_end_tag",
    "stray_lt",
    "stray_amp",
    "invalid_utf8",
    "control_char",
    "nonchar",
    "drop_event_end",
]
INVALID_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80", b"\xe2\x82"]
CONTROL_CHARS = [b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x1b", b"\x1f"]


def corrupt(draw: Draw, data: bytes) -> bytes:
    """`data` (one event) with one corruption applied."""
    kind = pick(draw, CORRUPTIONS)
    n = len(data)
    pos = integer(draw, 0, n)
    if kind == "truncate":
        return data[: integer(draw, 0, max(0, n - 1))]
    if kind == "insert_byte":
        return data[:pos] + bytes([integer(draw, 0, 255)]) + data[pos:]
    if kind == "delete_byte":
        return data[:pos] + data[pos + 1 :]
    if kind == "replace_byte":
        return data[:pos] + bytes([integer(draw, 0, 255)]) + data[pos + 1 :]
    if kind == "extra_close_data":
        ends = [i for i in range(n) if data.startswith(b"</Data>", i)]
        if ends:
            at = pick(draw, ends) + len(b"</Data>")
            return data[:at] + b"</Data>" + data[at:]
        return data[:pos] + b"</Data>" + data[pos:]
    if kind == "drop_end_tag":
        ends = [i for i in range(n) if data.startswith(b"</", i)]
        if ends:
            at = pick(draw, ends)
            close = data.index(b">", at) + 1
            return data[:at] + data[close:]
        return data
    if kind == "drop_event_end":
        return data.replace(b"</Event>", b"</Evnt>", 1)
    if kind == "stray_lt":
        return data[:pos] + b"<" + data[pos:]
    if kind == "stray_amp":
        return data[:pos] + b"&" + data[pos:]
    if kind == "invalid_utf8":
        return data[:pos] + pick(draw, INVALID_UTF8) + data[pos:]
    if kind == "control_char":
        return data[:pos] + pick(draw, CONTROL_CHARS) + data[pos:]
    if kind == "nonchar":
        return data[:pos] + pick(draw, [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]) + data[pos:]
    raise AssertionError(kind)


# ---------------------------------------------------------------------------
# logs and files
# ---------------------------------------------------------------------------

JUNK = [
    "\n",
    " ",
    "junk text\n",
    "<EventLog>",
    "<Eventx>",
    "<EventData>",
    "</Event>",
    "<Events>",
    "&bogus; <",
    "<!-- <Event> -->",
    "2021-04-28 20:11:34 host sysmon: ",
    "<?xml version='1.0'?>",
    "\x00\x01",
    "<Event",
    "]]>",
    "<Event/>",
    "<Event></Event>",
]
LAYOUTS = ["lines", "concat", "pretty", "wrapped", "mixed"]


@st.composite
def log_text(draw, max_events: int = 10, corrupt_percent: int = 8) -> bytes:
    """A whole log in UTF-8 (possibly holding invalid bytes), before encoding."""
    pool = draw(st.lists(identities(), min_size=1, max_size=3))
    layout = pick(draw, LAYOUTS)
    crlf = chance(draw, 30)
    junk_percent = pick(draw, [0, 10, 40])
    n = integer(draw, 0, max_events)
    if layout in ("lines", "pretty", "mixed"):
        separator = "\n"
    elif layout == "wrapped":
        separator = pick(draw, ["\n", ""])
    else:
        separator = ""
    chunks: List[bytes] = []
    for _ in range(n):
        pretty = layout == "pretty" or (layout == "mixed" and chance(draw, 30))
        text = draw(events(pool, pretty=pretty))
        if crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        data = text.encode("utf-8")
        if chance(draw, corrupt_percent):
            data = corrupt(draw, data)
        if junk_percent and chance(draw, junk_percent):
            chunks.append(pick(draw, JUNK).encode("utf-8"))
        chunks.append(data)
        sep = pick(draw, ["\n", "", " ", "\n\n"]) if layout == "mixed" else separator
        if crlf:
            sep = sep.replace("\n", "\r\n")
        chunks.append(sep.encode("utf-8"))
    body = b"".join(chunks)
    if layout == "wrapped":
        nl = b"\r\n" if crlf else b"\n"
        head = pick(draw, [b'<?xml version="1.0" encoding="UTF-8"?>', b"<?xml version='1.0' encoding='utf-16'?>", b""])
        body = head + nl + b"<Events>" + nl + body + b"</Events>" + (nl if chance(draw, 50) else b"")
    if junk_percent and chance(draw, junk_percent):
        body += pick(draw, JUNK).encode("utf-8")
    if body and chance(draw, 5):
        body = body[: integer(draw, 0, len(body))]
    return body


ENCODINGS = ["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be"]


def encode(data: bytes, encoding: str, gzipped: bool = False) -> bytes:
    """The UTF-8 stream `data` as a file in `encoding`, gzip-compressed or not.

    Invalid UTF-8 in `data` becomes lone surrogates in UTF-16 (which decode
    back to invalid UTF-8), so every encoding means the same events.
    """
    if encoding == "utf-8":
        raw = data
    elif encoding == "utf-8-bom":
        raw = b"\xef\xbb\xbf" + data
    elif encoding.startswith("utf-16"):
        codec = "utf-16-le" if "-le" in encoding else "utf-16-be"
        raw = data.decode("utf-8", "surrogateescape").encode(codec, "surrogatepass")
        if encoding.endswith("-bom"):
            raw = (b"\xff\xfe" if codec == "utf-16-le" else b"\xfe\xff") + raw
    else:
        raise ValueError(encoding)
    if gzipped:
        raw = gzip.compress(raw, mtime=0)
    return raw


class LogFile(NamedTuple):
    """A generated file: its bytes and how they were made."""

    raw: bytes
    encoding: str
    gzipped: bool
    text: bytes  # the UTF-8 stream before encoding

    def __repr__(self) -> str:
        return f"LogFile(encoding={self.encoding!r}, gzipped={self.gzipped}, raw={self.raw!r})"


@st.composite
def log_files(
    draw, max_events: int = 10, encodings: Sequence[str] = tuple(ENCODINGS), gzip_percent: int = 20
) -> LogFile:
    """A whole log file: `log_text` in one of `encodings`, maybe gzipped."""
    text = draw(log_text(max_events=max_events))
    encoding = pick(draw, list(encodings))
    gzipped = chance(draw, gzip_percent)
    raw = encode(text, encoding, gzipped)
    if encoding.startswith("utf-16") and not gzipped and raw and chance(draw, 5):
        raw = raw[:-1]  # a dangling odd byte
    return LogFile(raw, encoding, gzipped, text)


def utf8_safe_for_sniffing(data: bytes) -> bytes:
    """`data`, with a newline in front if its first bytes would be sniffed as
    something other than BOM-less UTF-8 (so every encoding of it means the
    same stream)."""
    if data[:2] in (b"\x1f\x8b", b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<") or data[:3] == b"\xef\xbb\xbf":
        return b"\n" + data
    return data


# ---------------------------------------------------------------------------
# hand-written events for explicit tests
# ---------------------------------------------------------------------------

# The bare layout: only the System and Data elements the scan reads.
simple_event = functools.partial(sysmon_event, layout="bare")
