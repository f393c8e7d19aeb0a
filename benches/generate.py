#!/usr/bin/env python3
"""Seeded generator of synthetic Windows Sysmon XML logs.

Writes logs shaped like real Sysmon exports for benchmarking and testing the
"Download Files Using Telegram" detection (docs/semantics.md; the realistic
mix is described in benches/README.md). Standard library only.

Kinds
  realistic  The benchmark mix: ~1.35 KB per event; event IDs 7 (25%), 12/13
             (18%), 3 (15%), 1, 10, 11, 22 (10% each), 15 (~2%). About 0.2% of
             events are Telegram downloads (EID 15 by ...\\Telegram Desktop\\
             Telegram.exe on *:Zone.Identifier); a third of those repeat an
             earlier group (same Computer, Image, ProcessId, TargetFilename,
             Hash) at a later time. Other EID 15s are browser downloads.
             Attribute quoting ' and ", with and without a namespace, non-ASCII
             host and user names, and &amp;-style escapes are mixed in.
  dense      The worst case: every event a Telegram download, spread over
             --groups distinct groups (hosts, processes, files), so most events
             repeat a group.
  distinct   The dense case at high cardinality: every event a Telegram
             download, and each event starts a new group (a new downloaded
             file) with probability --distinct (default 0.7), else repeats a
             random earlier group at a later time. Groups are spread over
             every Telegram host and process, as in a fleet-wide scan.
  sample     A small file (default 40K) to ship with the package: realistic
             background (no random Telegram events), a scripted set of Telegram
             downloads (6 groups, 9 events: one group three times, an
             upper-case TELEGRAM.EXE, escapes in TargetFilename, one Image
             written as ...\\&#x74;elegram.exe), near misses that must not match
             (telegram.exe.bak, nottelegram.exe, C:\\telegram.exe\\x.exe,
             :Zone.Identifier:$DATA, :Zone.Identifier.txt, Telegram EID 11,
             chrome.exe and msedge.exe EID 15s) and one truncated (malformed)
             event.

Every event has an increasing SystemTime (7 fraction digits, trailing Z).
The same arguments and seed always give the same bytes (gzip included: its
header carries no name and mtime 0).

--size is counted in bytes of the encoded text (UTF-8 or UTF-16), before
gzip; generation stops after the event that crosses it. A summary line goes to
stderr: events written, Telegram downloads (events that match the detection),
distinct groups (expected hits), malformed events.

Examples
  python3 benches/generate.py --kind realistic --size 1G --seed 1 -o r.log
  python3 benches/generate.py --kind dense --size 200M --layout concat --crlf -o d.log
  python3 benches/generate.py --kind distinct --size 200M -o many-hits.log
  python3 benches/generate.py --kind realistic --size 50M --utf16le --gzip -o r16.log.gz
  python3 benches/generate.py --kind sample --seed 7 -o python/sysmon_hunt/data/sample.log
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import re
import sys
import time
from random import Random

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SYSMON_GUID = "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
FLUSH_CHARS = 4 << 20

# ---------------------------------------------------------------------------
# Attribute / element styles seen in real exports.
#   splunk: Splunk attack_data / XmlWinEventLog: ' quotes, <X/>, Guid in braces
#   winevt: Event Viewer / Get-WinEvent ToXml: " quotes, <X ... />
#   go:     Go-based exporters (sysmongo): " quotes, <X ...></X>, no braces
#   bare:   no namespace on <Event> (exports from some collectors)
# (name, quote, self-close, explicit close, guid, xmlns)
STYLES = {
    "splunk": ("'", "/>", False, "{%s}" % SYSMON_GUID, True),
    "winevt": ('"', " />", False, "{%s}" % SYSMON_GUID, True),
    "go": ('"', "", True, SYSMON_GUID, True),
    "bare": ('"', "/>", False, "{%s}" % SYSMON_GUID.lower(), False),
}
# Weighted table: 45% splunk, 25% winevt, 15% go, 15% bare.
STYLE_TABLE = ["splunk"] * 9 + ["winevt"] * 5 + ["go"] * 3 + ["bare"] * 3

# Sysmon event schemas: (EventID, Version, EventData names).
SCHEMAS = {
    1: (
        5,
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "FileVersion",
            "Description",
            "Product",
            "Company",
            "OriginalFileName",
            "CommandLine",
            "CurrentDirectory",
            "User",
            "LogonGuid",
            "LogonId",
            "TerminalSessionId",
            "IntegrityLevel",
            "Hashes",
            "ParentProcessGuid",
            "ParentProcessId",
            "ParentImage",
            "ParentCommandLine",
            "ParentUser",
        ),
    ),
    3: (
        5,
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "User",
            "Protocol",
            "Initiated",
            "SourceIsIpv6",
            "SourceIp",
            "SourceHostname",
            "SourcePort",
            "SourcePortName",
            "DestinationIsIpv6",
            "DestinationIp",
            "DestinationHostname",
            "DestinationPort",
            "DestinationPortName",
        ),
    ),
    7: (
        3,
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "ImageLoaded",
            "FileVersion",
            "Description",
            "Product",
            "Company",
            "OriginalFileName",
            "Hashes",
            "Signed",
            "Signature",
            "SignatureStatus",
            "User",
        ),
    ),
    10: (
        3,
        (
            "RuleName",
            "UtcTime",
            "SourceProcessGUID",
            "SourceProcessId",
            "SourceThreadId",
            "SourceImage",
            "TargetProcessGUID",
            "TargetProcessId",
            "TargetImage",
            "GrantedAccess",
            "CallTrace",
            "SourceUser",
            "TargetUser",
        ),
    ),
    11: (2, ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetFilename", "CreationUtcTime", "User")),
    12: (2, ("RuleName", "EventType", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetObject", "User")),
    13: (
        2,
        ("RuleName", "EventType", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetObject", "Details", "User"),
    ),
    15: (
        2,
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "TargetFilename",
            "CreationUtcTime",
            "Hash",
            "Contents",
            "User",
        ),
    ),
    22: (
        5,
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "QueryName",
            "QueryStatus",
            "QueryResults",
            "Image",
            "User",
        ),
    ),
}

# Share of events per EventID, in thousandths (EID 15 includes Telegram).
EID_WEIGHTS = ((7, 250), (12, 90), (13, 90), (3, 150), (1, 100), (10, 100), (11, 100), (22, 100), (15, 20))
TELEGRAM_SHARE_OF_15 = 0.1  # 0.2% of all events
REPEAT_SHARE = 1.0 / 3.0

# ---------------------------------------------------------------------------
# World: hosts, users, programs. All text is already XML-escaped.
# (Computer, domain for User, users, IPv4 prefix, has Telegram, Sysmon
#  HashAlgorithms: an index into HASH_FORMATS)
HOSTS = (
    ("win10.windomain.local", "WIN10", ("vagrant",), "192.168.56.", True, 2),
    ("project-mumbai-host", "PROJECT-MUMBAI", ("DefaultAccount", "analyst"), "10.0.1.", True, 1),
    ("ДМИТРИЙ-ПК", "ДМИТРИЙ-ПК", ("Дмитрий",), "192.168.1.", True, 0),
    ("JOSÉ-LAPTOP", "JOSÉ-LAPTOP", ("José",), "192.168.0.", True, 1),
    ("用户-PC", "用户-PC", ("用户",), "172.16.5.", True, 0),
    ("WKS-0142.corp.example.com", "CORP", ("jsmith", "a.müller"), "10.20.14.", True, 0),
    ("fin-ws-07.corp.example.com", "CORP", ("o&apos;brien",), "10.20.7.", True, 0),
    ("DC01.corp.example.com", "CORP", ("Administrator",), "10.20.0.", False, 2),
    ("ar-win-1", "AR-WIN-1", ("admin",), "10.0.9.", False, 0),
    ("victim.lan.local", "LAN", ("admin", "Мария"), "192.168.10.", True, 1),
)
HASH_FORMATS = (
    "SHA256=%(sha256)s",
    "MD5=%(md5)s,SHA256=%(sha256)s,IMPHASH=%(imphash)s",
    "SHA1=%(sha1)s,MD5=%(md5)s,SHA256=%(sha256)s,IMPHASH=%(imphash)s",
)

MS = "Microsoft Corporation"
MSWIN = "Microsoft® Windows® Operating System"
WINVER = "10.0.19041.1806 (WinBuild.160101.0800)"
# (Image, FileVersion, Description, Product, Company, OriginalFileName,
#  CommandLine, runs as user?)
PROGRAMS = (
    (
        r"C:\Windows\System32\svchost.exe",
        WINVER,
        "Host Process for Windows Services",
        MSWIN,
        MS,
        "svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        False,
    ),
    (
        r"C:\Windows\System32\svchost.exe",
        WINVER,
        "Host Process for Windows Services",
        MSWIN,
        MS,
        "svchost.exe",
        r"C:\Windows\system32\svchost.exe -k LocalServiceNetworkRestricted -p",
        False,
    ),
    (
        r"C:\Windows\System32\lsass.exe",
        WINVER,
        "Local Security Authority Process",
        MSWIN,
        MS,
        "lsass.exe",
        r"C:\Windows\system32\lsass.exe",
        False,
    ),
    (
        r"C:\Windows\System32\services.exe",
        WINVER,
        "Services and Controller app",
        MSWIN,
        MS,
        "services.exe",
        r"C:\Windows\system32\services.exe",
        False,
    ),
    (
        r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        WINVER,
        "WMI Provider Host",
        MSWIN,
        MS,
        "Wmiprvse.exe",
        r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
        False,
    ),
    (
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.23110.3-0\MsMpEng.exe",
        "4.18.23110.3 (WinBuild.160101.0800)",
        "Antimalware Service Executable",
        MSWIN,
        MS,
        "MsMpEng.exe",
        r'"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.23110.3-0\MsMpEng.exe"',
        False,
    ),
    (
        r"C:\Windows\Sysmon64.exe",
        "15.11",
        "System activity monitor",
        "Sysinternals Sysmon",
        "Sysinternals - www.sysinternals.com",
        "Sysmon.exe",
        r"C:\Windows\Sysmon64.exe",
        False,
    ),
    (
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        "9.1.2",
        "splunk server",
        "splunk Application",
        "Splunk Inc.",
        "splunkd.exe",
        r'"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe" service',
        False,
    ),
    (
        r"C:\Windows\System32\SearchIndexer.exe",
        WINVER,
        "Microsoft Windows Search Indexer",
        MSWIN,
        MS,
        "SearchIndexer.exe",
        r"C:\Windows\system32\SearchIndexer.exe /Embedding",
        False,
    ),
    (
        r"C:\Windows\explorer.exe",
        WINVER,
        "Windows Explorer",
        MSWIN,
        MS,
        "EXPLORER.EXE",
        r"C:\Windows\Explorer.EXE",
        True,
    ),
    (
        r"C:\Windows\System32\RuntimeBroker.exe",
        WINVER,
        "Runtime Broker",
        MSWIN,
        MS,
        "RuntimeBroker.exe",
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        True,
    ),
    (
        r"C:\Windows\System32\taskhostw.exe",
        WINVER,
        "Host Process for Windows Tasks",
        MSWIN,
        MS,
        "taskhostw.exe",
        "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
        True,
    ),
    (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        "120.0.6099.130",
        "Google Chrome",
        "Google Chrome",
        "Google LLC",
        "chrome.exe",
        r'"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer '
        r"--lang=en-US --js-flags=--ms-user-locale= --device-scale-factor=1 "
        r"--num-raster-threads=4 --enable-main-frame-before-activation "
        r"--renderer-client-id=7 --time-ticks-at-unix-epoch=-1702454712113944 "
        r"--launch-time-ticks=3711012044 --mojo-platform-channel-handle=3140 "
        r"--field-trial-handle=1920,i,2939238718421437093,1431712283616219281,262144 /prefetch:1",
        True,
    ),
    (
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        "120.0.2210.77",
        "Microsoft Edge",
        "Microsoft Edge",
        MS,
        "msedge.exe",
        r'"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" '
        r"--profile-directory=Default https://contoso.sharepoint.com/sites/R&amp;D/Shared Documents/Forms/AllItems.aspx?id=%2Fsites%2FRD&amp;viewid=6a1c",
        True,
    ),
    (
        r"C:\Program Files\Mozilla Firefox\firefox.exe",
        "121.0",
        "Firefox",
        "Firefox",
        "Mozilla Corporation",
        "firefox.exe",
        r'"C:\Program Files\Mozilla Firefox\firefox.exe" -contentproc --channel="6112.3.1543622498\1048562611" '
        r"-childID 2 -isForBrowser -prefsHandle 3488 -prefMapHandle 3484 -prefsLen 27133 "
        r"-prefMapSize 234327 -jsInitHandle 1252 -jsInitLen 246848 -parentBuildID 20231211174248 "
        r'-appDir "C:\Program Files\Mozilla Firefox\browser" - {e8f5c6b5-1c52-4e69-b2a5-1b1d8f0c7e3a} 6112 tab',
        True,
    ),
    (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        WINVER,
        "Windows PowerShell",
        MSWIN,
        MS,
        "PowerShell.EXE",
        r"powershell.exe -NoProfile -Command &quot;Get-ChildItem -Path &apos;C:\Users\Public&apos; "
        r"-Recurse | Where-Object { $_.Length -gt 1MB } | Select-Object FullName&quot;",
        True,
    ),
    (
        r"C:\Windows\System32\cmd.exe",
        WINVER,
        "Windows Command Processor",
        MSWIN,
        MS,
        "Cmd.Exe",
        r'"C:\Windows\system32\cmd.exe" /c "ipconfig /all &gt; C:\Temp\net.txt &amp;&amp; '
        r'type C:\Temp\net.txt"',
        True,
    ),
    (
        r"C:\Windows\System32\conhost.exe",
        WINVER,
        "Console Window Host",
        MSWIN,
        MS,
        "CONHOST.EXE",
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        True,
    ),
    (
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        "16.0.17126.20132",
        "Microsoft Outlook",
        "Microsoft Outlook",
        MS,
        "Outlook.exe",
        r'"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" /recycle',
        True,
    ),
    (
        r"C:\Program Files\Microsoft OneDrive\OneDrive.exe",
        "23.246.1127.0002",
        "Microsoft OneDrive",
        "Microsoft OneDrive",
        MS,
        "OneDrive.exe",
        r'"C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background',
        True,
    ),
    (
        r"C:\Program Files\Microsoft VS Code\Code.exe",
        "1.85.1",
        "Visual Studio Code",
        "Visual Studio Code",
        MS,
        "electron.exe",
        r'"C:\Program Files\Microsoft VS Code\Code.exe" --type=utility '
        r"--utility-sub-type=node.mojom.NodeService --lang=en-US --service-sandbox-type=none",
        True,
    ),
    (
        r"C:\Program Files\Python311\python.exe",
        "3.11.7",
        "Python",
        "Python",
        "Python Software Foundation",
        "python.exe",
        r"python.exe -c &quot;import sys; print(&apos;ok&apos; if sys.argv else &apos;&lt;none&gt;&apos;)&quot;",
        True,
    ),
)

# (ImageLoaded, FileVersion, Description, Product, Company, OriginalFileName, Signature)
DLLS = tuple(
    (r"C:\Windows\System32\%s" % name, WINVER, desc, MSWIN, MS, name, "Microsoft Windows")
    for name, desc in (
        ("ntdll.dll", "NT Layer DLL"),
        ("kernel32.dll", "Windows NT BASE API Client DLL"),
        ("KernelBase.dll", "Windows NT BASE API Client DLL"),
        ("user32.dll", "Multi-User Windows USER API Client DLL"),
        ("advapi32.dll", "Advanced Windows 32 Base API"),
        ("amsi.dll", "Anti-Malware Scan Interface"),
        ("combase.dll", "Microsoft COM for Windows"),
        ("ole32.dll", "Microsoft OLE for Windows"),
        ("crypt32.dll", "Crypto API32"),
        ("wintrust.dll", "Microsoft Trust Verification APIs"),
        ("bcrypt.dll", "Windows Cryptographic Primitives Library"),
        ("ws2_32.dll", "Windows Socket 2.0 32-Bit DLL"),
        ("winhttp.dll", "Windows HTTP Services"),
        ("dnsapi.dll", "DNS Client API DLL"),
        ("mswsock.dll", "Microsoft Windows Sockets 2.0 Service Provider"),
        ("uxtheme.dll", "Microsoft UxTheme Library"),
        ("dwmapi.dll", "Microsoft Desktop Window Manager API"),
        ("windows.storage.dll", "Microsoft WinRT Storage API"),
        ("shell32.dll", "Windows Shell Common Dll"),
        ("rpcrt4.dll", "Remote Procedure Call Runtime"),
        ("sechost.dll", "Host for SCM/SDDL/LSA Lookup APIs"),
        ("wldp.dll", "Windows Lockdown Policy"),
        ("propsys.dll", "Microsoft Property System"),
    )
) + (
    (
        r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll",
        "4.8.4645.0 built by: NET48REL1LAST_B",
        "Microsoft .NET Runtime Common Language Runtime - WorkStation",
        "Microsoft® .NET Framework",
        MS,
        "clr.dll",
        "Microsoft Corporation",
    ),
    (
        r"C:\Windows\assembly\NativeImages_v4.0.30319_64\System\e074a852d0b7a87fc8713d9727b9a1bb\System.ni.dll",
        "4.8.4654.0 built by: NET48REL1LAST_C",
        ".NET Framework",
        "Microsoft® .NET Framework",
        MS,
        "System.dll",
        "-",
    ),
    (
        r"C:\Program Files\Google\Chrome\Application\120.0.6099.130\chrome_elf.dll",
        "120.0.6099.130",
        "Google Chrome",
        "Google Chrome",
        "Google LLC",
        "chrome_elf.dll",
        "Google LLC",
    ),
    (
        r"C:\Windows\System32\vcruntime140.dll",
        "14.36.32532.0",
        "Microsoft® C Runtime Library",
        "Microsoft® Visual Studio®",
        MS,
        "vcruntime140.dll",
        "Microsoft Corporation",
    ),
)

# (TargetObject, Details) for EID 13; EID 12 uses the keys.
REGISTRY = (
    (
        r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\S-1-5-21-1347849254-4234986838-2665112525-1001\\Device\HarddiskVolume3\Windows\System32\cmd.exe",
        "Binary Data",
    ),
    (
        r"HKU\S-1-5-21-1347849254-4234986838-2665112525-1001\Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist\{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}\Count\HRZR_PGYFRFFVBA",
        "Binary Data",
    ),
    (
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\OneDrive",
        r'"C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background',
    ),
    (
        r"HKU\S-1-5-21-1347849254-4234986838-2665112525-1001\Software\Microsoft\Windows\CurrentVersion\Internet Settings\ProxyOverride",
        "*.corp.example.com;&lt;local&gt;",
    ),
    (
        r"HKU\S-1-5-21-1347849254-4234986838-2665112525-1001\Software\Microsoft\Windows\CurrentVersion\Internet Settings\ZoneMap\ProxyBypass",
        "DWORD (0x00000001)",
    ),
    (r"HKLM\System\CurrentControlSet\Services\W32Time\Config\LastKnownGoodTime", "QWORD (0x01da2e3f-0x8c4b2a10)"),
    (r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated", "Binary Data"),
    (r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoAdminLogon", "0"),
    (r"HKLM\System\CurrentControlSet\Services\WinDefend\Start", "DWORD (0x00000002)"),
    (
        r"HKLM\SOFTWARE\Classes\.telegram\shell\open\command",
        r'"C:\Program Files\Telegram Desktop\Telegram.exe" -- &quot;%1&quot;',
    ),
    (
        r"HKLM\System\CurrentControlSet\Services\EventLog\Microsoft-Windows-Sysmon/Operational\ChannelAccess",
        "O:BAG:SYD:(A;;0x5;;;BA)(A;;0x1;;;S-1-5-20)(A;;0x1;;;S-1-5-32-573)",
    ),
    (r"HKU\.DEFAULT\Software\Microsoft\SystemCertificates\CA\Certificates", "(Empty)"),
)

# (QueryName, QueryResults)
DNS = (
    ("www.google.com", "::ffff:142.250.185.68;"),
    ("api.telegram.org", "::ffff:149.154.167.220;"),
    ("web.telegram.org", "::ffff:149.154.167.99;"),
    (
        "login.microsoftonline.com",
        "type:  5 login.mso.msidentity.com;type:  5 ak.privatelink.msidentity.com;type:  5 www.tm.ak.prd.aadg.trafficmanager.net;::ffff:20.190.160.20;::ffff:40.126.32.72;",
    ),
    ("settings-win.data.microsoft.com", "type:  5 atm-settingsfe-prod-geo2.trafficmanager.net;::ffff:51.104.15.252;"),
    ("fleet", "::ffff:192.168.56.105;"),
    ("wpad", "-"),
    (
        "outlook.office365.com",
        "type:  5 outlook.ha.office365.com;type:  5 outlook.ms-acdc.office.com;::ffff:52.97.146.162;",
    ),
    ("dl.google.com", "::ffff:142.250.185.78;"),
    ("contoso.sharepoint.com", "type:  5 1234-ipv4e.clump.dprodmgd104.aa-rt.sharepoint.com;::ffff:13.107.136.10;"),
    ("update.googleapis.com", "::ffff:142.250.186.35;"),
    ("ctldl.windowsupdate.com", "type:  5 wu-bg-shim.trafficmanager.net;::ffff:13.107.4.50;"),
)

# (DestinationIp, DestinationHostname, DestinationPort, DestinationPortName, Protocol)
NET = (
    ("142.250.185.68", "fra16s48-in-f4.1e100.net", "443", "https", "tcp"),
    ("149.154.167.220", "-", "443", "https", "tcp"),
    ("20.190.160.20", "-", "443", "https", "tcp"),
    ("192.168.56.105", "fleet", "8220", "-", "tcp"),
    ("10.20.0.10", "DC01.corp.example.com", "389", "ldap", "tcp"),
    ("10.20.0.10", "DC01.corp.example.com", "53", "domain", "udp"),
    ("10.20.0.10", "DC01.corp.example.com", "445", "microsoft-ds", "tcp"),
    ("52.97.146.162", "-", "443", "https", "tcp"),
    ("13.107.4.50", "-", "80", "http", "tcp"),
    ("10.0.9.20", "splunk-idx01", "9997", "-", "tcp"),
)

_TRACE_PARTS = (
    r"C:\Windows\SYSTEM32\ntdll.dll+9d934",
    r"C:\Windows\System32\KERNELBASE.dll+5f32a",
    r"C:\Windows\System32\KERNELBASE.dll+5bcc6",
    r"C:\Windows\System32\KERNEL32.DLL+1be93",
    r"C:\Windows\assembly\NativeImages_v4.0.30319_64\System\e074a852d0b7a87fc8713d9727b9a1bb\System.ni.dll+384236",
    r"C:\Windows\assembly\NativeImages_v4.0.30319_64\System.Manaa57fc8cc#\6b621f0fd6cc913157b16d8a0cfdc3ec\System.Management.Automation.ni.dll+111ddc9",
    r"C:\Windows\System32\lsasrv.dll+d48f",
    r"C:\Windows\System32\windows.storage.dll+a90ff",
    r"C:\Windows\system32\wbem\wbemcore.dll+2cc47",
    r"C:\Windows\System32\RPCRT4.dll+76e13",
    r"C:\Windows\System32\combase.dll+8b7c9",
    r"C:\Program Files\Google\Chrome\Application\120.0.6099.130\chrome.dll+3e4c1a0",
)
CALL_TRACES = (
    "|".join(_TRACE_PARTS[i] for i in (0, 1, 2, 3, 4, 5)) + "|UNKNOWN(00007FFE26DC3821)",
    "|".join(_TRACE_PARTS[i] for i in (0, 1, 6)),
    "|".join(_TRACE_PARTS[i] for i in (0, 1, 3, 7)),
    "|".join(_TRACE_PARTS[i] for i in (0, 11, 1)),
    "|".join(_TRACE_PARTS[i] for i in (0, 8, 9, 10)),
    "|".join(_TRACE_PARTS[i] for i in (0, 1, 3)),
)
ACCESS = ("0x1000", "0x1400", "0x1410", "0x1010", "0x1fffff", "0x101541", "0x3000")

# Files written by EID 11: patterns with %(u)s (user) and %(n)s (random hex).
FILE_PATTERNS = (
    r"C:\Users\%(u)s\AppData\Local\Temp\__PSScriptPolicyTest_%(n)s.ps1",
    r"C:\Windows\Prefetch\CHROME.EXE-%(n)s.pf",
    r"C:\Users\%(u)s\AppData\Local\Google\Chrome\User Data\Default\Cache\Cache_Data\f_%(n)s",
    r"C:\Users\%(u)s\AppData\Local\Microsoft\Windows\INetCache\IE\%(n)s\favicon[1].ico",
    r"C:\Users\%(u)s\Documents\R&amp;D\notes_%(n)s.docx",
    r"C:\Windows\System32\LogFiles\WMI\RtBackup\EtwRTSysmon_%(n)s.etl",
    r"C:\Windows\SoftwareDistribution\Download\%(n)s\update.cab",
    r"C:\Users\%(u)s\AppData\Roaming\Microsoft\Windows\Recent\%(n)s.lnk",
    r"C:\ProgramData\Microsoft\Windows Defender\Scans\History\Service\DetectionHistory\%(n)s",
    r"C:\Users\%(u)s\AppData\Local\Temp\tmp%(n)s.tmp",
)

# Names of files downloaded with Telegram (already XML-escaped).
TG_FILES = (
    "Good(NLA) %s.txt",
    "invoice_%s.pdf",
    "photo_2024-01-15_%s.jpg",
    "video_%s.mp4",
    "setup_%s.exe",
    "отчёт_%s.docx",
    "照片_%s.jpg",
    "Q3 results &amp; plan %s.xlsx",
    "resume %s.pdf",
    "tdata_backup_%s.zip",
    "document (%s).rar",
    "&lt;draft&gt; %s.txt",
    "music_%s.mp3",
    "presupuesto_año_%s.xlsx",
    "payload_%s.dll",
    "update_%s.msi",
)
BROWSER_FILES = (
    "ChromeSetup (%s).exe",
    "report_%s.pdf",
    "export-%s.csv",
    "image_%s.png",
    "installer_%s.msi",
    "Statement %s.pdf",
    "vscode-%s.zip",
)
ZONE_IDS = (
    "[ZoneTransfer]  ZoneId=3  ",
    "[ZoneTransfer]  ZoneId=3  ReferrerUrl=https://web.telegram.org/  ",
)
BROWSER_URLS = (
    "https://www.google.com/",
    "https://dl.example.com/files/get?id=%s&amp;token=4f1c9e&amp;dl=1",
    "https://contoso.sharepoint.com/sites/R&amp;D/Shared%%20Documents/%s",
    "https://github.com/example/tool/releases/download/v1.%s/tool.zip",
)


def parse_size(text: str) -> int:
    """'200M' -> 209715200. K/M/G/T are powers of 1024; a bare number is bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError("bad size %r (try 64K, 200M, 1G)" % text)
    mult = 1024 ** "_kmgt".index(m.group(2).lower() or "_")
    return int(float(m.group(1)) * mult)


