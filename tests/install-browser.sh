#!/usr/bin/env bash
# Installs what tests/test_report_browser.py drives: Debian's headless-capable
# Chromium and its matching chromedriver. A no-op when both are present; as
# root on Debian it installs them with apt-get (nothing is downloaded by the
# tests themselves). Elsewhere it only says what is missing: the browser
# tests then skip with that reason (and fail when CI is set).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser.sh: chromium and chromium-driver are missing; install them" \
         "(Debian: apt-get install chromium chromium-driver) to run the browser tests" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# With its recommends (fonts-liberation among them), as the tests were run.
apt-get install -y -qq chromium chromium-driver >/dev/null
