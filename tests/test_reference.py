"""Example-based tests of the pure-Python reference (the oracle) alone.

Each test writes a small log with tmp_path and asserts concrete values.
"""

from __future__ import annotations

import functools
import gzip
from datetime import datetime, timezone

import pytest

from events import HASH, IMAGE, NS, TARGET, sysmon_event
from sysmon_hunt.reference import scan, scan_bytes
from sysmon_hunt.results import BY_FIELDS, MAX_MALFORMED_EXAMPLES, Hit, InputStats, MalformedEvent

UTC = timezone.utc

# Every element of a real Sysmon EID 15 record; `hash=None` leaves Hash out.
event = functools.partial(sysmon_event, layout="full")


def write(tmp_path, text_or_bytes, name="sysmon.log"):
    path = tmp_path / name
    if isinstance(text_or_bytes, str):
        path.write_bytes(text_or_bytes.encode("utf-8"))
    else:
        path.write_bytes(text_or_bytes)
    return path


def lines(*events: str) -> str:
    return "".join(e + "\n" for e in events)


T0 = datetime(2021, 4, 28, 20, 11, 34, 709744, tzinfo=UTC)
EXPECTED = Hit("project-mumbai-host", "15", IMAGE, "7000", TARGET, HASH, 1, T0, T0)


# ---------------------------------------------------------------- basics


def test_one_matching_event(tmp_path):
    text = lines(event())
    path = write(tmp_path, text)
    result = scan(path)
    assert list(result) == [EXPECTED]
    hit = result[0]
    assert hit._fields[:6] == BY_FIELDS
    assert hit.firstTime == datetime(2021, 4, 28, 20, 11, 34, 709744, tzinfo=UTC)
    assert hit.firstTime.tzinfo is UTC
    s = result.stats
    assert (s.files, s.bytes, s.events, s.malformed, s.malformed_examples) == (1, len(text.encode()), 1, 0, ())


def test_path_forms(tmp_path):
    path = write(tmp_path, lines(event()))
    assert scan(str(path)) == scan(path) == scan([path]) == scan(iter([str(path)]))
    assert scan(path, threads=4, chunk_size=17) == scan(path)
    assert list(scan(bytes(path))) == [EXPECTED]
    both = scan([path, path])
    assert both.stats.files == 2 and both.stats.events == 2
    assert [h.count for h in both] == [2]
    empty = scan([])
    assert list(empty) == [] and empty.stats.files == 0 and empty.stats.events == 0


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan(tmp_path / "nope.log")


def test_scan_bytes_equals_scan(tmp_path):
    text = lines(event())
    path = write(tmp_path, text)
    assert scan_bytes(text.encode(), str(path)) == scan(path)


def test_corpus_style_real_event():
    # The same values as shared/corpus/.../sysmon_eventid_15_example_log.log.
    result = scan_bytes(event().encode())
    assert list(result) == [EXPECTED]


# ---------------------------------------------------------------- aggregation


def test_repeat_group_with_shuffled_times(tmp_path):
    times = [
        "2021-04-28T20:11:40.000000000Z",
        "2021-04-28T20:11:30.5Z",
        "2021-04-29T01:00:00Z",
        "2021-04-28T20:11:35.123456789Z",
    ]
    path = write(tmp_path, lines(*(event(time=t) for t in times)))
    (hit,) = scan(path)
    assert hit.count == 4
    assert hit.firstTime == datetime(2021, 4, 28, 20, 11, 30, 500000, tzinfo=UTC)
    assert hit.lastTime == datetime(2021, 4, 29, 1, 0, 0, tzinfo=UTC)


def test_groups_sorted_by_fields(tmp_path):
    path = write(
        tmp_path,
        lines(
            event(computer="zeta", process_id="2"),
            event(computer="alpha", process_id="9"),
            event(computer="alpha", process_id="10"),
            event(computer="Zeta", process_id="1"),
        ),
    )
    result = scan(path)
    assert [(h.Computer, h.process_id) for h in result] == [
        ("Zeta", "1"),
        ("alpha", "10"),
        ("alpha", "9"),
        ("zeta", "2"),
    ]
    assert all(h.count == 1 for h in result)


