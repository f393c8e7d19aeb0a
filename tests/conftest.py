"""Shared pytest configuration: hypothesis profiles and the corpus fixture.

Hypothesis profiles (pick one with the environment variable
``HYPOTHESIS_PROFILE``; the default is ``dev``):

* ``dev``  - 100 examples per property, for a quick local run;
* ``ci``   - 500 examples per property (what ``tests/run.sh`` uses);
* ``slow`` - 2000 examples per property, for a long soak.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=500, **_COMMON)
settings.register_profile("slow", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: ``shared/corpus`` beside the checkout (``../shared/corpus`` from the repo root).
CORPUS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus of real Sysmon logs. When it is absent the test is
    skipped, except under CI (the environment variable ``CI`` set), which
    provides it: there a missing corpus fails the test."""
    if not (CORPUS_DIR / "real").is_dir():
        message = (
            f"corpus of real Sysmon logs not found at {CORPUS_DIR} "
            "(it lives in shared/corpus beside the checkout; CI provides it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CORPUS_DIR


# --- fixtures of the command-line tests (tests/cli_helpers.py has the rest)


@pytest.fixture(
    params=[
        pytest.param([], id="native"),
        pytest.param(["--reference"], id="reference"),
    ]
)
def scanner(request) -> List[str]:
    """Extra CLI arguments that select the scanner."""
    return request.param


@pytest.fixture
def known(tmp_path: Path) -> Path:
    """5 events: group A twice, group B once, a chrome download, one truncated event."""
    from cli_helpers import HASH_B, IMAGE_B, TARGET_B_XML, event

    b = dict(computer="ДМИТРИЙ-ПК", process_id="812", image=IMAGE_B, target=TARGET_B_XML, hash=HASH_B)
    lines = [
        event("2021-04-28T20:11:34.709744300Z"),
        event("2021-04-28T20:12:00.1Z", image=r"C:\Program Files\Google\Chrome\Application\chrome.exe"),
        event("2021-04-29T01:02:03.5Z", q='"', **b),
        event("2021-04-28T20:15:01.0000001Z", q='"'),
        event("2021-04-29T01:02:04Z", **b)[:200],  # truncated: malformed
    ]
    path = tmp_path / "known.log"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path
