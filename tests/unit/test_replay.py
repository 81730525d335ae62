"""Step identity, non-determinism detection and child naming for replay."""

from __future__ import annotations

import re

import pytest

from kontinue.api import ErrorKind, ExecutionStep, StepKind, StepState
from kontinue.sdk._replay import (
    JOB_NAME_LIMIT,
    DuplicateStepName,
    StepLedger,
    child_name,
)
from kontinue.sdk.errors import NonDeterminismError

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _step(step_id: str, kind: StepKind, name: str | None = None) -> dict[str, ExecutionStep]:
    return {step_id: ExecutionStep(kind=kind, name=name, state=StepState.DONE, value=step_id)}


def test_steps_are_numbered_in_call_order_and_named_steps_keep_their_name() -> None:
    ledger = StepLedger()
    first = ledger.claim(StepKind.EXECUTE, "prepare")
    named = ledger.claim(StepKind.STORE, name="token")
    second = ledger.claim(StepKind.SLEEP)
    assert (first.id, named.id, second.id) == ("0", "token", "1")
    assert not first.replayed
    assert ledger.claimed == {"0", "token", "1"}


def test_replay_returns_the_recorded_step() -> None:
    recorded = _step("0", StepKind.EXECUTE, "prepare") | _step("token", StepKind.STORE)
    ledger = StepLedger(recorded)
    claim = ledger.claim(StepKind.EXECUTE, "prepare")
    assert claim.replayed and claim.recorded is not None and claim.recorded.value == "0"
    assert list(ledger.unclaimed()) == ["token"]
    assert ledger.claim(StepKind.STORE, name="token").replayed
    assert ledger.claim(StepKind.SLEEP).recorded is None  # new step "1"


def test_a_different_call_at_a_recorded_step_is_non_determinism() -> None:
    ledger = StepLedger(_step("0", StepKind.EXECUTE, "prepare"))
    with pytest.raises(NonDeterminismError) as err:
        ledger.claim(StepKind.SLEEP)
    assert "step 0 was recorded as execute(prepare)" in str(err.value)
    assert err.value.to_record().kind == ErrorKind.INTERNAL
    assert err.value.retryable is False
    ledger = StepLedger(_step("0", StepKind.EXECUTE, "prepare"))
    with pytest.raises(NonDeterminismError, match="now calls execute\\(deploy\\)"):
        ledger.claim(StepKind.EXECUTE, "deploy")


def test_step_names_are_unique_and_well_formed() -> None:
    ledger = StepLedger()
    ledger.claim(StepKind.STORE, name="a")
    with pytest.raises(DuplicateStepName, match="'a' is used twice"):
        ledger.claim(StepKind.STORE, name="a")
    for bad in ("", "12", "-x", "has space", "x" * 64):
        with pytest.raises(ValueError, match="invalid step name"):
            StepLedger().claim(StepKind.STORE, name=bad)


def test_child_names_are_deterministic_and_valid() -> None:
    assert child_name("deploy-abc", "0") == "deploy-abc-0"
    mixed = child_name("deploy-abc", "Build_Image")
    assert mixed.startswith("deploy-abc-build-image-") and _DNS_LABEL.match(mixed)
    assert mixed != child_name("deploy-abc", "build-image")  # no collision after lowering
    long_parent = "p" * 60
    job = child_name(long_parent, "17", limit=JOB_NAME_LIMIT)
    assert len(job) <= JOB_NAME_LIMIT and _DNS_LABEL.match(job)
    assert job == child_name(long_parent, "17", limit=JOB_NAME_LIMIT)  # stable
    assert job != child_name(long_parent, "18", limit=JOB_NAME_LIMIT)  # distinct steps
    assert len(child_name("x" * 300, "0")) <= 253
