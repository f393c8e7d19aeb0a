"""Property tests: the same generated events, written as XML and as every
JSON shape and layout, give exactly the XML's hits, in the core and in the
reference (docs/json.md)."""

from __future__ import annotations

import io
import os
import tempfile
from typing import List

from hypothesis import event, given
from hypothesis import strategies as st
from json_events import SHAPES, Ev, JsonStyle, compress, json_array, json_record, ndjson, summary, xml_log

import sysmon_hunt
from strategies import (
    HASHES,
    IMAGE_NEAR_MISSES,
    TARGET_NEAR_MISSES,
    USERS,
    case_variant,
    chance,
    identities,
    pick,
    valid_time,
)
from sysmon_hunt import reference

PROVIDERS = ["Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon", "Microsoft-Windows-Security-Auditing", "Sysmon"]
EVENT_IDS = ["15", "15", "15", " 15 ", "1", "11", "150"]


@st.composite
def abstract_events(draw) -> Ev:
    ident = draw(identities())
    provider = case_variant(draw, pick(draw, PROVIDERS))
    image = ident.image if chance(draw, 85) else case_variant(draw, pick(draw, IMAGE_NEAR_MISSES))
    target = ident.target if chance(draw, 85) else pick(draw, TARGET_NEAR_MISSES)
    data = [("RuleName", "-"), ("ProcessId", ident.process_id), ("Image", image), ("TargetFilename", target)]
    if chance(draw, 90):
        data.append(("Hash", pick(draw, HASHES)))
    if chance(draw, 30):
        data.append(("User", pick(draw, USERS)))
    return Ev(provider, pick(draw, EVENT_IDS), valid_time(draw), ident.computer, tuple(data))


def write_temp(data: bytes, suffix: str) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


@given(
    events=st.lists(abstract_events(), max_size=8),
    shape=st.sampled_from(SHAPES),
    layout=st.sampled_from(["ndjson", "ndjson_crlf", "array", "array_pretty"]),
    packing=st.sampled_from(["plain", "plain", "gzip", "zstd", "stream"]),
    bom=st.booleans(),
    seed=st.integers(0, 2**32),
    escape_percent=st.sampled_from([0, 0, 5, 50]),
    ascii_only=st.booleans(),
    numbers=st.booleans(),
    shuffle=st.booleans(),
    extra_fields=st.booleans(),
    split_size=st.sampled_from([0, 97, 1000]),
    chunk_size=st.sampled_from([0, 1, 13, 4096]),
    threads=st.sampled_from([0, 1]),
)
def test_every_shape_gives_the_hits_of_the_xml(
    events: List[Ev],
    shape,
    layout,
    packing,
    bom,
    seed,
    escape_percent,
    ascii_only,
    numbers,
    shuffle,
    extra_fields,
    split_size,
    chunk_size,
    threads,
) -> None:
    style = JsonStyle(seed, shuffle, extra_fields, escape_percent, ascii_only, numbers)
    records = [json_record(ev, shape, style) for ev in events]
    if layout.startswith("ndjson"):
        text = ndjson(records, crlf=layout.endswith("crlf"), bom=bom)
    else:
        text = json_array(records, pretty=layout.endswith("pretty"), bom=bom)
    data = compress(text, packing if packing in ("gzip", "zstd") else "none")
    xml_path = write_temp(xml_log(events), ".xml")
    json_path = write_temp(data, ".json")
    try:
        expected = sysmon_hunt.scan(xml_path)
        options = dict(split_size=split_size, chunk_size=chunk_size, threads=threads)
        if packing == "stream":
            with open(json_path, "rb") as handle:
                core = sysmon_hunt.scan(io.BufferedReader(io.BytesIO(handle.read())), **options)
        else:
            core = sysmon_hunt.scan(json_path, **options)
        oracle = reference.scan_bytes(data, path=json_path)
    finally:
        os.unlink(xml_path)
        os.unlink(json_path)
    if events:
        prefix = {"gzip": "gzip+", "zstd": "zstd+"}.get(packing, "")
        assert core.stats.inputs[0].format == prefix + "json"
        assert oracle.stats.inputs[0].format == prefix + "json"
    assert summary(core) == summary(expected)
    assert summary(oracle) == summary(expected)
    assert core.stats.json_records == oracle.stats.json_records == len(events)
    assert oracle.stats.json_events == len(events)
    assert core.stats.json_events <= oracle.stats.json_events
    assert core.stats.malformed == oracle.stats.malformed == expected.stats.malformed
    hit_events = sum(hit.count for hit in expected)
    assert core.stats.json_events >= hit_events
    event(f"hits: {min(hit_events, 3)}")


@given(
    events=st.lists(abstract_events(), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
    by=st.sampled_from(
        [
            None,
            ["dest", "EventCode", "process_name", "process_id", "TargetFilename", "Hash"],
            ["Computer", "Channel", "User"],
            ["EventID", "Image"],
        ]
    ),
)
def test_by_fields_and_users_read_the_same_values(events: List[Ev], seed, by) -> None:
    """Other groupings and the User values come from the same mapping."""
    xml_path = write_temp(xml_log(events), ".xml")
    try:
        expected = sysmon_hunt.scan(xml_path, by=by, users=True)
    finally:
        os.unlink(xml_path)
    for shape in ("evtx", "ecs", "nxlog", "splunk"):
        text = ndjson([json_record(ev, shape, JsonStyle(seed)) for ev in events])
        core = sysmon_hunt.scan(io.BytesIO(text), by=by, users=True)
        oracle = reference.scan_bytes(text, by=by, users=True)
        assert summary(core) == summary(expected), shape
        assert core.users == expected.users, shape
        assert summary(oracle) == summary(core), shape
        assert oracle.users == core.users, shape
