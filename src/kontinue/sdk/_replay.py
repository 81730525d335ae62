"""Step identity for replay: which recorded outcome belongs to which durable call.

A workflow is replayed from the top every time it resumes. Each durable call claims a step from
the :class:`StepLedger` *when it is called* (not when it is awaited), so ``asyncio.gather`` over
several children numbers them in the order they appear in the code, whatever order they finish
in. Unnamed steps are numbered ``0, 1, 2...``; a call may name its step explicitly instead, which
keeps its identity stable when code before it changes (a name can be used once per run).

On replay a claimed step that was recorded before must be the same kind of call to the same
target; anything else is a :class:`~kontinue.sdk.errors.NonDeterminismError`: mixing recorded
results into different code would silently corrupt the run.

Child resources are named from the parent and the step, so creating one again after a crash
finds the existing child instead of making a second one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kontinue.api import ExecutionStep, StepKind

from .errors import InternalError, NonDeterminismError

__all__ = [
    "EXECUTION_NAME_LIMIT",
    "JOB_NAME_LIMIT",
    "DuplicateStepName",
    "StepClaim",
    "StepLedger",
    "child_name",
]

EXECUTION_NAME_LIMIT = 253  # a DNS-1123 subdomain: custom resources, Suspensions
JOB_NAME_LIMIT = 63  # Jobs and Pods: the name is also a label value
_HASH = 8
_NOT_NAME = re.compile(r"[^a-z0-9-]+")
_STEP_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


class DuplicateStepName(InternalError):
    """Two durable calls in one run used the same explicit step name."""


def _slug(text: str) -> str:
    return _NOT_NAME.sub("-", text.lower()).strip("-")


def child_name(parent: str, step: str, *, limit: int = EXECUTION_NAME_LIMIT) -> str:
    """The deterministic name of the resource a step creates: ``<parent>-<step>``.

    Kept a valid DNS-1123 name within ``limit`` characters: when the plain form does not fit,
    it is shortened and a hash of the full form keeps different steps apart.
    """
    base = f"{_slug(parent)}-{_slug(step)}".strip("-") or "step"
    full = f"{parent}/{step}"
    lossless = base == f"{parent}-{step}"  # else "Build_Image" and "build-image" could collide
    if lossless and len(base) <= limit:
        return base
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH]
    room = limit - _HASH - 1
    return f"{base[:room].rstrip('-.')}-{digest}"


@dataclass(frozen=True)
class StepClaim:
    """A step claimed by a durable call, with what the previous runs recorded for it."""

    id: str
    kind: StepKind
    target: str | None
    recorded: ExecutionStep | None

    @property
    def replayed(self) -> bool:
        """True when an earlier run already recorded this step."""
        return self.recorded is not None


class StepLedger:
    """Hands out step identities in program order and matches them to recorded steps."""

    def __init__(self, recorded: Mapping[str, ExecutionStep] | None = None) -> None:
        self._recorded = dict(recorded or {})
        self._counter = 0
        self._claimed: set[str] = set()
        self.diverged: NonDeterminismError | None = None
        """The first mismatch of this run: every later claim raises it again, so workflow code
        that catches it cannot go on past it (the worker parks the execution)."""

    def version(self, change: str) -> StepClaim | None:
        """Where ``ktx.version(change)`` is called: the claim of its marker when the run takes
        the new path (it recorded the marker before, or no step was recorded here yet: the run
        is past its history), None when an older run recorded another call here (the old path;
        no step is claimed)."""
        if not _STEP_NAME.match(change):
            raise ValueError(
                f"invalid change name {change!r}: use 1-63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit"
            )
        recorded = self._recorded.get(str(self._counter))
        if recorded is not None and not (
            recorded.kind == StepKind.VERSION and recorded.name == change
        ):
            return None
        return self.claim(StepKind.VERSION, change)

    def claim(
        self, kind: StepKind, target: str | None = None, *, name: str | None = None
    ) -> StepClaim:
        """Claim the next step for a durable call of ``kind`` on ``target`` (the function,
        Job or script it runs), or the step called ``name``."""
        if name is None:
            step_id = str(self._counter)
            self._counter += 1
        else:
            if not _STEP_NAME.match(name) or name.isdigit():
                raise ValueError(
                    f"invalid step name {name!r}: use 1-63 letters, digits, '-', '_' or '.', "
                    "starting and ending with a letter or digit, and not only digits (those "
                    "are the automatic step numbers)"
                )
            step_id = name
        if self.diverged is not None:
            raise self.diverged
        if step_id in self._claimed:
            raise DuplicateStepName(
                f"the step name {step_id!r} is used twice in one run; give each durable call "
                "its own name"
            )
        self._claimed.add(step_id)
        recorded = self._recorded.get(step_id)
        if recorded is not None and (
            recorded.kind != kind or (target is not None and recorded.name != target)
        ):
            was = f"{recorded.kind.value}({recorded.name or ''})"
            now = f"{kind.value}({target or ''})"
            self.diverged = NonDeterminismError(
                f"step {step_id} was recorded as {was} but the workflow now calls {now} there: "
                "its code changed since the execution started (guard the change with "
                "ktx.version()), or it depends on something that is not replayed (time, "
                "randomness, I/O outside ktx)",
                details={"step": step_id, "recorded": was, "called": now},
            )
            raise self.diverged
        return StepClaim(step_id, kind, target, recorded)

    @property
    def claimed(self) -> frozenset[str]:
        """The steps claimed so far in this run."""
        return frozenset(self._claimed)

    def unclaimed(self) -> dict[str, ExecutionStep]:
        """Recorded steps this run has not reached (yet), by id."""
        return {i: step for i, step in self._recorded.items() if i not in self._claimed}
