"""The core's XML name tables (`rust/xml_names.rs`) must be expat's.

The reference judges well-formedness with Python's expat, which checks names
against the tables of XML 1.0 fourth edition (Appendix B: letters and digits
of Unicode 2.0, nothing outside the BMP), not the fifth edition's broad
ranges. The core carries those tables as ranges, generated from expat itself
by this file: `python3 tests/test_xml_name_tables.py` rewrites them, and the
test fails when they drift (e.g. after an expat upgrade).
"""

from __future__ import annotations

import sys
import xml.parsers.expat
from pathlib import Path
from typing import List, Tuple

TABLE_PATH = Path(__file__).resolve().parent.parent / "rust" / "xml_names.rs"

Ranges = List[Tuple[int, int]]


def _well_formed(document: str) -> bool:
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(document.encode("utf-8"), True)
        return True
    except xml.parsers.expat.ExpatError:
        return False


def _ranges(code_points: List[int]) -> Ranges:
    ranges: Ranges = []
    for cp in code_points:
        if ranges and ranges[-1][1] + 1 == cp:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def expat_name_ranges() -> Tuple[Ranges, Ranges]:
    """(name-start ranges, name ranges) of non-ASCII characters, as expat judges them."""
    start, name = [], []
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if _well_formed(f"<{c}/>"):
            start.append(cp)
        if _well_formed(f"<a{c}/>"):
            name.append(cp)
    return _ranges(start), _ranges(name)


def render(start: Ranges, name: Ranges) -> str:
    def table(ranges: Ranges) -> str:
        rows = [f"    (0x{lo:04X}, 0x{hi:04X})," for lo, hi in ranges]
        return "\n".join(rows)

    return f"""//! Non-ASCII XML name characters, exactly as expat judges them (XML 1.0
//! fourth edition, Appendix B; nothing outside the BMP). Generated from
//! Python's expat by `tests/test_xml_name_tables.py`; do not edit by hand.

/// Inclusive ranges of non-ASCII characters that may start a name.
pub static NAME_START: [(u32, u32); {len(start)}] = [
{table(start)}
];

/// Inclusive ranges of non-ASCII characters that may follow in a name.
pub static NAME: [(u32, u32); {len(name)}] = [
{table(name)}
];
"""


def test_core_name_tables_are_expats() -> None:
    assert TABLE_PATH.read_text(encoding="utf-8") == render(*expat_name_ranges()), (
        "rust/xml_names.rs differs from this expat's tables; run `python3 tests/test_xml_name_tables.py` and rebuild"
    )


def test_expat_rejects_every_name_character_outside_the_bmp() -> None:
    # Sampled: the generated tables cover the BMP only.
    for cp in list(range(0x10000, 0x10400)) + [0x1F600, 0x20000, 0xE0100, 0x10FFFD]:
        assert not _well_formed(f"<{chr(cp)}/>")
        assert not _well_formed(f"<a{chr(cp)}/>")


if __name__ == "__main__":
    TABLE_PATH.write_text(render(*expat_name_ranges()), encoding="utf-8")
    print(f"wrote {TABLE_PATH}", file=sys.stderr)
