"""The EVTX binary candidate test: with it (the default), without it
(`evtx_prefilter=False`, every record rendered) and the pure-Python
reference on the writer's XML twin must give the same answer, on generated
files holding every BinXML encoding of the values the detection reads and
the hostile cases of the text path, and on the real corpus."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
from evtx_writer import (
    ENCODINGS,
    Data,
    Event,
    filetime_of,
    number,
    write_evtx,
    xml_twin,
)
from hypothesis import given
from hypothesis import strategies as st

import sysmon_hunt
from strategies import (
    FILE_NAMES,
    HASHES,
    IMAGE_NEAR_MISSES,
    IMAGE_ODD_MATCHES,
    TARGET_NEAR_MISSES,
    case_variant,
    chance,
    identities,
    integer,
    pick,
)
from sysmon_hunt import reference

CHUNK = 65536
HEADER = 4096
GUID = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
PROVIDERS = [
    "Microsoft-Windows-Sysmon",
    "microsoft-windows-SYSMON",
    "Microsoft-Windows-Sysmon ",
    "Microsoft-Windows-Security-Auditing",
    "Linux-Sysmon",
]
OTHER_EVENT_IDS = [1, 3, 11, 150, 0, 65535]


def scan_three_ways(events: Sequence[Event], **options: object) -> tuple[object, object, object]:
    """The scans of `events` written as EVTX (prefiltered, fully rendered)
    and of their XML twin by the reference."""
    with tempfile.TemporaryDirectory() as folder:
        evtx = Path(folder) / "generated.evtx"
        evtx.write_bytes(write_evtx(events))
        twin = Path(folder) / "generated.xml.log"
        twin.write_bytes(xml_twin(events))
        fast = sysmon_hunt.scan(evtx, **options)  # type: ignore[arg-type]
        full = sysmon_hunt.scan(evtx, evtx_prefilter=False, **options)  # type: ignore[arg-type]
        oracle = reference.scan(twin)
    return fast, full, oracle


def assert_same(events: Sequence[Event], **options: object) -> None:
    fast, full, oracle = scan_three_ways(events, **options)
    assert list(full) == list(oracle)  # type: ignore[call-overload]
    assert list(fast) == list(full)  # type: ignore[call-overload]
    assert fast.stats.events == full.stats.events == oracle.stats.events == len(events)  # type: ignore[attr-defined]
    # Written files are well-formed: nothing is malformed on either path.
    assert fast.stats.malformed == full.stats.malformed == 0  # type: ignore[attr-defined]


def hit(
    image: str = r"C:\T\Telegram.exe",
    target: str = r"C:\d\a.exe:Zone.Identifier",
    nested_data: bool = False,
    **encodings: str,
) -> Event:
    fields = [
        ("RuleName", "-"),
        ("ProcessGuid", GUID),
        ("ProcessId", "7000"),
        ("Image", image),
        ("TargetFilename", target),
        ("Hash", HASHES[0]),
    ]
    data = tuple(Data(name, value, encodings.get(name, "utf16")) for name, value in fields)
    moment = datetime(2021, 4, 28, 20, 11, 34, 709744, tzinfo=timezone.utc)
    return Event("Microsoft-Windows-Sysmon", 15, filetime_of(moment) + 3, "host", data, nested_data=nested_data)


@pytest.mark.parametrize("nested_data", [False, True])
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("field", ["Image", "TargetFilename"])
def test_every_encoding_of_a_hit_is_found(field: str, encoding: str, nested_data: bool) -> None:
    events = number([hit(nested_data=nested_data, **{field: encoding})])
    assert events[0].data[3 if field == "Image" else 4].encoding == encoding
    fast, full, _ = scan_three_ways(events)
    assert len(list(fast)) == len(list(full)) == 1  # type: ignore[call-overload]
    assert_same(events)


def test_encodings_hidden_from_the_search_still_match() -> None:
    """The needles spelled only by joining pieces, a character reference,
    dropped NULs or a nested value: never visible as one run of bytes."""
    cases = [
        {"Image": "ansi_nul", "TargetFilename": "subsplit"},
        {"Image": "split", "TargetFilename": "charref"},
        {"Image": "nested", "TargetFilename": "nested"},
        {"Image": "template", "TargetFilename": "ansi"},
    ]
    events = number([hit(**case) for case in cases] + [hit(image=r"C:\x\chrome.exe", **cases[1])])
    fast, _full, _oracle = scan_three_ways(events)
    assert sum(h.count for h in fast) == 4  # type: ignore[attr-defined]
    assert_same(events)


@st.composite
def generated_events(draw: st.DrawFn) -> list[Event]:
    """A log of Sysmon-like events: hits, near misses, other providers and
    event IDs, case variants, duplicated and missing fields, each value in
    a random BinXML encoding."""
    pool = [draw(identities()) for _ in range(integer(draw, 1, 3))]
    events = []
    for _ in range(integer(draw, 1, 30)):
        who = pick(draw, pool)
        provider = PROVIDERS[0] if chance(draw, 75) else pick(draw, PROVIDERS)
        event_id = 15 if chance(draw, 80) else pick(draw, OTHER_EVENT_IDS)
        image = who.image
        if chance(draw, 25):
            image = case_variant(draw, pick(draw, IMAGE_NEAR_MISSES + IMAGE_ODD_MATCHES))
        target = who.target
        if chance(draw, 25):
            target = pick(draw, FILE_NAMES) + case_variant(draw, pick(draw, TARGET_NEAR_MISSES))
        fields = [
            ("RuleName", "-"),
            ("UtcTime", "2021-04-28 20:11:34.709"),
            ("ProcessGuid", GUID),
            ("ProcessId", who.process_id),
            ("Image", image),
            ("TargetFilename", target),
            ("Hash", who.hash),
        ]
        fields = [f for f in fields if not chance(draw, 8)]  # missing fields
        if fields and chance(draw, 10):  # a duplicate: the first one counts
            name, _ = pick(draw, fields)
            fields.append((name, pick(draw, [r"C:\x\telegram.exe", "x:Zone.Identifier", ""])))
        data = tuple(Data(name, value, pick(draw, ENCODINGS)) for name, value in fields)
        seconds = integer(draw, 0, 10**9)
        moment = datetime.fromtimestamp(946684800 + seconds, tz=timezone.utc)
        filetime = filetime_of(moment) + integer(draw, 0, 9_999_999)
        computer = pick(draw, [who.computer, "other-host"])
        events.append(Event(provider, event_id, filetime, computer, data, nested_data=chance(draw, 50)))
    return number(events)


@given(generated_events(), st.sampled_from([1, 2]))
def test_generated_evtx_gives_the_full_render_and_the_xml_twin(events: list[Event], threads: int) -> None:
    assert_same(events, threads=threads)


@given(
    generated_events(),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_damaged_bytes_never_lose_a_hit(events: list[Event], damage: list[tuple[float, int]]) -> None:
    """Bytes overwritten anywhere in the chunks: the records the crate still
    renders give the same hits on both paths, every record header read is
    an event on both, and the prefilter finds no more malformed records."""
    data = bytearray(write_evtx(events))
    for where, byte in damage:
        data[HEADER + int(where * (len(data) - HEADER))] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.evtx"
        path.write_bytes(bytes(data))
        fast = sysmon_hunt.scan(path, threads=1)
        full = sysmon_hunt.scan(path, threads=1, evtx_prefilter=False)
    assert list(fast) == list(full)
    assert fast.stats.events == full.stats.events
    assert fast.stats.malformed <= full.stats.malformed
    reasons = {m.reason for m in fast.stats.malformed_examples}
    assert not any("internal error" in r for r in reasons), reasons


def test_many_chunks_and_shared_templates() -> None:
    """Enough events for several chunks, most of them sharing templates."""
    events = []
    for i in range(3000):
        image = r"C:\T\Telegram.exe" if i % 97 == 0 else r"C:\Program Files\Google\Chrome\chrome.exe"
        target = rf"C:\d\file{i}.exe" + (":Zone.Identifier" if i % 7 == 0 else "")
        events.append(hit(image=image, target=target, nested_data=i % 3 != 0))
    events = number(events)
    for options in ({"threads": 1}, {"threads": 2, "split_size": 3 * CHUNK}):
        assert_same(events, **options)


@pytest.mark.parametrize(
    "evtx",
    [
        "real/casimkhan-sysmongo/sysmon-operational.evtx",
        "real/omerbenamram-evtx/sysmon.evtx",
    ],
)
def test_the_corpus_on_both_paths(corpus_dir: Path, evtx: str) -> None:
    path = corpus_dir / evtx
    for threads in (1, 2):
        fast = sysmon_hunt.scan(path, threads=threads)
        full = sysmon_hunt.scan(path, threads=threads, evtx_prefilter=False)
        assert list(fast) == list(full)
        assert fast.stats.events == full.stats.events
        assert (fast.stats.malformed > 0) == (full.stats.malformed > 0) == ("omerbenamram" in evtx)
        # The corrupt chunk is found on both paths, at the same place.
        assert [m.offset for m in fast.stats.malformed_examples] == [m.offset for m in full.stats.malformed_examples]


def test_telegram_positives_in_real_records_on_both_paths(corpus_dir: Path, tmp_path: Path) -> None:
    """Real casimkhan records with `\\browser_broker.exe` turned into
    `\\Deskt\\Telegram.exe` inside their UTF-16 values (same length, so
    every offset stays): the prefiltered scan finds what the full render finds."""
    data = bytearray((corpus_dir / "real/casimkhan-sysmongo/sysmon-operational.evtx").read_bytes())
    old, new = "\\browser_broker.exe".encode("utf-16-le"), "\\Deskt\\Telegram.exe".encode("utf-16-le")
    assert len(old) == len(new)
    data = bytearray(bytes(data).replace(old, new))
    path = tmp_path / "derived.evtx"
    path.write_bytes(bytes(data))
    fast = sysmon_hunt.scan(path)
    full = sysmon_hunt.scan(path, evtx_prefilter=False)
    assert list(fast) == list(full)
    assert len(list(fast)) > 0
    assert fast.stats.events == full.stats.events == 2322


def test_a_damaged_chunk_on_both_paths(corpus_dir: Path, tmp_path: Path) -> None:
    data = bytearray((corpus_dir / "real/casimkhan-sysmongo/sysmon-operational.evtx").read_bytes())
    chunk3 = HEADER + 3 * CHUNK
    data[chunk3 + 600 : chunk3 + 604] = b"\xff\xff\xff\xff"  # inside a record of chunk 3
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    fast = sysmon_hunt.scan(path)
    full = sysmon_hunt.scan(path, evtx_prefilter=False)
    assert list(fast) == list(full)
    assert fast.stats.events == full.stats.events
    assert fast.stats.malformed <= full.stats.malformed
