#!/usr/bin/env bash
# The linters, as CI runs them (tests/run.sh calls this first): rustfmt and
# clippy on the core, ruff and mypy --strict on the Python. Needs the `lint`
# extra (`pip install -e '.[lint]'`); configuration is in rustfmt.toml and
# pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --quiet --all-targets --features python -- -D warnings
python3 -m ruff check python tests benches
python3 -m ruff format --check python tests benches
python3 -m mypy
