"""Binary EVTX files, read through the evtx crate, against the figures of
shared/corpus/README.md and the XML exports of the same records. (The
pure-Python reference does not read EVTX; the XML twins are the oracle.
Field-by-field agreement of every record is checked in rust/evtx.rs.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import sysmon_hunt

SYSMON_2017 = "real/omerbenamram-evtx/sysmon.evtx"
CASIMKHAN = "real/casimkhan-sysmongo/sysmon-operational.evtx"
CHUNK = 65536
HEADER = 4096


def test_a_corrupt_final_chunk_is_reported_and_the_good_records_kept(corpus_dir: Path) -> None:
    path = corpus_dir / SYSMON_2017
    for threads in (1, 2):
        result = sysmon_hunt.scan(path, threads=threads)
        assert result.stats.events == 358
        assert len(result) == 0
        assert result.stats.malformed >= 1
        first = result.stats.malformed_examples[0]
        assert (first.path, first.offset) == (str(path), HEADER + 9 * CHUNK)
        assert "chunk" in first.reason
        assert result.stats.inputs[0].format == "evtx"
        assert result.stats.bytes == path.stat().st_size


@pytest.mark.parametrize(
    "evtx, xml",
    [
        (SYSMON_2017, "real/omerbenamram-evtx/sysmon.xml.log"),
        (CASIMKHAN, "real/casimkhan-sysmongo/sysmon-operational.xml.log"),
    ],
)
def test_evtx_gives_the_answer_of_its_xml_export(corpus_dir: Path, evtx: str, xml: str) -> None:
    from_xml = sysmon_hunt.scan(corpus_dir / xml)
    for options in (dict(threads=1), dict(threads=2), dict(threads=2, split_size=1)):
        from_evtx = sysmon_hunt.scan(corpus_dir / evtx, **options)
        assert from_evtx.stats.events == from_xml.stats.events, options
        assert list(from_evtx) == list(from_xml), options
    assert sysmon_hunt.scan(corpus_dir / CASIMKHAN).stats.events == 2322


def test_evtx_through_a_file_object_and_mixed_with_text(corpus_dir: Path) -> None:
    with open(corpus_dir / SYSMON_2017, "rb") as handle:
        streamed = sysmon_hunt.scan(handle)
    assert streamed.stats.events == 358
    assert streamed.stats.inputs[0].format == "evtx"
    assert streamed.stats.bytes == (corpus_dir / SYSMON_2017).stat().st_size
    derived = corpus_dir / "real/casimkhan-sysmongo/sysmon-operational.telegram-derived.xml.log"
    mixed = sysmon_hunt.scan([corpus_dir / CASIMKHAN, derived, corpus_dir / SYSMON_2017], threads=2)
    assert mixed.stats.events == 2322 + 2322 + 358
    assert sum(h.count for h in mixed) == 30


def test_a_broken_evtx_header_names_the_file(corpus_dir: Path, tmp_path: Path) -> None:
    good = (corpus_dir / SYSMON_2017).read_bytes()
    short = tmp_path / "short.evtx"
    short.write_bytes(good[:1000])
    with pytest.raises(sysmon_hunt.ScanError, match="short.evtx.*EVTX"):
        sysmon_hunt.scan(short)
    wrong = tmp_path / "wrong.evtx"
    wrong.write_bytes(good[:32] + b"\xff\xff\xff\xff" + good[36:])  # header size
    with pytest.raises(sysmon_hunt.ScanError, match="wrong.evtx.*header"):
        sysmon_hunt.scan(wrong)
    # Inside a directory, the same file is skipped with its reason.
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(wrong, folder / "wrong.evtx")
    result = sysmon_hunt.scan(folder)
    assert result.stats.files_skipped == 1 and "EVTX" in result.stats.inputs[0].skipped


def test_a_damaged_chunk_in_the_middle_costs_only_that_chunk(corpus_dir: Path, tmp_path: Path) -> None:
    data = bytearray((corpus_dir / CASIMKHAN).read_bytes())
    chunk3 = HEADER + 3 * CHUNK
    data[chunk3 : chunk3 + 8] = b"XXXXXXXX"  # its magic
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    result = sysmon_hunt.scan(path, threads=2)
    whole = sysmon_hunt.scan(corpus_dir / CASIMKHAN)
    assert 0 < result.stats.events < whole.stats.events
    assert [(m.offset, "chunk" in m.reason) for m in result.stats.malformed_examples] == [(chunk3, True)]


def test_evtx_in_planned_ranges_merges_to_the_whole_scan(corpus_dir: Path) -> None:
    """The distributed path plans EVTX by chunk ranges; merged, they are the local scan."""
    from sysmon_hunt import _native

    path = str(corpus_dir / SYSMON_2017)
    (planned,) = _native.plan_path(path, 5 * CHUNK * 32)
    assert (planned.path, planned.format, planned.skipped) == (path, "evtx", None) and len(planned.ranges) > 1
    config = _native.ScanConfig()
    merged = _native.Partial()
    for start, owned in reversed(planned.ranges):
        merged.merge(_native.scan_range(path, 0, start, owned, config))
    split = merged.finish([planned], config)
    assert split == sysmon_hunt.scan(path)