class Host:
    __slots__ = (
        "name",
        "domain",
        "users",
        "ip",
        "gpref",
        "procs",
        "by_image",
        "recid",
        "exec_pid",
        "exec_tids",
        "telegram",
        "hfmt",
        "prog_hashes",
        "dll_hashes",
        "tg_hashes",
    )


class Proc:
    __slots__ = ("guid", "pid", "prog", "user", "user_xml", "logon_guid", "logon_id")


class Generator:
    """Produces events as strings; every method takes the next time from tick()."""

    def __init__(self, seed: int, layout: str, eol: str) -> None:
        self.rng = Random(seed)
        self.r = self.rng.random
        self.bits = self.rng.getrandbits
        self.layout = layout
        self.eol = eol
        indent = "  " if layout == "wrapped" else ""
        self.sep = "" if layout == "concat" else eol
        self.templates = {
            eid: [self._template(eid, ver, names, style, indent) for style in STYLE_TABLE]
            for eid, (ver, names) in SCHEMAS.items()
        }
        self.eid_table = []
        for eid, w in EID_WEIGHTS:
            self.eid_table += [eid] * w
        self.makers = {
            1: self.ev1,
            3: self.ev3,
            7: self.ev7,
            10: self.ev10,
            11: self.ev11,
            12: self.ev12,
            13: self.ev13,
            15: self.ev15,
            22: self.ev22,
        }
        # Time in 100 ns ticks; the first event is on 2024-01-15 08:00:00 UTC.
        self.t = calendar.timegm((2024, 1, 15, 8, 0, 0)) * 10_000_000 + self.bits(23)
        self._sec = -1
        self._base = self._ubase = ""
        self.prog_hashes = [self._hashes() for _ in PROGRAMS]
        self.dll_hashes = [self._hashes() for _ in DLLS]
        # Zone.Identifier streams have no imports: IMPHASH is all zeros.
        self.tg_hashes = [self._hashes(imphash=False) for _ in range(6)]
        self.hosts = [self._host(*h) for h in HOSTS]
        self.tg_hosts = [h for h in self.hosts if h.telegram]
        self.browsers = [i for i, p in enumerate(PROGRAMS) if p[5] in ("chrome.exe", "msedge.exe", "firefox.exe")]
        # Telegram groups: (host, proc, target, hash, contents)
        self.groups = []
        self.events = 0
        self.matching = 0

    # -- set-up -------------------------------------------------------------
    def _hashes(self, imphash=True) -> dict:
        """The digests of one file, to be written in a host's HashAlgorithms format."""
        b = self.bits
        return {
            "sha1": "%040X" % b(160),
            "md5": "%032X" % b(128),
            "sha256": "%064X" % b(256),
            "imphash": "%032X" % b(128) if imphash else "0" * 32,
        }

    def _guid(self, gpref: str) -> str:
        b = self.bits
        return "{%s-%04X-%04X-%04X-%012X}" % (gpref, b(16), b(16), b(16), b(48))

    def _host(self, name, domain, users, ipnet, telegram, hfmt) -> Host:
        h = Host()
        b = self.bits
        h.name, h.domain, h.users = name, domain, users
        h.hfmt = fmt = HASH_FORMATS[hfmt]
        h.prog_hashes = [fmt % d for d in self.prog_hashes]
        h.dll_hashes = [fmt % d for d in self.dll_hashes]
        h.tg_hashes = [fmt % d for d in self.tg_hashes]
        h.ip = ipnet + str(10 + b(7))
        h.gpref = "%08X" % b(32)
        h.recid = 100000 + b(20)
        h.exec_pid = str(1000 + 4 * b(10))
        h.exec_tids = [str(1000 + 4 * b(10)) for _ in range(4)]
        h.procs = []
        h.by_image = {}
        for i, prog in enumerate(PROGRAMS):
            for user in users if prog[7] else (None,):
                p = self._proc(h, prog, i, user)
                h.procs.append(p)
                h.by_image.setdefault(prog[5], []).append(p)
        h.telegram = []
        if telegram:
            # One Telegram Desktop per user; the first user's was restarted once.
            for k, user in enumerate(users):
                for _ in range(2 if k == 0 else 1):
                    h.telegram.append(self._proc(h, (self.telegram_image(user),), -1, user))
        return h

    def _proc(self, h: Host, prog, index: int, user) -> Proc:
        p = Proc()
        p.prog = index
        p.pid = str(4 * (100 + self.bits(12)))
        p.guid = self._guid(h.gpref)
        if user is None:
            p.user = "NT AUTHORITY\\SYSTEM"
            p.logon_guid = "{%s-0000-0000-E703-000000000000}" % h.gpref
            p.logon_id = "0x3e7"
        else:
            p.user = "%s\\%s" % (h.domain, user)
            p.logon_guid = self._guid(h.gpref)
            p.logon_id = "0x%x" % self.bits(24)
        p.user_xml = user
        return p

    @staticmethod
    def telegram_image(user: str) -> str:
        return "C:\\Users\\%s\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe" % user

    def _template(self, eid, version, names, style, indent) -> str:
        """A %-format string for one event (with its trailing separator).

        Placeholders, in order: SystemTime, EventRecordID, Execution ProcessID,
        ThreadID, Computer, Security UserID, then each EventData value.
        """
        q, sc, explicit, guid, xmlns = STYLES[style]

        def attrs(*pairs):
            return "".join(" %s=%s%s%s" % (k, q, v, q) for k, v in pairs)

        def empty(name, a=""):
            return "<%s%s></%s>" % (name, a, name) if explicit else "<%s%s%s" % (name, a, sc)

        system = [
            empty("Provider", attrs(("Name", "Microsoft-Windows-Sysmon"), ("Guid", guid))),
            "<EventID>%d</EventID>" % eid,
            "<Version>%d</Version>" % version,
            "<Level>4</Level>",
            "<Task>%d</Task>" % eid,
            "<Opcode>0</Opcode>",
            "<Keywords>0x8000000000000000</Keywords>",
            empty("TimeCreated", attrs(("SystemTime", "%s"))),
            "<EventRecordID>%s</EventRecordID>",
            empty("Correlation"),
            empty("Execution", attrs(("ProcessID", "%s"), ("ThreadID", "%s"))),
            "<Channel>Microsoft-Windows-Sysmon/Operational</Channel>",
            "<Computer>%s</Computer>",
            empty("Security", attrs(("UserID", "%s"))),
        ]
        data = ["<Data Name=%s%s%s>%%s</Data>" % (q, n, q) for n in names]
        head = "<Event xmlns=%s%s%s>" % (q, NS, q) if xmlns else "<Event>"
        if self.layout in ("line", "concat"):
            body = "%s<System>%s</System><EventData>%s</EventData></Event>" % (head, "".join(system), "".join(data))
        else:
            i1, i2 = indent + "  ", indent + "    "
            lines = [indent + head, i1 + "<System>"] + [i2 + s for s in system]
            lines += [i1 + "</System>", i1 + "<EventData>"] + [i2 + d for d in data]
            lines += [i1 + "</EventData>", indent + "</Event>"]
            body = self.eol.join(lines)
        return body + self.sep

    # -- per-event pieces -----------------------------------------------------
    def tick(self):
        """Advance the clock and return (SystemTime, UtcTime)."""
        self.t = t = self.t + self.bits(self.step_bits)
        sec, frac = divmod(t, 10_000_000)
        if sec != self._sec:
            self._sec = sec
            self._base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._ubase = self._base.replace("T", " ")
        return "%s.%07dZ" % (self._base, frac), "%s.%03d" % (self._ubase, frac // 10000)

    def _head(self, h: Host, systime: str):
        h.recid += 1
        return (systime, h.recid, h.exec_pid, h.exec_tids[self.bits(2)], h.name, "S-1-5-18")

    def _tpl(self, eid: int) -> str:
        t = self.templates[eid]
        return t[int(self.r() * len(t))]

    def _pick_host(self) -> Host:
        return self.hosts[int(self.r() * len(self.hosts))]

    def _pick_proc(self, h: Host) -> Proc:
        return h.procs[int(self.r() * len(h.procs))]

    def rule(self) -> str:
        x = self.bits(4)
        if x == 0:
            return "technique_id=T1055.001,technique_name=Dynamic-link Library Injection"
        if x == 1:
            return "technique_id=T1574.010,technique_name=Services File Permissions Weakness"
        return "-"

    def ev1(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p, parent = self._pick_proc(h), self._pick_proc(h)
        prog, pprog = PROGRAMS[p.prog], PROGRAMS[parent.prog]
        cwd = "C:\\Windows\\system32\\" if p.user_xml is None else "C:\\Users\\%s\\" % p.user_xml
        return self._tpl(1) % (
            self._head(h, systime)
            + (
                self.rule(),
                utc,
                p.guid,
                p.pid,
                prog[0],
                prog[1],
                prog[2],
                prog[3],
                prog[4],
                prog[5],
                prog[6],
                cwd,
                p.user,
                p.logon_guid,
                p.logon_id,
                "1" if p.user_xml else "0",
                "Medium" if p.user_xml else "System",
                h.prog_hashes[p.prog],
                parent.guid,
                parent.pid,
                pprog[0],
                pprog[6],
                parent.user,
            )
        )

    def ev3(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p = self._pick_proc(h)
        dst = NET[int(self.r() * len(NET))]
        return self._tpl(3) % (
            self._head(h, systime)
            + (
                self.rule(),
                utc,
                p.guid,
                p.pid,
                PROGRAMS[p.prog][0],
                p.user,
                dst[4],
                "true",
                "false",
                h.ip,
                h.name,
                str(49152 + self.bits(14)),
                "-",
                "false",
                dst[0],
                dst[1],
                dst[2],
                dst[3],
            )
        )

    def ev7(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p = self._pick_proc(h)
        i = int(self.r() * len(DLLS))
        d = DLLS[i]
        return self._tpl(7) % (
            self._head(h, systime)
            + (
                self.rule(),
                utc,
                p.guid,
                p.pid,
                PROGRAMS[p.prog][0],
                d[0],
                d[1],
                d[2],
                d[3],
                d[4],
                d[5],
                h.dll_hashes[i],
                "true",
                d[6],
                "Valid",
                p.user,
            )
        )

    def ev10(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        s, t = self._pick_proc(h), self._pick_proc(h)
        return self._tpl(10) % (
            self._head(h, systime)
            + (
                self.rule(),
                utc,
                s.guid,
                s.pid,
                str(1000 + 4 * self.bits(11)),
                PROGRAMS[s.prog][0],
                t.guid,
                t.pid,
                PROGRAMS[t.prog][0],
                ACCESS[int(self.r() * len(ACCESS))],
                CALL_TRACES[int(self.r() * len(CALL_TRACES))],
                s.user,
                t.user,
            )
        )

    def ev11(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p = self._pick_proc(h)
        pat = FILE_PATTERNS[int(self.r() * len(FILE_PATTERNS))]
        target = pat % {"u": p.user_xml or h.users[0], "n": "%08X" % self.bits(32)}
        return self._tpl(11) % (
            self._head(h, systime) + (self.rule(), utc, p.guid, p.pid, PROGRAMS[p.prog][0], target, utc, p.user)
        )

    def ev12(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p = self._pick_proc(h)
        key = REGISTRY[int(self.r() * len(REGISTRY))][0]
        return self._tpl(12) % (
            self._head(h, systime)
            + ("-", "CreateKey" if self.bits(1) else "DeleteKey", utc, p.guid, p.pid, PROGRAMS[p.prog][0], key, p.user)
        )

    def ev13(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p = self._pick_proc(h)
        key, details = REGISTRY[int(self.r() * len(REGISTRY))]
        return self._tpl(13) % (
            self._head(h, systime)
            + (self.rule(), "SetValue", utc, p.guid, p.pid, PROGRAMS[p.prog][0], key, details, p.user)
        )

    def ev22(self) -> str:
        systime, utc = self.tick()
        h = self._pick_host()
        p = self._pick_proc(h)
        name, results = DNS[int(self.r() * len(DNS))]
        return self._tpl(22) % (
            self._head(h, systime) + ("-", utc, p.guid, p.pid, name, "0", results, PROGRAMS[p.prog][0], p.user)
        )

    def ev15(self) -> str:
        """EID 15 in the realistic mix: a browser download, or 10% Telegram."""
        if self.r() < self.telegram_share:
            return self.telegram()
        return self.browser_download()

    def browser_download(self, host=None, browser=None) -> str:
        """A browser download (EID 15 on :Zone.Identifier); `browser` e.g. "chrome.exe"."""
        h = host or self._pick_host()
        names = [browser] if browser else [PROGRAMS[i][5] for i in self.browsers]
        users = [p for name in names for p in h.by_image[name]]
        p = users[int(self.r() * len(users))]
        user = p.user_xml
        name = BROWSER_FILES[int(self.r() * len(BROWSER_FILES))] % self.bits(12)
        target = "C:\\Users\\%s\\Downloads\\%s:Zone.Identifier" % (user, name)
        url = BROWSER_URLS[int(self.r() * len(BROWSER_URLS))]
        if "%s" in url:
            url = url % self.bits(16)
        contents = "[ZoneTransfer]  ZoneId=3  ReferrerUrl=%s  HostUrl=%s  " % (BROWSER_URLS[0], url)
        hsh = h.hfmt % self._hashes(imphash=False)
        return self.download(h, p.guid, p.pid, PROGRAMS[p.prog][0], target, hsh, contents, p.user)

    def download(self, h, guid, pid, image, target, hsh, contents, user, eid=15) -> str:
        systime, utc = self.tick()
        if eid == 11:
            return self._tpl(11) % (self._head(h, systime) + ("-", utc, guid, pid, image, target, utc, user))
        return self._tpl(15) % (self._head(h, systime) + ("-", utc, guid, pid, image, target, utc, hsh, contents, user))

    def new_group(self, h: Host, proc: Proc, serial: int):
        base = TG_FILES[int(self.r() * len(TG_FILES))]
        name = base % serial
        target = "C:\\Users\\%s\\Downloads\\Telegram Desktop\\%s:Zone.Identifier" % (proc.user_xml, name)
        k = int(self.r() * len(h.tg_hashes))
        return (h, proc, target, h.tg_hashes[k], ZONE_IDS[k & 1])

    def emit_group(self, g) -> str:
        h, p, target, hsh, contents = g
        self.matching += 1
        return self.download(h, p.guid, p.pid, self.telegram_image(p.user_xml), target, hsh, contents, p.user)

    def telegram(self) -> str:
        """A Telegram download: a third repeat an earlier group."""
        if self.groups and self.r() < REPEAT_SHARE:
            g = self.groups[int(self.r() * len(self.groups))]
        else:
            h = self.tg_hosts[int(self.r() * len(self.tg_hosts))]
            p = h.telegram[int(self.r() * len(h.telegram))]
            g = self.new_group(h, p, len(self.groups) + 1)
            self.groups.append(g)
        return self.emit_group(g)

    telegram_share = TELEGRAM_SHARE_OF_15
    step_bits = 18  # clock steps of 0-26 ms

    def background(self) -> str:
        return self.makers[self.eid_table[int(self.r() * 1000)]]()


def sample_script(g: Generator):
    """The scripted events of --kind sample, as callables returning event text.

    Matching: 6 groups, 9 events. Near misses: 9 events. Malformed: 1.
    Returns (events, matching count, group count).
    """
    H = {h.name: h for h in g.hosts}
    dm, mum, wks, jose, cn = (
        H["ДМИТРИЙ-ПК"],
        H["project-mumbai-host"],
        H["WKS-0142.corp.example.com"],
        H["JOSÉ-LAPTOP"],
        H["用户-PC"],
    )
    tg_dm, tg_dm2 = dm.telegram[0], dm.telegram[1]  # same user, Telegram restarted: new pid
    z3 = ZONE_IDS[0]

    def tg(h, p, target, hsh, image=None, eid=15):
        def make():
            return g.download(h, p.guid, p.pid, image or g.telegram_image(p.user_xml), target, hsh, z3, p.user, eid)

        return make

    dl = "C:\\Users\\%s\\Downloads\\Telegram Desktop\\"
    g1 = (dm, tg_dm, dl % "Дмитрий" + "отчёт_2024.docx:Zone.Identifier", dm.tg_hashes[0])
    g2 = (
        mum,
        mum.telegram[0],
        r"C:\Users\DefaultAccount\Downloads\Telegram Desktop\Good(NLA).txt:Zone.Identifier",
        mum.tg_hashes[1],
    )
    wks_p = wks.telegram[0]
    g3_image = r"C:\USERS\JSMITH\APPDATA\ROAMING\TELEGRAM DESKTOP\TELEGRAM.EXE"
    g3 = (wks, wks_p, r"C:\USERS\JSMITH\DOWNLOADS\TELEGRAM DESKTOP\INVOICE_0042.PDF:ZONE.IDENTIFIER", wks.tg_hashes[2])
    jose_p = jose.telegram[0]
    g4_image = r"C:\Users\José\AppData\Roaming\Telegram Desktop\telegram.exe"
    g4 = (jose, jose_p, dl % "José" + "Q3 results &amp; plan.xlsx:Zone.Identifier", jose.tg_hashes[3])
    g5 = (cn, cn.telegram[0], dl % "用户" + "照片_0007.jpg:Zone.Identifier", cn.tg_hashes[4])
    g6 = (dm, tg_dm2, g1[2], dm.tg_hashes[0])  # same file and host as g1, other ProcessId

    def browser(h, name):
        return lambda: g.browser_download(h, name)

    def odd(h, p, image, target, eid=15):
        return tg(h, p, target, h.tg_hashes[5], image=image, eid=eid)

    jsmith = wks_p
    truncated_src = tg(*g2)

    def truncated():
        text = truncated_src()
        cut = text.index("TargetFilename")  # cut inside EventData, before </Event>
        return text[: cut + 20] + g.eol

    matching = [
        tg(*g1),
        tg(*g2),
        tg(*g1),
        tg(g3[0], g3[1], g3[2], g3[3], image=g3_image),
        tg(*g4, image=g4_image),
        tg(*g5),
        tg(*g6),
        tg(*g1),
        tg(*g4, image=r"C:\Users\José\AppData\Roaming\Telegram Desktop\&#x74;elegram.exe"),
    ]
    near = [
        odd(
            dm,
            tg_dm,
            r"C:\Users\Дмитрий\AppData\Roaming\Telegram Desktop\telegram.exe.bak",
            dl % "Дмитрий" + "a.zip:Zone.Identifier",
        ),
        odd(
            wks, jsmith, r"C:\Users\jsmith\AppData\Local\Temp\nottelegram.exe", dl % "jsmith" + "b.zip:Zone.Identifier"
        ),
        odd(wks, jsmith, r"C:\telegram.exe\x.exe", dl % "jsmith" + "c.zip:Zone.Identifier"),
        odd(dm, tg_dm, g.telegram_image("Дмитрий"), dl % "Дмитрий" + "x:Zone.Identifier:$DATA"),
        odd(jose, jose_p, g.telegram_image("José"), dl % "José" + "x:Zone.Identifier.txt"),
        odd(cn, cn.telegram[0], g.telegram_image("用户"), dl % "用户" + "照片_0008.jpg:Zone.Identifier", eid=11),
        browser(dm, "chrome.exe"),
        browser(jose, "chrome.exe"),
        browser(cn, "msedge.exe"),
    ]
    # Matching events keep their order (g1 first/last times); near misses,
    # the truncated event and matches are interleaved deterministically.
    events = []
    m, n = list(matching), list(near)
    while m or n:
        if m and (not n or g.r() < 0.5):
            events.append(m.pop(0))
        else:
            events.append(n.pop(int(g.r() * len(n))))
    events.insert(len(events) // 2, truncated)
    return events, len(matching), 6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Write a synthetic Sysmon XML log (seeded, reproducible).",
        epilog="Sizes take K/M/G suffixes (powers of 1024). See the module docstring for the kinds.",
    )
    ap.add_argument("--kind", choices=("realistic", "dense", "distinct", "sample"), default="realistic")
    ap.add_argument(
        "--size",
        type=parse_size,
        default=None,
        help="approximate output size in encoded bytes before gzip (default 100M; 40K for --kind sample)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True, help="output file")
    ap.add_argument(
        "--layout",
        choices=("line", "concat", "pretty", "wrapped"),
        default="line",
        help="line: one event per line; concat: all on one line; pretty: "
        "indented; wrapped: XML declaration + <Events> root, indented",
    )
    ap.add_argument("--crlf", action="store_true", help="CRLF line ends")
    enc = ap.add_mutually_exclusive_group()
    enc.add_argument("--utf16le", action="store_true", help="UTF-16LE with BOM")
    enc.add_argument("--utf16be", action="store_true", help="UTF-16BE with BOM")
    enc.add_argument("--bom", action="store_true", help="UTF-8 with BOM")
    ap.add_argument("--gzip", action="store_true", help="gzip the output (mtime 0, no name)")
    ap.add_argument(
        "--json",
        choices=("evtx", "ecs", "nxlog", "splunk"),
        default=None,
        help="write the same events as NDJSON records of this shape (benches/to_json.py); --size counts the XML",
    )
    ap.add_argument(
        "--groups", type=int, default=10000, help="--kind dense: number of distinct Telegram groups (default 10000)"
    )
    ap.add_argument(
        "--distinct",
        type=float,
        default=0.7,
        help="--kind distinct: share of events that start a new group (default 0.7)",
    )
    args = ap.parse_args(argv)
    if not 0.0 < args.distinct <= 1.0:
        ap.error("--distinct must be in (0, 1]")

    size = args.size if args.size is not None else (40 << 10 if args.kind == "sample" else 100 << 20)
    eol = "\r\n" if args.crlf else "\n"
    if args.utf16le:
        codec, bom, xml_enc = "utf-16-le", b"\xff\xfe", "utf-16"
    elif args.utf16be:
        codec, bom, xml_enc = "utf-16-be", b"\xfe\xff", "utf-16"
    else:
        codec, bom, xml_enc = "utf-8", (b"\xef\xbb\xbf" if args.bom else b""), "utf-8"
    wide = codec != "utf-8"

    g = Generator(args.seed, args.layout, eol)
    script = []
    if args.kind == "sample":
        g.telegram_share = 0.0
        g.step_bits = 30  # 0-107 s between events, so times differ in seconds
        script, expect_matching, expect_groups = sample_script(g)
        # Spread the scripted events over the expected number of events.
        total = max(len(script) + 8, size // 1350)
        slots = list(range(total))
        for i in range(len(slots) - 1, 0, -1):
            j = int(g.r() * (i + 1))
            slots[i], slots[j] = slots[j], slots[i]
        at = dict(zip(sorted(slots[: len(script)]), script))
        last_scripted = max(at)
    elif args.kind == "dense":
        ngroups = max(1, args.groups)
        dense_groups = [None] * ngroups

    if args.json and (args.layout != "line" or wide or args.gzip):
        ap.error("--json needs the line layout, UTF-8 and no --gzip")
    json_output, args.output = args.output, (args.output + ".xml.tmp" if args.json else args.output)
    t0 = time.perf_counter()
    raw = open(args.output, "wb")
    out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) if args.gzip else raw
    out.write(bom)
    written = len(bom)
    buf = []
    buflen = 0
    head = ""
    if args.layout == "wrapped":
        head = '<?xml version="1.0" encoding="%s"?>%s<Events>%s' % (xml_enc, eol, eol)
        buf.append(head)
        written += len(head.encode(codec))
    background = g.background
    malformed = 0
    i = 0
    while written < size or (script and i <= last_scripted):
        if script:
            make = at.get(i)
            if make is not None:
                s = make()
                if "</Event>" not in s:
                    malformed += 1
            else:
                s = background()
        elif args.kind == "dense":
            k = g.bits(32) % ngroups
            grp = dense_groups[k]
            if grp is None:
                h = g.tg_hosts[k % len(g.tg_hosts)]
                p = h.telegram[(k // len(g.tg_hosts)) % len(h.telegram)]
                grp = dense_groups[k] = g.new_group(h, p, k)
                g.groups.append(grp)
            s = g.emit_group(grp)
        elif args.kind == "distinct":
            if g.groups and g.r() >= args.distinct:
                grp = g.groups[int(g.r() * len(g.groups))]
            else:
                n = len(g.groups)
                h = g.tg_hosts[n % len(g.tg_hosts)]
                p = h.telegram[(n // len(g.tg_hosts)) % len(h.telegram)]
                grp = g.new_group(h, p, n + 1)
                g.groups.append(grp)
            s = g.emit_group(grp)
        else:
            s = background()
        i += 1
        buf.append(s)
        n = len(s)
        buflen += n
        if wide:
            written += 2 * n if s.isascii() else len(s.encode(codec))
        else:
            written += n if s.isascii() else len(s.encode(codec))
        if buflen >= FLUSH_CHARS:
            out.write("".join(buf).encode(codec))
            buf, buflen = [], 0
    tail = ""
    if args.layout == "wrapped":
        tail = "</Events>" + eol
    elif args.layout == "concat":
        tail = eol
    buf.append(tail)
    written += len(tail.encode(codec))
    out.write("".join(buf).encode(codec))
    if out is not raw:
        out.close()
    raw.close()
    if args.json:
        import os

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import to_json

        to_json.convert(args.output, json_output, args.json)
        os.unlink(args.output)
        args.output = json_output
    dt = time.perf_counter() - t0

    if args.kind == "sample":
        matching, groups = expect_matching, expect_groups
    else:
        matching, groups = g.matching, len(g.groups)
    print(
        "generate.py: %s seed=%d layout=%s%s%s%s: %d events, %d telegram downloads "
        "(expected matches) in %d groups (expected hits), %d malformed; "
        "%d bytes in %.2fs (%.1f MB/s) -> %s"
        % (
            args.kind,
            args.seed,
            args.layout,
            " crlf" if args.crlf else "",
            "" if codec == "utf-8" and not bom else " " + codec + ("+bom" if bom else ""),
            " gzip" if args.gzip else "",
            i,
            matching,
            groups,
            malformed,
            written,
            dt,
            written / 1e6 / dt if dt else 0.0,
            args.output,
        ),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
