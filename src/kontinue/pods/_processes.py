"""Host processes for the pod lifecycle: environment, spawning, killing.

The pieces of a container runtime that :mod:`._runs` needs, without the pod lifecycle:
resolving a container's environment the way the kubelet does, starting its command as a host
process in its own session, stopping process groups, and cleaning up after a runner (the dev
server or the node agent) that was killed. Log capture is in :mod:`._logs`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import posixpath
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_PATH",
    "LOOPBACK",
    "ConfigError",
    "Lookup",
    "LostProcess",
    "SpawnError",
    "expand",
    "field_value",
    "kill_group",
    "kill_lost",
    "kill_recorded",
    "record_process",
    "resolve_env",
    "spawn",
    "working_directory",
]

JSON = dict[str, Any]
#: The PATH a container gets unless its spec sets one: the usual PATH of container images.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: The address pods report (hostIP, podIP) unless the runner is given another.
LOOPBACK = "127.0.0.1"
#: How an object the environment refers to is looked up: (kind plural, namespace, name) -> object.
Lookup = Callable[[str, str, str], JSON | None]


class ConfigError(Exception):
    """The container's environment cannot be built yet (the kubelet's CreateContainerConfigError).

    Like the kubelet, the runner keeps the container waiting and tries again: the missing
    ConfigMap or Secret may be created later.
    """


class SpawnError(Exception):
    """The command could not be started; carries the exit code a runtime would report."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


