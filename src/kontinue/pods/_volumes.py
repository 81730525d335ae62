"""Pod volumes as folders in the pod's directory, as a kubelet lays them out.

``emptyDir`` is an empty folder; ``configMap``, ``secret``, ``downwardAPI`` and ``projected``
(with ``serviceAccountToken`` sources: the ``kube-api-access-*`` volume the ServiceAccount
admission plugin adds to every pod) are folders of files; ``hostPath`` is the host's own path.
Other kinds (persistent volumes, CSI, images...) are refused with a message: the pod waits, as
on a kubelet that cannot mount them.

:func:`render_volumes` works out every file without I/O from the objects and tokens the runner
fetched (:func:`volume_references`, :func:`token_sources` say which); :func:`write_volume` puts them
on disk, each file replaced atomically so a reader never sees half a token.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from ._processes import ConfigError, Lookup, field_value

__all__ = [
    "Token",
    "TokenSource",
    "Volume",
    "VolumeFile",
    "container_references",
    "refresh_delay",
    "render_volumes",
    "token_sources",
    "volume_references",
    "write_volume",
]

JSON = dict[str, Any]
#: File mode of volume files unless the spec says otherwise (420, as the API defaults it).
DEFAULT_MODE = 0o644
#: The longest a token is used before it is renewed, whatever its lifetime.
MAX_TOKEN_AGE = timedelta(hours=24)
#: The kinds of volume that are plain folders filled from objects.
_FILE_KINDS = ("configMap", "secret", "downwardAPI", "projected")


@dataclass(frozen=True)
class TokenSource:
    """What a projected ``serviceAccountToken`` asks for (one token serves equal requests).

    ``audience`` empty means the API server's own audiences.
    """

    audience: str
    expiration_seconds: int


@dataclass(frozen=True)
class Token:
    """A service-account token from the TokenRequest API, and when it expires."""

    token: str
    expires: datetime


@dataclass(frozen=True)
class VolumeFile:
    """One file of a volume: its path inside the volume, content and mode."""

    path: str
    data: bytes
    mode: int


@dataclass(frozen=True)
class Volume:
    """One volume of a pod as it is laid out here.

    ``files`` None is a plain folder (``emptyDir``); ``host_path`` set is the host's folder.
    """

    name: str
    files: tuple[VolumeFile, ...] | None = None
    host_path: str | None = None


def _projections(volume: JSON) -> Iterator[tuple[str, JSON]]:
    """``(kind, source)`` of each part of a volume (one for plain volumes)."""
    if "projected" in volume:
        for source in (volume["projected"] or {}).get("sources") or ():
            for kind, part in source.items():
                yield kind, part or {}
        return
    for kind in ("configMap", "secret", "downwardAPI"):
        if kind in volume:
            yield kind, volume[kind] or {}


def volume_references(pod: JSON) -> list[tuple[str, str]]:
    """``(plural, name)`` of every ConfigMap and Secret the pod's volumes use, without
    repeats."""
    found: dict[tuple[str, str], None] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        for kind, source in _projections(volume):
            if kind == "configMap":
                found[("configmaps", str(source.get("name", "")))] = None
            elif kind == "secret":
                name = source.get("secretName") or source.get("name") or ""
                found[("secrets", str(name))] = None
    return list(found)


def container_references(container: JSON) -> list[tuple[str, str]]:
    """``(plural, name)`` of the ConfigMaps and Secrets one container's environment uses,
    without repeats."""
    found: list[tuple[str, str]] = []
    for source in container.get("envFrom") or ():
        if source.get("configMapRef"):
            found.append(("configmaps", str(source["configMapRef"].get("name", ""))))
        if source.get("secretRef"):
            found.append(("secrets", str(source["secretRef"].get("name", ""))))
    for var in container.get("env") or ():
        value_from = var.get("valueFrom") or {}
        if value_from.get("configMapKeyRef"):
            found.append(("configmaps", str(value_from["configMapKeyRef"].get("name", ""))))
        if value_from.get("secretKeyRef"):
            found.append(("secrets", str(value_from["secretKeyRef"].get("name", ""))))
    return list(dict.fromkeys(found))


def token_sources(pod: JSON) -> list[TokenSource]:
    """The service-account tokens the pod's projected volumes need, without repeats."""
    found: dict[TokenSource, None] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        for kind, source in _projections(volume):
            if kind == "serviceAccountToken":
                seconds = int(source.get("expirationSeconds") or 3600)
                found[TokenSource(str(source.get("audience") or ""), seconds)] = None
    return list(found)


def refresh_delay(token: Token, now: datetime) -> float:
    """Seconds until ``token`` should be replaced: at 80 % of its remaining life, as the
    kubelet's token manager renews, and within :data:`MAX_TOKEN_AGE`."""
    remaining = token.expires - now
    return max(1.0, min(remaining * 0.8, MAX_TOKEN_AGE).total_seconds())