def test_aggregates_across_files(tmp_path):
    a = write(tmp_path, lines(event(time="2021-01-02T00:00:00Z")), "a.log")
    b = write(tmp_path, lines(event(time="2021-01-01T00:00:00Z")), "b.log")
    (hit,) = scan([a, b])
    assert hit.count == 2
    assert hit.firstTime == datetime(2021, 1, 1, tzinfo=UTC)
    assert hit.lastTime == datetime(2021, 1, 2, tzinfo=UTC)
    assert list(scan([b, a])) == list(scan([a, b]))
    assert scan([b, a]).stats.inputs == tuple(reversed(scan([a, b]).stats.inputs))


# ---------------------------------------------------------------- matching


@pytest.mark.parametrize(
    "image",
    [
        r"C:\x\TELEGRAM.EXE",
        r"C:\x\telegram.exe",
        r"C:\x\Telegram.exe",
        "telegram.exe",  # no backslash: the whole value is the basename
        r"\TeLeGrAm.ExE",
    ],
)
def test_image_variants_match(image):
    (hit,) = scan_bytes(event(image=image).encode())
    assert hit.Image == image


@pytest.mark.parametrize(
    "target",
    ["x:ZONE.identifier", "x.exe:Zone.Identifier", ":zone.identifier", "C:\\d\\f.zip:zOnE.iDeNtIfIeR"],
)
def test_target_variants_match(target):
    (hit,) = scan_bytes(event(target=target).encode())
    assert hit.TargetFilename == target


def test_provider_case_insensitive():
    (hit,) = scan_bytes(event(provider="MICROSOFT-windows-SYSMON").encode())
    assert hit.count == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"image": r"C:\x\telegram.exe.bak"},
        {"image": r"C:\x\nottelegram.exe"},
        {"image": r"C:\telegram.exe\x.exe"},
        {"image": "C:/x/telegram.exe"},  # forward slash: basename is the whole value
        {"image": r"C:\x\telegram.exe "},
        {"image": r"C:\x\telegram.exe\\"},
        {"image": "C:\\x\\telegram.\u212aexe"},  # not a case variant
        {"image": "C:\\x\\TELEGRAM.EXE".replace("E", "\u0415", 1)},
        {"target": "x:Zone.Identifier:$DATA"},
        {"target": "x:Zone.Identifier.txt"},
        {"target": "x.Zone.Identifier"},
        {"target": "x:Zone.Identifier "},
        {"event_id": "11"},
        {"event_id": "015"},
        {"event_id": "1 5"},
        {"event_id": ""},
        {"provider": "Linux-Sysmon"},
        {"provider": "Microsoft-Windows-Sysmon "},
        {"provider": "Microsoft-Windows-Sysmon/Operational"},
    ],
)
def test_near_misses_do_not_match(changes):
    result = scan_bytes(event(**changes).encode())
    assert list(result) == []
    assert result.stats.events == 1
    assert result.stats.malformed == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"provider": "Microsoft-Windows-Sy\u017fmon"},  # LONG S: casefold() gives 's'
        {"provider": "Micro\u017foft-Windows-Sysmon"},
        {"target": "x:zone.\u0130dentifier"},  # DOTTED CAPITAL I
        {"image": "C:\\x\\telegram.\u212aexe"},  # KELVIN SIGN: lower() gives 'k'
    ],
)
def test_case_folding_is_ascii_only(changes):
    assert list(scan_bytes(event(**changes).encode())) == []
    assert len(scan_bytes(event().encode())) == 1


@pytest.mark.parametrize("event_id", [" 15 ", "\t15\r\n", "\n15", "15\n\n", "&#32;15&#9;"])
def test_event_id_whitespace_trimmed(event_id):
    (hit,) = scan_bytes(event(event_id=event_id).encode())
    assert hit.EventCode == "15"


