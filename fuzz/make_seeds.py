#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from generated events.

fuzz/seeds/: small whole files of Sysmon EID 15 events (tests/events.py) in
the layouts, quotings, escapes, encodings and damage the scanner meets.
fuzz/seeds-partial/: the partial result of scanning each of those files,
serialized as cluster workers send it, without its version line (needs the
built package). Deterministic: the same script always writes the same bytes.

    python3 fuzz/make_seeds.py
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from events import sysmon_event  # noqa: E402


def seeds() -> dict:
    bare = sysmon_event(layout="bare")
    short = sysmon_event(layout="short")
    full = sysmon_event(layout="full", q='"')
    chrome = sysmon_event(layout="short", image=r"C:\Program Files\Google\Chrome\Application\chrome.exe")
    tricks = sysmon_event(
        layout="bare",
        image=r"C:\x\&#x74;ele<!-- c -->gram<![CDATA[.exe]]>",
        target=r"C:\R&amp;D\a.txt&#58;Zone&#x2e;Identifier",
        event_id="\n1&#53;\t",
        time="2021-04-28T20:11:34",
    )
    prefixed = bare.replace("<Event xmlns=", "<Event xmlns:e=").replace("<System>", "<e:System>").replace(
        "</System>", "</e:System>"
    )
    lines = "\r\n".join([bare, chrome, sysmon_event(layout="bare", process_id="2")]) + "\r\n"
    pretty = "<?xml version='1.0' encoding='utf-8'?>\n<Events>\n" + short.replace("><", ">\n  <") + "\n</Events>\n"
    return {
        "bare.xml": bare.encode(),
        "short.xml": short.encode(),
        "full_double_quotes.xml": full.encode(),
        "near_miss.xml": chrome.encode(),
        "references_comment_cdata.xml": tricks.encode(),
        "prefixed.xml": prefixed.encode(),
        "lines_crlf.log": lines.encode(),
        "concatenated.log": (bare + short).encode(),
        "wrapped_pretty.xml": pretty.encode(),
        "unterminated_then_good.log": (short[:300] + "\n" + bare + "\n").encode(),
        "utf8_bom.log": b"\xef\xbb\xbf" + bare.encode(),
        "utf16le_bom.log": b"\xff\xfe" + bare.encode("utf-16-le"),
        "utf16be_bom.log": b"\xfe\xff" + bare.encode("utf-16-be"),
        "utf16le.log": bare.encode("utf-16-le"),
        "gzip.log.gz": gzip.compress(lines.encode(), mtime=0),
        "non_ascii.xml": sysmon_event(layout="bare", computer="ДМИТРИЙ-ПК 東京 💻").encode(),
    }


WHOLE_FILE = 2**64 - 1


def main() -> None:
    from sysmon_hunt import _native

    out = HERE / "seeds"
    partials = HERE / "seeds-partial"
    out.mkdir(exist_ok=True)
    partials.mkdir(exist_ok=True)
    for name, data in sorted(seeds().items()):
        (out / name).write_bytes(data)
        serialized = _native.scan_range(str(out / name), 0, 0, WHOLE_FILE).to_bytes()
        # Without its version line, which the `partial` target adds itself.
        (partials / name).write_bytes(serialized.split(b"\n", 1)[1])
    print(f"wrote {len(seeds())} seeds to {out} and {partials}")


if __name__ == "__main__":
    main()
