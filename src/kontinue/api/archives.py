"""ArchivedExecution: a finished execution tree, compressed into one object.

After ``ttl.archiveAfter`` the TTL controller serialises the tree (executions, suspensions, jobs),
stores it here and deletes the live objects, so the namespace stays small while ``get``, ``list``
and ``tree`` keep answering from the archive.  A tree too large for one object (Kubernetes keeps
objects under about 1.5 MiB) is split into numbered parts.  The status repeats the root's outcome
so ``kubectl get aex`` is useful without decoding anything.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from ._meta import KontinueModel, Resource, ResourceNames, Time
from .executions import ExecutionPhase

__all__ = [
    "ARCHIVE_ENCODING",
    "ArchivedExecution",
    "ArchivedExecutionSpec",
    "ArchivedExecutionStatus",
    "decode_archive",
    "encode_archive",
]

ARCHIVE_ENCODING: Literal["gzip+json+base64"] = "gzip+json+base64"
"""How ``spec.data`` is encoded: the JSON of the tree, gzip-compressed, then base64."""


class ArchivedExecutionSpec(KontinueModel):
    """The archived tree (or one part of it) and what it is."""

    function: str = Field(min_length=1)
    """Function of the root execution."""
    root: str = Field(min_length=1)
    """Name of the root execution the tree belonged to."""
    archived_at: Time
    """When the tree was archived."""
    encoding: Literal["gzip+json+base64"] = ARCHIVE_ENCODING
    """Encoding of ``data``: gzip-compressed JSON in base64."""
    data: str
    """The encoded tree, or this part of it."""
    size: int = Field(ge=0)
    """Size in bytes of the JSON before compression (of the whole tree)."""
    parts: int = Field(default=1, ge=1)
    """Number of parts the encoded tree was split into."""
    part: int = Field(default=0, ge=0)
    """Index of this part (0-based): concatenate the ``data`` of all parts in order, then
    decode."""


class ArchivedExecutionStatus(KontinueModel):
    """The outcome of the root execution, copied when it was archived."""

    phase: ExecutionPhase | None = None
    """Final phase of the root execution."""
    message: str | None = None
    """Final message of the root execution."""
    started_at: Time | None = None
    """When the root execution started."""
    finished_at: Time | None = None
    """When the root execution finished."""


class ArchivedExecution(Resource):
    """A finished execution tree kept in compressed form after ``ttl.archiveAfter``.

    Archives carry the ``kontinue.cloud/root`` and ``kontinue.cloud/function`` labels of their
    root, so clients find them with the same selectors as live executions.
    """

    names: ClassVar[ResourceNames] = ResourceNames(
        "ArchivedExecution", "archivedexecutions", "archivedexecution", ("aex",)
    )

    kind: Literal["ArchivedExecution"] = "ArchivedExecution"
    """The kind of this object."""
    spec: ArchivedExecutionSpec
    """The archived tree and what it is."""
    status: ArchivedExecutionStatus = Field(default_factory=ArchivedExecutionStatus)
    """The outcome of the root execution."""


def encode_archive(tree: dict[str, Any]) -> tuple[str, int]:
    """``tree`` (``{"executions": [...], "suspensions": [...], "jobs": [...]}``, the objects as
    JSON) in the archive encoding, and its size in bytes before compression."""
    raw = json.dumps(tree, separators=(",", ":"), sort_keys=True).encode()
    return base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii"), len(raw)


def decode_archive(parts: Sequence[ArchivedExecution]) -> dict[str, Any]:
    """The tree stored in the parts of one archive (in any order; all parts needed)."""
    if not parts:
        raise ValueError("an archive needs at least one part")
    ordered = sorted(parts, key=lambda part: part.spec.part)
    expected = ordered[0].spec.parts
    if [p.spec.part for p in ordered] != list(range(expected)):
        raise ValueError(
            f"archive of {ordered[0].spec.root} has parts {[p.spec.part for p in ordered]}, "
            f"expected 0..{expected - 1}"
        )
    data = "".join(part.spec.data for part in ordered)
    tree: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(data)))
    return tree
