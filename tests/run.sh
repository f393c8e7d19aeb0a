#!/usr/bin/env bash
# Every test: installs the extension with its test and lint dependencies,
# runs the linters, then the Rust tests and the Python suite (property tests
# included).
# HYPOTHESIS_PROFILE picks the property-test budget (dev=100, ci=500, slow=2000).
set -euo pipefail
cd "$(dirname "$0")/.."
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
tests/install-browser.sh  # Chromium for tests/test_report_browser.py
# The `ci` profile: release optimizations without fat LTO (Cargo.toml).
MATURIN_PEP517_ARGS="--profile ci" python3 -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
tests/lint.sh
# The Rust tests reuse the dependencies the extension was built with (the
# `ci` profile); examples and benches are compiled by clippy in tests/lint.sh.
cargo test --quiet --profile ci --lib
cargo test --quiet --profile ci --doc
# One pytest worker per core (pytest-xdist).
python3 -m pytest -q -n auto tests