# Environment ------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: defined names are replaced, ``$$`` is a literal ``$``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        return env.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def field_value(pod: JSON, path: str, address: str = LOOPBACK) -> str:
    """The value of a downward API ``fieldRef`` (environment variables and volume files).

    Pods run on this machine's network, so ``status.podIP`` and ``status.hostIP`` are both
    ``address``.
    """
    meta = pod.get("metadata", {})
    labels = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
    if labels:
        return str((meta.get(labels.group(1)) or {}).get(labels.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": pod.get("spec", {}).get("nodeName") or "localhost",
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName") or "default",
        "status.podIP": address,
        "status.hostIP": address,
        "status.podIPs": address,
        "status.hostIPs": address,
    }
    if path not in simple:
        raise ConfigError(f'unsupported fieldRef "{path}"')
    return str(simple[path])


def _key_ref(ref: JSON, plural: str, namespace: str, lookup: Lookup) -> str | None:
    name, key = ref.get("name", ""), ref.get("key", "")
    kind = "configmap" if plural == "configmaps" else "secret"
    obj = lookup(plural, namespace, name)
    if obj is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{kind} "{name}" not found')
    if plural == "secrets" and key in (obj.get("data") or {}):
        return base64.b64decode(obj["data"][key]).decode(errors="replace")
    for section in ("data", "binaryData") if plural == "configmaps" else ("stringData",):
        if key in (obj.get(section) or {}):
            value = obj[section][key]
            if section == "binaryData":
                return base64.b64decode(value).decode(errors="replace")
            return str(value)
    if ref.get("optional"):
        return None
    raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")


def _from_sources(container: JSON, namespace: str, lookup: Lookup) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        prefix = source.get("prefix", "")
        for plural, ref in (
            ("configmaps", source.get("configMapRef")),
            ("secrets", source.get("secretRef")),
        ):
            if ref is None:
                continue
            obj = lookup(plural, namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                kind = "configmap" if plural == "configmaps" else "secret"
                raise ConfigError(f'{kind} "{ref.get("name", "")}" not found')
            for key, value in (obj.get("data") or {}).items():
                decoded = (
                    base64.b64decode(value).decode(errors="replace")
                    if plural == "secrets"
                    else str(value)
                )
                env[prefix + key] = decoded
    return env


def resolve_env(
    pod: JSON,
    container: JSON,
    home: Path,
    lookup: Lookup,
    *,
    address: str = LOOPBACK,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The process environment of ``container``: a minimal base, ``envFrom``, then ``env``.

    ``base`` comes first after ``PATH``/``HOME``/``HOSTNAME`` (the kubelet's service variables,
    such as ``KUBERNETES_SERVICE_HOST``), so the pod's own variables override it; ``address``
    answers the ``status.podIP``/``status.hostIP`` field references.

    Raises :class:`ConfigError` when a referenced ConfigMap, Secret or key is missing and not
    optional.
    """
    meta = pod.get("metadata", {})
    namespace = meta.get("namespace", "")
    env = {"PATH": DEFAULT_PATH, "HOME": str(home), "HOSTNAME": meta.get("name", "")}
    env.update(base or {})
    env.update(_from_sources(container, namespace, lookup))
    for var in container.get("env") or ():
        name = var.get("name", "")
        source = var.get("valueFrom")
        if source is None:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        value: str | None
        if "fieldRef" in source:
            value = field_value(pod, source["fieldRef"].get("fieldPath", ""), address)
        elif "configMapKeyRef" in source:
            value = _key_ref(source["configMapKeyRef"], "configmaps", namespace, lookup)
        elif "secretKeyRef" in source:
            value = _key_ref(source["secretKeyRef"], "secrets", namespace, lookup)
        else:  # resourceFieldRef: no resource limits apply to host processes
            value = ""
        if value is not None:
            env[name] = value
    return env


# Spawning ---------------------------------------------------------------------------------------


def not_found_message(command: str, agent: str) -> str:
    """Why a container's executable cannot run; ``agent`` names the runner ("the dev server")."""
    return (
        f'executable "{command}" not found on this machine ({agent} runs containers as '
        "host processes; the image is not used)"
    )


async def spawn(
    argv: list[str], cwd: Path, env: dict[str, str], agent: str
) -> asyncio.subprocess.Process:
    """Start ``argv`` in its own session with stdout and stderr on one pipe.

    Its own session (and so process group) lets the runner stop the container's whole process
    tree, as a runtime stops everything in a container when PID 1 ends. ``agent`` names the
    runner in the errors (:class:`SpawnError`) of a command that cannot start.
    """
    _make_directory(cwd)
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise SpawnError(127, not_found_message(argv[0], agent)) from exc
    except PermissionError as exc:
        raise SpawnError(
            126, f'executable "{argv[0]}" cannot be run on this machine: permission denied'
        ) from exc
    except OSError as exc:
        raise SpawnError(
            126, f'executable "{argv[0]}" cannot be run on this machine: {exc.strerror}'
        ) from exc


def working_directory(root: Path, working_dir: str) -> Path:
    """Where a container with ``workingDir`` starts: inside the pod's ``root``, always.

    The path is read as a container reads it, with ``root`` as ``/`` (``..`` stops there, so
    ``../../..`` is ``root`` itself). One that a symbolic link inside ``root`` would take out
    of it raises :class:`SpawnError`: the runner creates the folder, and must not do so
    anywhere else on the host.
    """
    inside = posixpath.normpath("/" + working_dir).lstrip("/")
    path = root / inside if inside not in ("", ".") else root
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise SpawnError(
            128, f"working directory {working_dir!r} leads out of the pod's folder {root}"
        )
    return path


def _make_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpawnError(128, f"cannot create working directory {path}: {exc.strerror}") from exc


def kill_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused id owned by someone else
        return False
    return True


def exit_code(returncode: int) -> int:
    """A runtime's exit code: 128 + signal for a process killed by a signal."""
    return 128 - returncode if returncode < 0 else returncode


# Restart safety ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LostProcess:
    """A container process recorded by an earlier run of the runner: its session and start."""

    sid: int
    start_ticks: int


def _stat_field(pid: int, index: int) -> int | None:
    """Field ``index`` (counted after the command name) of ``/proc/<pid>/stat``, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[index])
    except (IndexError, ValueError):
        return None


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux ``/proc``), or None."""
    return _stat_field(pid, 19)


def _session_of(pid: int) -> int | None:
    return _stat_field(pid, 3)


def kill_lost(lost: LostProcess) -> int:
    """SIGKILL what is left of a recorded container's session; return how many were killed.

    Only processes in that session that started no earlier than its recorded leader are killed,
    so a process id reused by something unrelated is left alone. Without ``/proc`` (not Linux)
    nothing is killed: the runner cannot tell its own processes from strangers there.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    killed = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if _session_of(pid) != lost.sid:
            continue
        started = process_start(pid)
        if started is None or started < lost.start_ticks:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


#: The file in a pod's directory listing its container processes: ``<container> <pid> <start>``.
RECORDS = "processes"


def record_process(directory: Path, container: str, pid: int) -> None:
    """Note a container's process in its pod's directory, for :func:`kill_recorded` after a
    crash of the runner."""
    start = process_start(pid)
    with (directory / RECORDS).open("a") as handle:
        handle.write(f"{container} {pid} {start if start is not None else -1}\n")


def kill_recorded(directory: Path) -> int:
    """SIGKILL what is left of the processes recorded in a pod's directory; how many were."""
    records = directory / RECORDS
    try:
        lines = records.read_text().splitlines()
    except OSError:
        return 0
    killed = 0
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and int(parts[2]) >= 0:
            killed += kill_lost(LostProcess(int(parts[1]), int(parts[2])))
    return killed
