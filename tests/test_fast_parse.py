"""Property tests aimed at the seam between the two parsers of the core.

Every event the prefilter cannot rule out is parsed: first by a one-pass
fast path for the usual Sysmon shape (rust/fast_parse.rs), which hands any
event outside that shape to the strict general path. Both must give exactly
what the pure-Python reference gives. The events here are nearly Sysmon-shaped
matching events (strategies.events, so every one is a candidate) with the
kinds of difference that sit on the seam: comments, CDATA, processing
instructions, entity and character references in text and attribute values,
odd white space in tags, either quote, namespace prefixes, duplicate Data
names, `>` in attribute values, deep nesting, many attributes, truncations
and garbled bytes anywhere.

For a single framed event whose bytes hold both prefilter literals the core
must parse it, so its malformed verdict must equal the reference's exactly
(elsewhere the core may skip checking what cannot match).
"""

from __future__ import annotations

import tempfile
from typing import List

from hypothesis import given, note
from hypothesis import strategies as st

import strategies as S
import sysmon_hunt
from oracle import write_files
from sysmon_hunt import reference

#: Rewrites of one spot of a Sysmon-shaped event, at the fast path's edges:
#: (what to find, what to put there). Some keep the event in the fast path's
#: shape, some push it to the strict path, some make it malformed.
SEAM_REWRITES = [
    ("><", ">\r\n<"),
    ("><", ">\n  <"),
    ("><", "> \t<"),
    ("</Data>", "</Data >"),
    ("</Data>", "</Data\n>"),
    ("</Data>", "</Data>>"),
    ("</Data>", "</data>"),
    ("</EventData>", "</EventData ><!-- x -->"),
    ("'/>", "' />"),
    ('"/>', '" />'),
    ("'/>", "'/ >"),
    ("Name=", " Name = "),
    ("Name=", "Name\t=\n"),
    ("Name='Image'", "Name='Im&#97;ge'"),
    ('Name="Image"', 'Name="Im&#x61;ge"'),
    ("Name='Image'", "Name='Image' Name='Hash'"),
    ("Name='Image'", "Name='Image' name='Hash'"),
    ("Name='Image'", "Name='Image' a:Name='Hash'"),
    ("Name='Image'", "xmlns:Name='Hash' Name='Image'"),
    ("Name='Image'", "Name='Image'x='1'"),
    ("Name='Image'", "Name='Ima>ge'"),
    ("Name='Image'", "Name='Image\t'"),
    ("Name='Hash'", "Name='Image'"),
    ("<EventData>", "<EventData><Data Name='Image'>C:\\x\\chrome.exe</Data>"),
    ("</EventData>", "<Data Name='Image'>C:\\x\\chrome.exe</Data></EventData>"),
    ("<EventData>", "<EventData>" + "<x>" * 17 + "</x>" * 17),
    ("<EventData>", "<EventData>" + "<x>" * 15 + "</x>" * 15),
    ("<Correlation", "<Correlation " + " ".join("a%d='%d'" % (i, i) for i in range(17))),
    ("<Correlation", "<Correlation " + " ".join("a%d='%d'" % (i, i) for i in range(15))),
    ("<System>", "<System xmlns:e='urn:x'>"),
    ("<System>", "<e:System>"),
    ("</System>", "</e:System>"),
    ("<EventID>", "<EventID><![CDATA[]]>"),
    ("<EventID>", "<EventID><?pi x?>"),
    ("<EventID>", "<EventID><!---->"),
    ("</EventID>", "&#x20;</EventID>"),
    ("</EventID>", "]]></EventID>"),
    ("</EventID>", "&amp</EventID>"),
    ("<Computer>", "<Computer>&lt;&gt;&amp;&quot;&apos;"),
    ("<Computer>", "<Computer>\u00e9\u6237\U0001f600"),
    ("SystemTime=", "SystemTime =\r\n"),
    ("SystemTime='", "SystemTime='&#32;"),
    ("<Provider ", "<Provider\n"),
    ("<Event ", "<Event\txmlns:e='u' "),
    ("</Event>", "</Event><x/>"),
]


@st.composite
def seam_event(draw: st.DrawFn) -> bytes:
    """One nearly Sysmon-shaped matching event, possibly garbled."""
    pool = [draw(S.identities())]
    text = draw(S.events(pool, pretty=S.chance(draw, 20)))
    for _ in range(S.integer(draw, 1, 3)):
        kind = S.pick(draw, ["rewrite", "rewrite", "rewrite", "syntax"])
        if kind == "syntax":
            text = S.inject_syntax(draw, text)
            continue
        find, replace = S.pick(draw, SEAM_REWRITES)
        spots = [i for i in range(len(text)) if text.startswith(find, i)]
        if spots:
            at = S.pick(draw, spots)
            text = text[:at] + replace + text[at + len(find) :]
    data: bytes = text.encode("utf-8")
    if S.chance(draw, 15):
        data = S.corrupt(draw, data)
    return data


def holds_both_literals(raw: bytes) -> bool:
    """Whether the event framed from `raw` (through its first `</Event>`,
    which may come early, e.g. inside an attribute value) holds both of the
    prefilter's literals as they are written."""
    end = raw.find(b"</Event>")
    lower = (raw if end == -1 else raw[: end + len(b"</Event>")]).lower()
    return b"telegram.exe" in lower and b":zone.identifier" in lower


@given(seam_event())
def test_one_event_at_the_seam_gives_the_reference_answer(raw: bytes) -> None:
    note(repr(raw))
    with tempfile.TemporaryDirectory() as directory:
        paths = write_files(directory, [raw])
        native = sysmon_hunt.scan(paths, threads=1)
        ref = reference.scan(paths)
    note(f"native {list(native)!r} {native.stats!r}; reference {list(ref)!r} {ref.stats!r}")
    assert list(native) == list(ref)
    assert native.stats.events == ref.stats.events
    assert native.stats.malformed <= ref.stats.malformed
    if ref.stats.events == 1 and holds_both_literals(raw):
        # A candidate for certain: the core parsed it, so it judged it.
        assert native.stats.malformed == ref.stats.malformed


@given(
    st.lists(seam_event(), min_size=1, max_size=8),
    st.sampled_from(["\n", "\r\n", "", " "]),
    st.sampled_from([1, 2]),
    st.one_of(st.just(0), st.integers(1, 200)),
)
def test_logs_of_seam_events_give_the_reference_answer(
    raws: List[bytes], separator: str, threads: int, chunk_size: int
) -> None:
    log = separator.encode().join(raws)
    with tempfile.TemporaryDirectory() as directory:
        paths = write_files(directory, [log])
        native = sysmon_hunt.scan(paths, threads=threads, chunk_size=chunk_size, split_size=97)
        ref = reference.scan(paths)
    note(f"native {list(native)!r} {native.stats!r}; reference {list(ref)!r} {ref.stats!r}")
    assert list(native) == list(ref)
    assert native.stats.events == ref.stats.events
    assert native.stats.malformed <= ref.stats.malformed