def test_event_id_non_xml_whitespace_not_trimmed():
    # U+00A0 and form feed are not XML whitespace (form feed is not even allowed).
    assert list(scan_bytes(event(event_id="\u00a015").encode())) == []


def test_missing_provider_or_eventid_does_not_match():
    text = event().replace("<Provider Name='Microsoft-Windows-Sysmon' ", "<Provider ")
    assert list(scan_bytes(text.encode())) == []
    text = event().replace("<EventID>15</EventID>", "")
    assert list(scan_bytes(text.encode())) == []


def test_element_with_child_has_no_value():
    text = event(image=r"C:\x\telegram.exe<b/>")
    result = scan_bytes(text.encode())
    assert list(result) == [] and result.stats.malformed == 0
    text = event(event_id="15<x/>")
    assert list(scan_bytes(text.encode())) == []


# ---------------------------------------------------------------- values


def test_character_references_decode():
    (hit,) = scan_bytes(event(image=r"C:\x\&#x74;elegram.exe").encode())
    assert hit.Image == r"C:\x\telegram.exe"
    (hit,) = scan_bytes(event(image=r"C:\x\&#116;elegram&#x2E;exe").encode())
    assert hit.Image == r"C:\x\telegram.exe"


def test_entity_references_decode():
    (hit,) = scan_bytes(event(target=r"C:\a&amp;b&lt;&gt;&quot;&apos;.txt:Zone.Identifier").encode())
    assert hit.TargetFilename == "C:\\a&b<>\"'.txt:Zone.Identifier"
    (hit,) = scan_bytes(event(computer="h&amp;st").encode())
    assert hit.Computer == "h&st"


def test_attribute_references_decode():
    text = event(provider="Microsoft-Windows-&#x53;ysmon")
    assert len(scan_bytes(text.encode())) == 1
    text = event().replace("Name='Image'", "Name='Im&#x61;ge'")
    assert len(scan_bytes(text.encode())) == 1


def test_cdata_and_comments_in_values():
    (hit,) = scan_bytes(event(image=r"C:\x\<![CDATA[tele]]><!-- c -->gram.exe<?pi x?>").encode())
    assert hit.Image == r"C:\x\telegram.exe"
    (hit,) = scan_bytes(event(hash=None, extra_data="<Data Name='Hash'><![CDATA[a&b<c]]></Data>").encode())
    assert hit.Hash == "a&b<c"


def test_whitespace_in_values_kept():
    (hit,) = scan_bytes(event(computer=" host ", hash=" MD5=1\r\nX ").encode())
    assert hit.Computer == " host "
    assert hit.Hash == " MD5=1\nX "  # CRLF normalised to LF, as XML requires


def test_capital_x_char_ref_is_malformed():
    text = lines(event(image=r"C:\x\&#X74;elegram.exe"))
    result = scan_bytes(text.encode(), "f.log")
    assert list(result) == []
    assert result.stats.events == 1 and result.stats.malformed == 1
    (m,) = result.stats.malformed_examples
    assert (m.path, m.offset) == ("f.log", 0)
    assert "well-formed" in m.reason


@pytest.mark.parametrize(
    "bad",
    [
        {"image": r"C:\x\&nbsp;telegram.exe"},  # undefined entity
        {"image": r"C:\x\&foo;"},
        {"image": "a & b"},  # bare ampersand
        {"image": "&#0;"},  # not an XML character
        {"image": "&#xFFFE;"},
        {"image": "\x01"},  # raw control character
        {"image": "]]>"},
        {"image": "<!-- a -- b -->"},
        {"hash": "<Data Name='Hash'>x</Dat>"},  # mismatched tag
        {"hash": "<Data Name='Hash' Name='Hash'>x</Data>"},  # duplicate attribute
    ],
)
def test_not_well_formed_is_malformed(bad):
    result = scan_bytes(lines(event(), event(**bad)).encode())
    assert result.stats.events == 2
    assert result.stats.malformed == 1
    assert result.stats.malformed_examples[0].offset == len(event()) + 1
    assert [h.count for h in result] == [1]