def render_volumes(
    pod: JSON,
    lookup: Lookup,
    tokens: Mapping[TokenSource, Token],
    *,
    address: str,
    agent: str,
) -> list[Volume]:
    """Every volume of ``pod`` with its files, from the fetched objects and tokens.

    Raises :class:`ConfigError` when a referenced object or key is missing and not optional,
    or a volume is of a kind this runner cannot provide (``agent`` names it).
    """
    volumes: list[Volume] = []
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        name = str(volume.get("name", ""))
        if "emptyDir" in volume:
            volumes.append(Volume(name))
        elif "hostPath" in volume:
            volumes.append(Volume(name, host_path=str(volume["hostPath"].get("path", ""))))
        elif any(kind in volume for kind in _FILE_KINDS):
            files = _files(pod, volume, lookup, tokens, address)
            volumes.append(Volume(name, tuple(files)))
        else:
            kinds = ", ".join(k for k in volume if k != "name") or "unknown"
            raise ConfigError(
                f'volume "{name}": {kinds} volumes are not supported ({agent} runs pods as '
                "host processes and mounts only emptyDir, configMap, secret, downwardAPI, "
                "projected and hostPath volumes)"
            )
    return volumes


def _files(
    pod: JSON,
    volume: JSON,
    lookup: Lookup,
    tokens: Mapping[TokenSource, Token],
    address: str,
) -> list[VolumeFile]:
    outer = volume.get("projected") or volume.get("configMap") or volume.get("secret") or {}
    if "downwardAPI" in volume:
        outer = volume["downwardAPI"] or {}
    default = int(outer.get("defaultMode") or DEFAULT_MODE)
    namespace = str((pod.get("metadata") or {}).get("namespace", ""))
    files: list[VolumeFile] = []
    for kind, source in _projections(volume):
        if kind in ("configMap", "secret"):
            files += _object_files(kind, source, namespace, lookup, default)
        elif kind == "downwardAPI":
            for item in source.get("items") or ():
                ref = item.get("fieldRef")
                value = field_value(pod, ref.get("fieldPath", ""), address) if ref else ""
                files.append(_file(item.get("path"), value.encode(), item.get("mode"), default))
        elif kind == "serviceAccountToken":
            seconds = int(source.get("expirationSeconds") or 3600)
            token = tokens[TokenSource(str(source.get("audience") or ""), seconds)]
            files.append(_file(source.get("path"), token.token.encode(), None, default))
        else:
            raise ConfigError(
                f'volume "{volume.get("name", "")}": {kind} projections are not supported'
            )
    return [f for f in files if f.path]


def _file(path: Any, data: bytes, mode: Any, default: int) -> VolumeFile:
    """A file, or one with an empty path (left out) when ``path`` would leave the volume."""
    text = str(path or "")
    parts = PurePosixPath(text).parts
    if not text or text.startswith("/") or ".." in parts:
        return VolumeFile("", data, default)
    return VolumeFile(text, data, int(mode) if mode is not None else default)


def _object_files(
    kind: str, source: JSON, namespace: str, lookup: Lookup, default: int
) -> list[VolumeFile]:
    plural = "configmaps" if kind == "configMap" else "secrets"
    name = str(source.get("name") or source.get("secretName") or "")
    label = "configmap" if kind == "configMap" else "secret"
    optional = bool(source.get("optional"))
    obj = lookup(plural, namespace, name)
    if obj is None:
        if optional:
            return []
        raise ConfigError(f'{label} "{name}" not found')
    values = _values(plural, obj)
    items = source.get("items")
    if not items:
        return [_file(key, value, None, default) for key, value in sorted(values.items())]
    files: list[VolumeFile] = []
    for item in items:
        key = str(item.get("key", ""))
        if key not in values:
            if optional:
                continue
            raise ConfigError(f"{label} {namespace}/{name} references non-existent key: {key}")
        files.append(_file(item.get("path"), values[key], item.get("mode"), default))
    return files


def _values(plural: str, obj: JSON) -> dict[str, bytes]:
    decode: Callable[[Any], bytes] = base64.b64decode
    if plural == "secrets":
        values = {k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()}
        values.update({k: decode(v) for k, v in (obj.get("data") or {}).items()})
        return values
    values = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    values.update({k: decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return values


def write_volume(directory: Path, volume: Volume) -> Path:
    """Lay ``volume`` out in ``directory`` (files replaced atomically, stale ones removed);
    the folder containers should see (the host's own for ``hostPath``)."""
    if volume.host_path is not None:
        return Path(volume.host_path)
    directory.mkdir(parents=True, exist_ok=True)
    if volume.files is None:
        return directory
    wanted: set[Path] = set()
    for item in volume.files:
        target = directory / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(item.data)
        os.chmod(temporary, item.mode & 0o777)
        os.replace(temporary, target)
        wanted.add(target)
    for existing in sorted(directory.rglob("*"), reverse=True):
        if existing.is_file() and existing not in wanted:
            existing.unlink()
    return directory
