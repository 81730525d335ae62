#!/usr/bin/env bash
# Sets up (if needed) and runs every check: lint, types, architecture contracts, generated code,
# and the pytest suite twice: on the embedded dev server (`kontinue dev`, in-process), then on a
# local upstream Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler built from tools/controlplane, and the node agent `kontinue node`).
# The second pass needs Go: without it, it is skipped with one line (under CI=true it fails).
# Arguments go to both pytest runs (e.g. -k name, -x).
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

echo "== pip-audit"; bash scripts/audit.sh

# Helm for the chart tests (tests/deploy), built from tools/helm; cached like the control plane
if command -v go >/dev/null; then echo "== helm"; bash scripts/helm.sh build; fi

echo "== pytest on kontinue dev"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"

# The suites that talk to an API server, again on upstream Kubernetes (tests of the dev server
# itself are marked `devserver` and skipped there).
if ! command -v go >/dev/null; then
  if [ "${CI:-}" = true ]; then
    echo "error: go is not installed: CI runs the suite on the upstream control plane too" >&2
    exit 1
  fi
  echo "== pytest on upstream Kubernetes: skipped (go is not installed; see scripts/controlplane.sh)"
  exit 0
fi
cluster=$(mktemp -d -t kontinue-controlplane-XXXX)
trap 'bash scripts/controlplane.sh stop "$cluster"; rm -rf "$cluster"' EXIT
echo "== control plane"
bash scripts/controlplane.sh start "$cluster"
echo "== pytest on upstream Kubernetes ($("$root/.tools/controlplane/bin/kube-apiserver" --version))"
KONTINUE_KUBECONFIG="$cluster/kubeconfig" .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/e2e tests/engine tests/client tests/cli tests/controllers tests/examples \
  tests/reliability tests/differential tests/docs tests/ui tests/deploy "$@"
