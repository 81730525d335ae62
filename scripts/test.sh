#!/usr/bin/env bash
# Sets up (if needed) and runs every check: lint, types, architecture contracts and the full
# pytest suite (unit + end-to-end through the real HTTP API, kubectl included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
export PATH="$root/.tools/bin:$PATH"
echo "== ruff"; .venv/bin/ruff check src tests bench examples scripts
.venv/bin/ruff format --check src tests bench examples scripts
echo "== mypy"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== generated code"; .venv/bin/python scripts/generate_sync.py --check
.venv/bin/python -m kontinue.api.generate_crds --check
.venv/bin/python scripts/generate_protobuf.py --check
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
