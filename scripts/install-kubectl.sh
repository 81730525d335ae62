#!/usr/bin/env bash
# Puts kubectl 1.20 (Debian's kubernetes-client package) into .tools/bin without installing it
# system-wide: some machines already have another /usr/bin/kubectl, which tests must not use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
if [ -x "$tools/bin/kubectl" ]; then
  exit 0
fi
mkdir -p "$tools/download" "$tools/bin"
cd "$tools/download"
if ! ls kubernetes-client_*.deb >/dev/null 2>&1; then
  if ! apt-get download kubernetes-client >/dev/null 2>&1; then
    # The package lists may be missing on a fresh machine.
    apt-get update -qq >/dev/null
    apt-get download kubernetes-client >/dev/null
  fi
fi
dpkg -x kubernetes-client_*.deb "$tools/pkg"
ln -sf "$tools/pkg/usr/bin/kubectl" "$tools/bin/kubectl"
"$tools/bin/kubectl" version --client --short 2>/dev/null || "$tools/bin/kubectl" version --client
