"""One version: Cargo.toml's, seen the same by every way a user can ask.

The version is written only in Cargo.toml; maturin copies it into the wheel
and sdist metadata, and the native module exports it (``env!`` at compile
time), so ``sysmon_hunt.__version__``, ``sysmon-hunt --version`` and the
installed distribution's metadata must all equal it. A version literal
anywhere else in the packaging files would drift: the tests look for one.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sysmon_hunt
from sysmon_hunt import _native

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent


def _toml(name: str) -> dict[str, Any]:
    with open(ROOT / name, "rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


def _cargo_version() -> str:
    version = _toml("Cargo.toml")["package"]["version"]
    assert isinstance(version, str) and re.fullmatch(r"\d+\.\d+\.\d+\S*", version), version
    return version


VERSION = _cargo_version()


def test_package_version_is_cargo_version() -> None:
    assert _native.__version__ == VERSION
    assert sysmon_hunt.__version__ == VERSION


def test_installed_metadata_is_cargo_version() -> None:
    # What pip installed (wheel or editable): a stale install fails here, and
    # reinstalling (tests/run.sh does) is the fix.
    assert importlib.metadata.version("sysmon-hunt") == VERSION


def test_installed_metadata_names_the_license() -> None:
    meta = importlib.metadata.metadata("sysmon-hunt")
    assert meta["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in meta.get_all("License-File", [])


def test_cli_version_is_cargo_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "--version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == f"sysmon-hunt {VERSION}"


def test_pyproject_reads_the_version_from_cargo() -> None:
    project = _toml("pyproject.toml")["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]


def test_cargo_lock_follows_cargo_toml() -> None:
    lock = _toml("Cargo.lock")
    ours = [p for p in lock["package"] if p["name"] == "sysmon-hunt"]
    assert [p["version"] for p in ours] == [VERSION]


def _packaging_files() -> list[Path]:
    files = [ROOT / "pyproject.toml", ROOT / "scripts" / "build-wheels.sh"]
    for pattern in ("*.py", "*.pyi"):
        files += (ROOT / "python").rglob(pattern)
    files += (ROOT / "rust").rglob("*.rs")
    return sorted(files)


def test_no_second_version_literal() -> None:
    literal = re.compile(r"(?<![\w.])" + re.escape(VERSION) + r"(?![\w.])")
    assignment = re.compile(r"""^\s*(__version__|version)\s*[:=][^=\n]*["']\d+\.\d+""", re.MULTILINE)
    files = _packaging_files()
    assert ROOT / "pyproject.toml" in files and len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not literal.search(text), f"{path} spells out the version {VERSION}"
        assert not assignment.search(text), f"{path} assigns a version literal"


def test_changelog_has_a_section_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## \[" + re.escape(VERSION) + r"\]", changelog, re.MULTILINE), (
        f"CHANGELOG.md has no '## [{VERSION}]' section (docs/release.md)"
    )
