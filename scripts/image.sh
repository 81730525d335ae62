#!/usr/bin/env bash
# The kontinue worker image, built without a container engine: a Debian root filesystem made by
# debootstrap (the host's release, so its Python is the host's), kontinue and its locked
# dependencies installed from wheels into /opt/kontinue, a non-root user, and the result packed
# into an OCI image layout by umoci. deploy/image/README.md says what is in it and how to put
# your code on top.
#
#   scripts/image.sh build [DIR]   build into DIR (default .tools/image): DIR/oci is an OCI layout
#                                  with two tags: VERSION (kontinue alone, the base) and example
#                                  (the base plus examples/ in /app, as deploy/image/Dockerfile
#                                  adds your code)
#   scripts/image.sh check [DIR]   run kontinue --version and import examples.hello:worker inside
#                                  the images' root filesystems (chroot, as the image's user), and
#                                  check the user, that no compiler is there, and the size
#   scripts/image.sh dockerfile [DIR]
#                                  build deploy/image/Dockerfile on the base with buildah (no
#                                  daemon, chroot isolation), examples/ as the project, into the
#                                  tag dockerfile, and check it as the example
#
# Needs root (debootstrap and chroot) and Debian's debootstrap and umoci packages, which it installs
# with apt-get when they are missing. The .debs are cached in DIR/cache; a build takes a few
# minutes, so it is not part of scripts/test.sh (run it after changing the image or kontinue's
# dependencies).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mkdir -p "${2:-$root/.tools/image}" && cd "${2:-$root/.tools/image}" && pwd)
python="$root/.venv/bin/python"
version=$("$python" -c 'import kontinue; print(kontinue.__version__)')
uid=10001 # the chart's podSecurityContext.runAsUser
# what the base image keeps out: compilers, headers, and what only a package build needs
compilers=(cc gcc g++ c++ clang ld as make)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

need_root() {
  [ "$(id -u)" = 0 ] || { echo "image: run as root (debootstrap and chroot need it)" >&2; exit 3; }
}

packages() { # the Debian tools the build uses, installed when missing
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v umoci >/dev/null || missing+=(umoci)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "image: apt-get install ${missing[*]}" >&2
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null; apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

mirror() { # the Debian mirror the host's apt uses
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "image: no Debian mirror in the host's apt sources" >&2; exit 3; }
  echo "$uri"
}

