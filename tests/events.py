"""One builder of hand-written Sysmon EID 15 events for explicit tests.

`sysmon_event` writes one event on one line in Splunk attack_data style
(xmlns on <Event>, every element on the same line). Values are inserted
verbatim, so they may hold entity references or be already escaped.

The tests were written against three shapes of the same event, kept here
byte for byte as `layout`:

* ``"bare"``  - only the System and Data elements the scan reads
  (``strategies.simple_event``);
* ``"short"`` - plus Version, EventRecordID, Channel, RuleName and Contents
  (``test_cli``);
* ``"full"``  - every element of a real Sysmon EID 15 record
  (``test_reference``).
"""

from __future__ import annotations

from typing import Optional

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
GUID = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
IMAGE = r"C:\Users\DefaultAccount\AppData\Roaming\Telegram Desktop\Telegram.exe"
TARGET = r"C:\Users\DefaultAccount\Downloads\Telegram Desktop\Good(NLA).txt:Zone.Identifier"
HASH = (
    "MD5=C785C55D5FA3443A11B8417209C4B524,"
    "SHA256=D07777E0DC36EBECCE3FA9644F0F44DC4A0B7EDE0CBC1F5D33E8D6CB07AF5B5C,"
    "IMPHASH=00000000000000000000000000000000"
)
TIME = "2021-04-28T20:11:34.709744300Z"
COMPUTER = "project-mumbai-host"
PROVIDER = "Microsoft-Windows-Sysmon"

LAYOUTS = ("bare", "short", "full")


def sysmon_event(
    *,
    layout: str,
    provider: str = PROVIDER,
    event_id: str = "15",
    time: str = TIME,
    computer: str = COMPUTER,
    process_id: str = "7000",
    image: str = IMAGE,
    target: str = TARGET,
    hash: Optional[str] = HASH,
    extra_data: str = "",
    q: str = "'",
) -> str:
    """One event on one line; see the module docstring for `layout`.

    `hash` None leaves the Hash Data out. `extra_data` is raw markup put
    right after the Hash Data (before Contents where the layout has it).
    `q` is the quote used around every attribute value.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    full = layout == "full"
    bare = layout == "bare"

    def data(name: str, value: str) -> str:
        return f"<Data Name={q}{name}{q}>{value}</Data>"

    parts = [
        f"<Event xmlns={q}{NS}{q}><System><Provider Name={q}{provider}{q} Guid={q}{GUID}{q}/>",
        f"<EventID>{event_id}</EventID>",
    ]
    if not bare:
        parts.append("<Version>2</Version>")
    if full:
        parts.append("<Level>4</Level><Task>15</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>")
    parts.append(f"<TimeCreated SystemTime={q}{time}{q}/>")
    if not bare:
        parts.append("<EventRecordID>667860</EventRecordID>")
    if full:
        parts.append(f"<Correlation/><Execution ProcessID={q}1952{q} ThreadID={q}2428{q}/>")
    if not bare:
        parts.append("<Channel>Microsoft-Windows-Sysmon/Operational</Channel>")
    parts.append(f"<Computer>{computer}</Computer>")
    if full:
        parts.append(f"<Security UserID={q}S-1-5-18{q}/>")
    parts.append("</System><EventData>")
    if not bare:
        parts.append(data("RuleName", "-"))
    if full:
        parts.append(data("UtcTime", "2021-04-28 20:11:34.709"))
        parts.append(data("ProcessGuid", "{ED2ECF8A-C154-6089-F967-00000000BB01}"))
    parts += [data("ProcessId", process_id), data("Image", image), data("TargetFilename", target)]
    if full:
        parts.append(data("CreationUtcTime", "2021-04-28 20:11:33.238"))
    if hash is not None:
        parts.append(data("Hash", hash))
    parts.append(extra_data)
    if not bare:
        parts.append(data("Contents", "[ZoneTransfer]  ZoneId=3  "))
    parts.append("</EventData></Event>")
    return "".join(parts)
