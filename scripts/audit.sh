#!/usr/bin/env bash
# Audits the locked development environment (requirements-dev.lock) for published advisories
# with pip-audit, through PyPI's advisory data. Where that data is not reachable (a mirror
# serves the packages but not PyPI's JSON API), it says so in one line and succeeds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
probe='import json, sys, urllib.request
try:
    with urllib.request.urlopen("https://pypi.org/pypi/pip/24.0/json", timeout=10) as answer:
        sys.exit(0 if "vulnerabilities" in json.load(answer) else 1)
except Exception:
    sys.exit(1)'
if ! .venv/bin/python -c "$probe"; then
  echo "pip-audit: skipped (PyPI's advisory data, https://pypi.org/pypi/<name>/<version>/json, is not reachable from here)"
  exit 0
fi
.venv/bin/pip-audit --requirement requirements-dev.lock --no-deps --disable-pip \
  --vulnerability-service pypi --progress-spinner off