in_chroot() { # rootfs command...: as root, without the host's environment (pip settings...)
  local rootfs=$1
  shift
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# the root filesystem of the base image, in DIR/rootfs
rootfs() {
  local suite rootfs="$dir/rootfs"
  suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
  rm -rf "$rootfs"
  mkdir -p "$dir/cache"
  echo "image: debootstrap $suite (minbase, python3)" >&2
  debootstrap --variant=minbase --cache-dir="$dir/cache" \
    --include=python3,python3-venv,ca-certificates "$suite" "$rootfs" "$(mirror)" \
    >"$dir/debootstrap.log" 2>&1 || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }

  # kontinue's wheel and its locked dependencies as wheels, fetched on the host (its Python is
  # the image's) and installed in the chroot without a network or a compiler
  rm -rf "$dir/wheels"
  "$python" -m pip wheel --quiet --no-deps --wheel-dir "$dir/wheels" "$root" 2>&1 | grep -v WARNING || true
  local constraints="$dir/constraints.txt"
  grep -E '^[A-Za-z0-9_.-]+==' "$root/requirements-dev.lock" >"$constraints"
  "$python" -m pip download --quiet --only-binary=:all: --dest "$dir/wheels" \
    -c "$constraints" "$dir"/wheels/kontinue-*.whl 2>&1 | grep -v WARNING || true
  mkdir -p "$rootfs/wheels"
  cp "$dir"/wheels/*.whl "$rootfs/wheels/"
  in_chroot "$rootfs" /usr/bin/python3 -m venv /opt/kontinue
  in_chroot "$rootfs" /opt/kontinue/bin/pip install --quiet --no-index --find-links /wheels \
    --disable-pip-version-check kontinue
  in_chroot "$rootfs" /opt/kontinue/bin/pip uninstall --quiet --yes setuptools
  rm -rf "$rootfs/wheels"
  # the official client's asyncio twin (kubernetes.aio, 68 of its 126 MB): kontinue uses only
  # kubernetes.client and kubernetes.config (kontinue.kube's transport), and check imports them
  rm -rf "$rootfs"/opt/kontinue/lib/python3.*/site-packages/kubernetes/aio

  # the image's user, and /app for the code put on top
  in_chroot "$rootfs" /usr/sbin/groupadd --gid "$uid" kontinue
  in_chroot "$rootfs" /usr/sbin/useradd --uid "$uid" --gid "$uid" --home-dir /home/kontinue \
    --create-home --shell /usr/sbin/nologin kontinue
  mkdir -p "$rootfs/app"
  # what a running image never reads: documentation, translations, apt's lists and caches, logs
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/* "$rootfs"/root/.cache
  find "$rootfs/opt/kontinue" -name '*.pyc' -path '*/tests/*' -delete
}

# DIR/oci: the OCI layout, tags VERSION and example
layout() {
  local oci="$dir/oci" bundle="$dir/bundle"
  rm -rf "$oci" "$bundle" "$dir/example"
  umoci init --layout "$oci"
  umoci new --image "$oci:$version"
  umoci unpack --image "$oci:$version" "$bundle" >/dev/null
  rm -rf "$bundle/rootfs"
  cp -a "$dir/rootfs" "$bundle/rootfs"
  umoci repack --image "$oci:$version" "$bundle"
  umoci config --image "$oci:$version" \
    --author "kontinue" \
    --config.user "$uid:$uid" \
    --config.workingdir /app \
    --config.env PATH=/opt/kontinue/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env PYTHONDONTWRITEBYTECODE=1 \
    --config.env PYTHONUNBUFFERED=1 \
    --config.env HOME=/home/kontinue \
    --config.entrypoint kontinue \
    --config.cmd worker --config.cmd --help \
    --config.exposedports 9090/tcp \
    --config.label org.opencontainers.image.title=kontinue-worker \
    --config.label "org.opencontainers.image.version=$version"
  rm -rf "$bundle"

  # what deploy/image/Dockerfile does with your code: one layer with it in /app
  umoci unpack --image "$oci:$version" "$dir/example" >/dev/null
  mkdir -p "$dir/example/rootfs/app/examples"
  (cd "$root" && find examples -maxdepth 1 -name '*.py' -exec cp {} "$dir/example/rootfs/app/examples/" \;)
  umoci repack --image "$oci:example" "$dir/example"
  umoci config --image "$oci:example" --config.cmd worker --config.cmd examples.hello:worker
  umoci gc --layout "$oci"
}

build() {
  need_root
  packages
  local started=$SECONDS
  rootfs
  layout
  echo "image: built $dir/oci ($version, example) in $((SECONDS - started)) s" >&2
  check
}

in_image() { # rootfs command...: as the image's user, in /app, with the image's environment
  local rootfs=$1
  shift
  chroot --userspec="$uid:$uid" "$rootfs" /usr/bin/env -i HOME=/home/kontinue \
    PATH=/opt/kontinue/bin:/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 /bin/sh -c "cd /app && $*"
}

check() {
  need_root
  local rootfs="$dir/rootfs" example="$dir/example/rootfs" out
  [ -d "$rootfs" ] && [ -d "$example" ] || { echo "image: nothing built in $dir (run build)" >&2; exit 1; }
  out=$(in_image "$rootfs" kontinue --version)
  [ "$out" = "kontinue $version" ] || { echo "image: kontinue --version said: $out" >&2; exit 1; }
  in_image "$rootfs" python -c "'import kubernetes.client, kubernetes.config'" \
    || { echo "image: the official client does not import" >&2; exit 1; }
  out=$(in_image "$example" python -c "'from kontinue.cli.worker import load_worker; print(sorted(load_worker(\"examples.hello:worker\").functions))'")
  [ "$out" = "['hello']" ] || { echo "image: examples.hello:worker did not load: $out" >&2; exit 1; }
  local tool
  for tool in "${compilers[@]}"; do
    if chroot "$rootfs" /bin/sh -c "command -v $tool" >/dev/null 2>&1; then
      echo "image: $tool is in the image" >&2
      exit 1
    fi
  done
  "$python" - "$dir/oci" "$version" "$uid" <<'EOF'
import json, sys
from pathlib import Path

oci, version, uid = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
def blob(digest):
    algorithm, _, value = digest.partition(":")
    return oci / "blobs" / algorithm / value
index = json.loads((oci / "index.json").read_text())
tags = {}
for entry in index["manifests"]:
    tag = entry.get("annotations", {}).get("org.opencontainers.image.ref.name")
    assert tag, f"an untagged manifest in {oci}: {entry['digest']}"
    tags[tag] = entry
    manifest = json.loads(blob(entry["digest"]).read_text())
    config = json.loads(blob(manifest["config"]["digest"]).read_text())["config"]
    assert config["User"] == f"{uid}:{uid}", (tag, config["User"])
    size = sum(layer["size"] for layer in manifest["layers"])
    print(f"image: {tag}: user {config['User']}, {len(manifest['layers'])} layer(s), "
          f"{size / 2**20:.1f} MiB compressed", file=sys.stderr)
assert {version, "example"} <= set(tags), sorted(tags)
EOF
  echo "image: $(du -sm "$rootfs" | cut -f1) MiB unpacked; kontinue --version and examples.hello:worker work as uid $uid; no compiler" >&2
}

# deploy/image/Dockerfile as a user builds it, with buildah: examples/ is the project
dockerfile() {
  need_root
  command -v buildah >/dev/null || {
    echo "image: apt-get install buildah" >&2
    apt-get install -y -qq buildah >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null; apt-get install -y -qq buildah >/dev/null; }
  }
  [ -d "$dir/oci" ] || { echo "image: no base in $dir (run build)" >&2; exit 1; }
  local context="$dir/project" store="$dir/buildah" started=$SECONDS
  local buildah=(buildah --storage-driver vfs --root "$store/root" --runroot "$store/run")
  rm -rf "$context" "$dir/dockerfile"
  mkdir -p "$context/examples"
  cp "$root"/examples/*.py "$context/examples/"
  echo pydantic >"$context/requirements.txt" # already in the base: pip runs without a network
  # buildah names a pulled layout after its path, which must then be a valid image name
  local base link
  link="/tmp/kontinue-image-$$" # lowercase, no dots
  rm -rf "$link" && mkdir -p "$link"
  ln -s "$dir/oci" "$link/layout"
  base=$("${buildah[@]}" pull --quiet "oci:$link/layout:$version")
  rm -rf "$link"
  "${buildah[@]}" tag "$base" "localhost/kontinue-worker:$version"
  "${buildah[@]}" bud --quiet --isolation chroot --pull-never \
    --build-arg "KONTINUE_IMAGE=localhost/kontinue-worker:$version" \
    -f "$root/deploy/image/Dockerfile" -t localhost/kontinue-dockerfile "$context" >/dev/null
  umoci rm --image "$dir/oci:dockerfile" 2>/dev/null || true
  "${buildah[@]}" push --quiet localhost/kontinue-dockerfile "oci:$dir/oci:dockerfile"
  "${buildah[@]}" rmi --all >/dev/null
  umoci gc --layout "$dir/oci"
  umoci unpack --image "$dir/oci:dockerfile" "$dir/dockerfile" >/dev/null
  local out
  out=$(in_image "$dir/dockerfile/rootfs" python -c "'from kontinue.cli.worker import load_worker; print(sorted(load_worker(\"examples.hello:worker\").functions))'")
  [ "$out" = "['hello']" ] || { echo "image: the Dockerfile's image did not load the worker: $out" >&2; exit 1; }
  echo "image: deploy/image/Dockerfile built on the base with buildah in $((SECONDS - started)) s; examples.hello:worker loads as uid $uid" >&2
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  dockerfile) dockerfile ;;
  *) usage ;;
esac
