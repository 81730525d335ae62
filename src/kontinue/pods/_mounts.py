"""Volumes at their ``mountPath``: a private mount namespace per container.

A container is a host process, so it sees the host's filesystem. To show it its volumes where
the pod spec says (``/var/run/secrets/kubernetes.io/serviceaccount``...), the runner starts it
through ``unshare --mount --propagation private`` and a small ``sh`` script that bind-mounts
each volume's directory onto its ``mountPath`` (read-only where asked) before ``exec``-ing the
command: the mounts exist in that process tree only, so two pods reading the same path each
get their own files, and nothing leaks to the host. That needs root (and util-linux).

Without it, :func:`mount_env` tells the container where each mount's directory is instead, in
``KONTINUE_MOUNT_<PATH>`` variables.

Everything here except :func:`prepare_targets`, :func:`check_executable` and
:meth:`MountTools.detect` is pure.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "Mount",
    "MountTools",
    "check_executable",
    "container_mounts",
    "host_path",
    "mount_env",
    "mount_variable",
    "namespace_command",
    "prepare_targets",
]

JSON = dict[str, Any]
#: Exit code of a container whose volumes could not be mounted (the script prints why).
MOUNT_FAILED = 128

# $1 $2 $3 per mount (source, target, "ro"|"rw") up to "--", then the command. The mount
# program is substituted in (quoted) so the pod's own PATH does not matter.
_SCRIPT = """\
fail() {{ echo "kontinue: $1" >&2; exit {code}; }}
while [ "$1" != -- ]; do
  {mount} --bind "$1" "$2" || fail "cannot mount $1 at $2"
  if [ "$3" = ro ]; then
    {mount} -o remount,bind,ro "$2" || fail "cannot make $2 read-only"
  fi
  shift 3
done
shift
exec "$@"
"""


@dataclass(frozen=True)
class MountTools:
    """The programs that set up a container's mount namespace (absolute paths)."""

    unshare: str
    mount: str
    sh: str

    @classmethod
    def detect(cls) -> MountTools | None:
        """The tools, when this process may use them: root, with ``unshare`` and ``mount``."""
        if os.geteuid() != 0:
            return None
        found = [shutil.which(name) for name in ("unshare", "mount", "sh")]
        if any(path is None for path in found):
            return None
        unshare, mount, sh = (str(path) for path in found)
        return cls(unshare, mount, sh)


@dataclass(frozen=True)
class Mount:
    """One volume mount of a container: ``source`` on the host shown at ``target``."""

    source: Path
    target: str
    read_only: bool


def container_mounts(container: JSON, volumes: Mapping[str, Path]) -> list[Mount]:
    """The mounts of ``container`` (its ``volumeMounts``), given each volume's directory.

    ``subPath`` selects a file or folder inside the volume; mounts of volumes the runner does
    not have (none should reach here: the pod waits for its volumes) are left out.
    """
    mounts: list[Mount] = []
    for entry in container.get("volumeMounts") or ():
        base = volumes.get(str(entry.get("name", "")))
        target = str(entry.get("mountPath") or "")
        if base is None or not target.startswith("/"):
            continue
        source = base
        sub = str(entry.get("subPath") or "").strip("/")
        if sub and ".." not in PurePosixPath(sub).parts:
            source = base / sub
        mounts.append(Mount(source, target, bool(entry.get("readOnly"))))
    return _mount_order(mounts)


def _within(path: str | Path, folder: str) -> bool:
    inner, outer = PurePosixPath(path), PurePosixPath(folder)
    return inner == outer or outer in inner.parents


