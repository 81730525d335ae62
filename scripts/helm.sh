#!/usr/bin/env bash
# Helm v4 for the chart tests (tests/deploy), built from the Go module proxy at the release pinned
# in tools/helm/go.mod (no download of a release binary).
#
#   scripts/helm.sh build   build .tools/helm/bin/helm (cached: a warm build only checks a stamp)
#   scripts/helm.sh path    build if needed, then print the binary's path
#
# Needs Go (the build is cached in the Go caches; cold: a few minutes on 2 cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
module="$root/tools/helm"
bin="${HELM_BIN:-$root/.tools/helm/bin}"

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

build() {
  command -v go >/dev/null || { echo "helm: go is not installed (needs Go >= 1.26)" >&2; exit 3; }
  local release ldflags stamp="$bin/.built-from" want
  release=$(awk '$1 == "require" && $2 == "helm.sh/helm/v4" {print $3; exit}' "$module/go.mod")
  # the release in go.mod, stamped as upstream's Makefile does (helm version prints it)
  ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$release"
  ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
  want=$( (cat "$module/go.mod" "$module/go.sum"; echo "$ldflags") | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/helm" ]; then
    return 0
  fi
  mkdir -p "$bin"
  local started=$SECONDS
  echo "helm: building helm $release (cold: a few minutes on 2 cores; cached after)" >&2
  (cd "$module" && go build -ldflags "$ldflags" -o "$bin/helm" helm.sh/helm/v4/cmd/helm)
  echo "$want" >"$stamp"
  echo "helm: built in $((SECONDS - started)) s" >&2
}

case "${1:-}" in
  build) build ;;
  path) build; echo "$bin/helm" ;;
  *) usage ;;
esac