def test_invalid_utf8_is_malformed():
    data = lines(event()).encode() + event(image="C:\\x\\telegram.exe").encode().replace(b"C:\\x", b"C:\\\xff")
    result = scan_bytes(data)
    assert result.stats.events == 2 and result.stats.malformed == 1
    assert [h.count for h in result] == [1]


def test_undeclared_prefix_is_fine():
    text = (
        event()
        .replace("<Data Name='RuleName'>", "<x:Data y:Name='RuleName'>")
        .replace("-</Data><Data Name='UtcTime'>", "-</x:Data><Data Name='UtcTime'>")
    )
    result = scan_bytes(text.encode())
    assert result.stats.malformed == 0 and len(result) == 1


# ---------------------------------------------------------------- framing


def test_unterminated_event_then_next_found(tmp_path):
    broken = event()[: -len("</Event>")]
    text = broken + "\n" + event() + "\n"
    path = write(tmp_path, text)
    result = scan(path)
    assert list(result) == [EXPECTED]
    s = result.stats
    assert (s.events, s.malformed) == (2, 1)
    assert s.malformed_examples == (MalformedEvent(str(path), 0, "no </Event> before the next event start"),)


def test_unterminated_at_end_of_input():
    text = event() + "\n" + event()[:-3]
    result = scan_bytes(text.encode(), "x")
    assert [h.count for h in result] == [1]
    assert result.stats.events == 2 and result.stats.malformed == 1
    (m,) = result.stats.malformed_examples
    assert m == MalformedEvent("x", len(event()) + 1, "no </Event> before end of input")


def test_event_start_followers():
    # '<Events>' and '<EventData' are not event starts; '<Event/' is one.
    result = scan_bytes(b"<Events><EventX></EventX><Event/></Events>")
    assert result.stats.events == 1 and result.stats.malformed == 1
    result = scan_bytes(b"<Event\r\n/>junk</Event>")
    assert result.stats.events == 1 and result.stats.malformed == 1
    for start in (b"<Event ", b"<Event\t", b"<Event\n", b"<Event\r", b"<Event"):
        result = scan_bytes(start + b"></Event>")
        assert result.stats.events == 1 and result.stats.malformed == 0
    # '<Event' at the very end of input has no follower: not a start.
    assert scan_bytes(b"<Event").stats.events == 0


def test_text_outside_events_ignored():
    text = "garbage & <junk> \x00 " + event() + " more </Event> junk <Event "
    result = scan_bytes(text.encode())
    assert [h.count for h in result] == [1]
    assert result.stats.events == 2 and result.stats.malformed == 1
    assert result.stats.malformed_examples[0].offset == len(text) - len("<Event ")


def test_concatenated_on_one_line():
    result = scan_bytes((event() + event(time="2021-04-28T20:11:35Z")).encode())
    (hit,) = result
    assert hit.count == 2 and result.stats.events == 2


def test_events_wrapper_with_declaration_and_pretty_printing():
    ev = event()
    pretty = ev.replace("><", ">\r\n    <").replace("<EventID>15</EventID>", "<EventID>\r\n      15\r\n    </EventID>")
    text = "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\r\n<Events>\r\n" + pretty + "\r\n</Events>\r\n"
    result = scan_bytes(text.encode())
    (hit,) = result
    assert hit == EXPECTED
    assert result.stats.malformed == 0


