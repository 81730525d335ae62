#!/usr/bin/env bash
# Writes requirements-dev.lock: every package of the development environment (the dev extra
# and its dependencies) at one version, which scripts/setup.sh installs. Run it after changing
# the dependencies in pyproject.toml (or to take newer releases), and commit the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
.venv/bin/pip-compile --quiet --extra dev --strip-extras --allow-unsafe --no-emit-find-links \
  --no-emit-index-url --upgrade -o requirements-dev.lock pyproject.toml
echo "wrote requirements-dev.lock"
