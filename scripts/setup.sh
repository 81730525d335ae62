#!/usr/bin/env bash
# Sets up a fresh machine for kontinue development: a virtualenv in .venv with the package and
# its test tools at the versions of requirements-dev.lock, and kubectl 1.20 in .tools/bin (for
# the end-to-end tests and the demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
# the locked versions of everything (scripts/lock.sh writes the lock), then kontinue itself
.venv/bin/python -m pip install --quiet -r requirements-dev.lock 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install --quiet --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import kontinue, kubernetes" >/dev/null
bash scripts/install-kubectl.sh >/dev/null
# Chromium from Debian's packages for the web UI's browser tests (Playwright drives it: a browser
# download of its own cannot work everywhere we run)
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq chromium >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null; apt-get install -y -qq chromium >/dev/null; }
  else
    echo "note: chromium is missing, the web UI's browser tests will skip (apt-get install chromium)"
  fi
fi
echo "setup done: .venv ready, kubectl at .tools/bin/kubectl"