def test_prefixed_elements():
    text = (
        "<Event xmlns:e='urn:x'><e:System><e:Provider e:Name='Microsoft-Windows-Sysmon'/>"
        "<e:EventID>15</e:EventID><e:TimeCreated e:SystemTime='2021-04-28T20:11:34.7Z'/>"
        "<e:Computer>h</e:Computer></e:System><e:EventData>"
        "<e:Data e:Name='ProcessId'>1</e:Data><e:Data Name='Image'>telegram.exe</e:Data>"
        "<Data Name='TargetFilename'>a:Zone.Identifier</Data><e:Data Name='Hash'>H</e:Data>"
        "</e:EventData></Event>"
    )
    (hit,) = scan_bytes(text.encode())
    t = datetime(2021, 4, 28, 20, 11, 34, 700000, tzinfo=UTC)
    assert hit == Hit("h", "15", "telegram.exe", "1", "a:Zone.Identifier", "H", 1, t, t)


def test_double_quotes_and_no_namespace():
    text = event().replace("'", '"').replace(f' xmlns="{NS}"', "")
    assert list(scan_bytes(text.encode())) == [EXPECTED]


def test_first_system_and_eventdata_count():
    # A second System / EventData is never looked at.
    text = event().replace(
        "</EventData></Event>", "</EventData><EventData><Data Name='Hash'>other</Data></EventData></Event>"
    )
    assert list(scan_bytes(text.encode())) == [EXPECTED]
    text = event().replace("<System>", "<System></System><System>")
    assert list(scan_bytes(text.encode())) == []


# ---------------------------------------------------------------- by-fields


@pytest.mark.parametrize(
    "changes",
    [
        {"hash": None},
        {"hash": "<Data Name='Hash'/>"},
        {"hash": ""},
        {"computer": ""},
        {"process_id": ""},
        {"hash": "<Data Name='Hash'><x>y</x></Data>"},
    ],
)
def test_missing_or_empty_by_field_drops_event(changes):
    result = scan_bytes(event(**changes).encode())
    assert list(result) == []
    assert result.stats.events == 1 and result.stats.malformed == 0


def test_missing_computer_or_process_id_drops_event():
    text = event().replace("<Computer>project-mumbai-host</Computer>", "")
    result = scan_bytes(text.encode())
    assert list(result) == [] and result.stats.malformed == 0
    text = event().replace("<Data Name='ProcessId'>7000</Data>", "")
    result = scan_bytes(text.encode())
    assert list(result) == [] and result.stats.malformed == 0


def test_whitespace_only_by_field_kept():
    (hit,) = scan_bytes(event(hash=" ").encode())
    assert hit.Hash == " "


def test_duplicated_data_first_wins():
    dup = "<Data Name='Hash'>second</Data><Data Name='Image'>C:\\x\\other.exe</Data>"
    (hit,) = scan_bytes(event(extra_data=dup).encode())
    assert hit.Hash == HASH and hit.Image == IMAGE
    # The first Image decides the match even when a later one would match.
    text = event(image=r"C:\x\other.exe", extra_data=f"<Data Name='Image'>{IMAGE}</Data>")
    assert list(scan_bytes(text.encode())) == []
    # The first Hash counts even if empty: the event is dropped.
    text = event(hash="", extra_data="<Data Name='Hash'>later</Data>")
    assert list(scan_bytes(text.encode())) == []


def test_data_name_compared_exactly():
    text = event(hash=None, extra_data="<Data Name='hash'>h</Data><Data Name=' Hash'>h</Data>")
    assert list(scan_bytes(text.encode())) == []


# ---------------------------------------------------------------- time