def _mount_order(mounts: list[Mount]) -> list[Mount]:
    """The order to mount in: a parent before the mounts inside it (else it hides them), and
    a mount over a folder after the mounts whose sources are in that folder (else it hides
    the source: an emptyDir at ``/tmp`` while the pod's volumes live under ``/tmp``). Where
    the two rules conflict, the parent goes first."""
    remaining = sorted(mounts, key=lambda m: len(PurePosixPath(m.target).parts))
    ordered: list[Mount] = []

    def waits_for(mount: Mount, other: Mount) -> bool:
        parent = _within(mount.target, other.target) and mount.target != other.target
        return parent or _within(other.source, mount.target)

    while remaining:
        ready = [m for m in remaining if not any(waits_for(m, o) for o in remaining if o != m)]
        chosen = ready[0] if ready else remaining[0]
        ordered.append(chosen)
        remaining.remove(chosen)
    return ordered


def namespace_command(tools: MountTools, mounts: list[Mount], argv: list[str]) -> list[str]:
    """``argv`` started in a private mount namespace with ``mounts`` in place."""
    script = _SCRIPT.format(mount=shlex.quote(tools.mount), code=MOUNT_FAILED)
    arguments: list[str] = []
    for mount in mounts:
        arguments += [str(mount.source), mount.target, "ro" if mount.read_only else "rw"]
    return [
        tools.unshare,
        "--mount",
        "--propagation",
        "private",
        "--",
        tools.sh,
        "-c",
        script,
        "kontinue-mounts",
        *arguments,
        "--",
        *argv,
    ]


def prepare_targets(mounts: list[Mount]) -> None:
    """Create what a bind mount needs to exist on the host: the folder (or empty file) at each
    ``mountPath``, and the source of a ``subPath`` mount.

    Mount points are created on the host filesystem (``mkdir`` is not namespaced) and left
    there, empty, as a container runtime leaves its mount points in an image's layer.
    """
    for mount in mounts:
        target = Path(mount.target)
        if mount.source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.touch()
        else:
            mount.source.mkdir(parents=True, exist_ok=True)
            target.mkdir(parents=True, exist_ok=True)


def host_path(path: str, mounts: list[Mount]) -> Path:
    """Where ``path``, as the container sees it, is on the host (the deepest mount wins)."""
    pure = PurePosixPath(path)
    for mount in sorted(mounts, key=lambda m: -len(PurePosixPath(m.target).parts)):
        target = PurePosixPath(mount.target)
        if pure == target or target in pure.parents:
            return mount.source / pure.relative_to(target)
    return Path(path)


def check_executable(command: str, cwd: Path, search: str, mounts: list[Mount]) -> str | None:
    """Why ``command`` cannot be started in a container with ``mounts``, or None if it can.

    ``exec`` would tell, but inside the namespace a missing command is only an exit code of
    the wrapping shell; checking first keeps the kubelet's answer (exit code 127, reason
    ``ContainerCannotRun``). Paths are looked up as the container will see them: through its
    mounts, a relative one from ``cwd``, a bare name along ``search`` (the container's PATH).
    """
    if "/" in command:
        candidates = [host_path(command, mounts) if command.startswith("/") else cwd / command]
    else:
        candidates = [
            host_path(str(PurePosixPath(folder) / command), mounts)
            for folder in search.split(os.pathsep)
            if folder.startswith("/")
        ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return None
    if any(candidate.is_file() for candidate in candidates):
        return "permission denied"
    return "not found"


def mount_env(mounts: list[Mount]) -> dict[str, str]:
    """``KONTINUE_MOUNT_<PATH>`` variables naming each mount's directory on the host, for
    containers that cannot have real mounts (``/var/run/secrets/kubernetes.io/serviceaccount``
    becomes ``KONTINUE_MOUNT_VAR_RUN_SECRETS_KUBERNETES_IO_SERVICEACCOUNT``)."""
    return {mount_variable(m.target): str(m.source) for m in mounts}


def mount_variable(target: str) -> str:
    """The variable that names where ``target`` is, for :func:`mount_env`."""
    return "KONTINUE_MOUNT_" + re.sub(r"[^A-Za-z0-9]+", "_", target).strip("_").upper()