@pytest.mark.parametrize(
    "time, expected",
    [
        ("2021-04-28T20:11:34.709744300Z", datetime(2021, 4, 28, 20, 11, 34, 709744, tzinfo=UTC)),
        ("2021-04-28T20:11:34.9999999Z", datetime(2021, 4, 28, 20, 11, 34, 999999, tzinfo=UTC)),
        ("2021-04-28T20:11:34.1Z", datetime(2021, 4, 28, 20, 11, 34, 100000, tzinfo=UTC)),
        ("2021-04-28T20:11:34.000001", datetime(2021, 4, 28, 20, 11, 34, 1, tzinfo=UTC)),
        ("2021-04-28T20:11:34Z", datetime(2021, 4, 28, 20, 11, 34, tzinfo=UTC)),
        ("2021-04-28T20:11:34", datetime(2021, 4, 28, 20, 11, 34, tzinfo=UTC)),
        ("  2020-02-29T23:59:59.5Z\t", datetime(2020, 2, 29, 23, 59, 59, 500000, tzinfo=UTC)),
        ("&#10;2021-04-28T20:11:34Z&#13;", datetime(2021, 4, 28, 20, 11, 34, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.99999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2000-02-29T00:00:00Z", datetime(2000, 2, 29, tzinfo=UTC)),
    ],
)
def test_time_parsing(time, expected):
    (hit,) = scan_bytes(event(time=time).encode())
    assert hit.firstTime == hit.lastTime == expected


@pytest.mark.parametrize(
    "time",
    [
        "",
        "garbage",
        "2021-04-28 20:11:34Z",
        "2021-04-28T20:11:34.Z",
        "2021-04-28T20:11:34ZZ",
        "2021-04-28T20:11:34+00:00",
        "2021-04-28T20:11Z",
        "21-04-28T20:11:34Z",
        "2021-4-28T20:11:34Z",
        "0000-01-01T00:00:00Z",
        "2021-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2021-04-31T00:00:00Z",
        "2021-13-01T00:00:00Z",
        "2021-00-01T00:00:00Z",
        "2021-04-00T00:00:00Z",
        "2021-04-28T24:00:00Z",
        "2021-04-28T20:60:00Z",
        "2021-04-28T20:11:60Z",
        "2021-04-28t20:11:34Z",
        "2021-04-28T20:11:34z",
        "\u0662021-04-28T20:11:34Z",  # Arabic-Indic digit
        "2021-04-28T20:11:34.\u0665Z",
        "\u00a02021-04-28T20:11:34Z",  # NBSP is not XML whitespace
    ],
)
def test_bad_time_is_malformed(time):
    result = scan_bytes(lines(event(time=time)).encode(), "t.log")
    assert list(result) == []
    assert result.stats.malformed == 1
    (m,) = result.stats.malformed_examples
    assert m.path == "t.log" and m.offset == 0 and "SystemTime" in m.reason


def test_missing_time_is_malformed_only_when_matching_with_all_by_fields():
    no_time = event().replace("<TimeCreated SystemTime='2021-04-28T20:11:34.709744300Z'/>", "")
    result = scan_bytes(no_time.encode())
    assert list(result) == [] and result.stats.malformed == 1
    assert "SystemTime" in result.stats.malformed_examples[0].reason
    # Not matching: not malformed.
    result = scan_bytes(event(time="bad", event_id="11").encode())
    assert result.stats.malformed == 0
    # Matching but a by-field is missing: dropped, not malformed.
    result = scan_bytes(event(time="bad", hash=None).encode())
    assert result.stats.malformed == 0


def test_attribute_newline_in_time_is_normalised_and_trimmed():
    # A literal LF in an attribute value becomes a space; spaces are trimmed.
    (hit,) = scan_bytes(event(time="\n2021-04-28T20:11:34Z\r\n").encode())
    assert hit.firstTime == datetime(2021, 4, 28, 20, 11, 34, tzinfo=UTC)


# ---------------------------------------------------------------- encodings


def _same_as_utf8(tmp_path, data: bytes, utf8_text: str):
    enc = scan(write(tmp_path, data, "enc.log"))
    ref = scan(write(tmp_path, utf8_text, "utf8.log"))
    assert list(enc) == list(ref)
    assert enc.stats.events == ref.stats.events
    assert enc.stats.malformed == ref.stats.malformed
    assert enc.stats.bytes == len(data)
    return enc


def test_utf16le_with_bom(tmp_path):
    text = lines(event(), event(computer="h\u00e9\U0001f600"))
    result = _same_as_utf8(tmp_path, b"\xff\xfe" + text.encode("utf-16-le"), text)
    assert len(result) == 2 and result[0].Computer == "h\u00e9\U0001f600"


def test_utf16be_with_bom(tmp_path):
    text = lines(event(), event(time="2021-04-28T20:11:30Z"))
    result = _same_as_utf8(tmp_path, b"\xfe\xff" + text.encode("utf-16-be"), text)
    assert [h.count for h in result] == [2]


def test_utf16_without_bom(tmp_path):
    text = lines(event())
    _same_as_utf8(tmp_path, text.encode("utf-16-le"), text)
    _same_as_utf8(tmp_path, text.encode("utf-16-be"), text)


def test_utf16_odd_final_byte_dropped(tmp_path):
    text = lines(event())
    _same_as_utf8(tmp_path, b"\xff\xfe" + text.encode("utf-16-le") + b"\x00", text)


def test_utf16_lone_surrogate_is_malformed():
    bad = event(computer="h\ud800st").encode("utf-16-le", "surrogatepass")
    data = b"\xff\xfe" + lines(event()).encode("utf-16-le") + bad
    result = scan_bytes(data)
    assert result.stats.events == 2 and result.stats.malformed == 1
    # Offset is in the UTF-8 transcoding.
    assert result.stats.malformed_examples[0].offset == len(lines(event()).encode())
    assert [h.count for h in result] == [1]


def test_utf8_bom_kept_in_offsets(tmp_path):
    text = lines(event(), event()[:-1])
    data = b"\xef\xbb\xbf" + text.encode()
    result = scan(write(tmp_path, data))
    assert [h.count for h in result] == [1]
    assert result.stats.malformed_examples[0].offset == 3 + len(event()) + 1


def test_gzip(tmp_path):
    text = lines(event(), event(computer="other"))
    data = gzip.compress(text.encode())
    result = _same_as_utf8(tmp_path, data, text)
    assert len(result) == 2


def test_gzip_of_utf16(tmp_path):
    text = lines(event())
    data = gzip.compress(b"\xff\xfe" + text.encode("utf-16-le"))
    _same_as_utf8(tmp_path, data, text)


def test_gzip_is_one_layer(tmp_path):
    data = gzip.compress(gzip.compress(lines(event()).encode()))
    result = scan(write(tmp_path, data))
    assert list(result) == [] and result.stats.events == 0


def test_encoding_sniffed_not_from_name(tmp_path):
    text = lines(event())
    a = scan(write(tmp_path, gzip.compress(text.encode()), "plain.log"))
    b = scan(write(tmp_path, text, "looks.gz"))
    assert list(a) == list(b) == [EXPECTED]


# ---------------------------------------------------------------- stats


def test_malformed_examples_capped_and_ordered(tmp_path):
    n = MAX_MALFORMED_EXAMPLES + 3
    bad = event(image="&bad;")
    first = write(tmp_path, lines(*[bad] * n), "1.log")
    second = write(tmp_path, lines(bad), "2.log")
    result = scan([second, first])
    s = result.stats
    assert s.malformed == n + 1 and s.events == n + 1
    assert len(s.malformed_examples) == MAX_MALFORMED_EXAMPLES
    assert s.malformed_examples[0] == MalformedEvent(str(second), 0, s.malformed_examples[0].reason)
    step = len(bad) + 1
    assert [m.offset for m in s.malformed_examples[1:]] == [i * step for i in range(MAX_MALFORMED_EXAMPLES - 1)]
    assert {m.path for m in s.malformed_examples[1:]} == {str(first)}


def test_empty_file(tmp_path):
    result = scan(write(tmp_path, b""))
    assert list(result) == []
    path = str(tmp_path / "sysmon.log")
    assert tuple(result.stats) == (1, 0, 0, 0, (), 0, (InputStats(path, "xml", 0),), 0, 0, 0)
