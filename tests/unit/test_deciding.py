"""decide(): what a reconcile does about one execution, branch by branch, as a table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kontinue.api import Execution, ExecutionPhase, labels
from kontinue.sdk._functions import define
from kontinue.worker._deciding import (
    Adopt,
    AttemptTimedOut,
    End,
    Facts,
    Hold,
    Nothing,
    Rerun,
    Start,
    Throttle,
    UnknownFunction,
    WaitForVersion,
    decide,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
LABELLED = {
    labels.LABEL_FUNCTION: "work",
    labels.LABEL_WORKER_GROUP: "g",
    labels.LABEL_ROOT: "e",
}


async def work(ktx: Any) -> None:
    return None


WORK = define(work, "work")
FACTS = Facts(now=NOW, group="g", definition=WORK, code_version="v2", run_other_versions=False)


def _execution(
    *, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, **meta: Any
) -> Execution:
    return Execution.model_validate(
        {
            "apiVersion": "kontinue.cloud/v1alpha1",
            "kind": "Execution",
            "metadata": {"name": "e", "labels": dict(LABELLED), **meta},
            "spec": {"function": "work", **(spec or {})},
            "status": status or {},
        }
    )


def _at(seconds: int) -> str:
    return (NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


RUNNING = {"phase": "Executing", "attempt": 1, "startedAt": _at(-30), "attemptStartedAt": _at(-30)}
CASES: list[tuple[str, Execution, Facts, object, tuple[datetime, ...]]] = [
    ("new: start a first attempt", _execution(), FACTS, Start(True, None), ()),
    (
        "ended: nothing",
        _execution(status={"phase": "Completed", "attempt": 1}),
        FACTS,
        Nothing(),
        (),
    ),
    (
        "ended with a rerun asked: rerun",
        _execution(
            spec={"rerun": {"count": 1, "childPolicy": "RetryAll"}},
            status={"phase": "Failed", "attempt": 1},
        ),
        FACTS,
        Rerun(),
        (),
    ),
    (
        "cancel asked: end Canceled",
        _execution(spec={"cancel": {"reason": "no"}}, status=RUNNING),
        FACTS,
        End(ExecutionPhase.CANCELED, "no"),
        (),
    ),
    (
        "skip asked: end Skipped with its result",
        _execution(spec={"skip": {"result": 3}}, status=RUNNING),
        FACTS,
        End(ExecutionPhase.SKIPPED, "skipped", 3),
        (),
    ),
    (
        "made with kubectl: label it",
        _execution(labels={}),
        FACTS,
        Adopt(dict(LABELLED)),
        (),
    ),
    (
        "a child made with kubectl keeps its parent's root",
        _execution(labels={labels.LABEL_PARENT: "p", labels.LABEL_ROOT: "r"}),
        FACTS,
        Adopt({labels.LABEL_FUNCTION: "work", labels.LABEL_WORKER_GROUP: "g"}),
        (),
    ),
    (
        "running, no limits: nothing",
        _execution(status=RUNNING),
        replace(FACTS, running=True),
        Nothing(),
        (),
    ),
    (
        "running within its attempt limit: look again at the limit",
        _execution(spec={"timeout": {"attempt": "1m"}}, status=RUNNING),
        replace(FACTS, running=True),
        Nothing(),
        (NOW + timedelta(seconds=30),),
    ),
    (
        "running past its attempt limit: time the attempt out",
        _execution(spec={"timeout": {"attempt": "10s"}}, status=RUNNING),
        replace(FACTS, running=True),
        AttemptTimedOut(timedelta(seconds=10)),
        (),
    ),
    (
        "past its overall limit: fail it",
        _execution(spec={"timeout": {"overall": "10s"}}, status=RUNNING),
        replace(FACTS, running=True),
        "fail",
        (),
    ),
    (
        "parked and nothing it waits for happened: nothing",
        _execution(status={**RUNNING, "phase": "Suspended"}),
        replace(FACTS, parked=True),
        Nothing(),
        (),
    ),
    (
        "parked and ready: replay it",
        _execution(status={**RUNNING, "phase": "Suspended", "codeVersion": "v2"}),
        replace(FACTS, parked=True, parked_ready=True),
        Start(False, None),
        (),
    ),
    (
        "backing off: look again when the next attempt is due",
        _execution(status={"phase": "Backoff", "attempt": 1, "nextAttemptAt": _at(5)}),
        FACTS,
        Nothing(),
        (NOW + timedelta(seconds=5),),
    ),
    (
        "backoff over: start the next attempt",
        _execution(status={"phase": "Backoff", "attempt": 1, "nextAttemptAt": _at(-1)}),
        FACTS,
        Start(True, None),
        (),
    ),
    (
        "nobody here runs its function",
        _execution(),
        replace(FACTS, definition=None),
        UnknownFunction(),
        (),
    ),
    (
        "stalled on this code: nothing",
        _execution(status=RUNNING),
        replace(FACTS, stalled=True),
        Nothing(),
        (),
    ),
    (
        "started on other code: leave it",
        _execution(status={**RUNNING, "codeVersion": "v1"}),
        FACTS,
        WaitForVersion(
            "waiting for a worker of code version v1 (this worker runs v2 and leaves "
            "other versions' executions)"
        ),
        (),
    ),
    (
        "started on other code, and this worker runs them too: replay it",
        _execution(status={**RUNNING, "codeVersion": "v1"}),
        replace(FACTS, run_other_versions=True),
        Start(False, None),
        (),
    ),
    (
        "no free slot: wait for one",
        _execution(),
        replace(FACTS, free_slots=0, max_runs=4),
        Throttle("waiting: this worker runs at most 4 executions at once"),
        (),
    ),
    (
        "client backlog full: hold a new attempt",
        _execution(),
        replace(FACTS, backlogged=True),
        Hold(),
        (),
    ),
    (
        "client backlog full: a replay goes on",
        _execution(status={**RUNNING, "codeVersion": "v2"}),
        replace(FACTS, backlogged=True),
        Start(False, None),
        (),
    ),
]


@pytest.mark.parametrize(
    ("execution", "facts", "action", "wake_at"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(execution: Execution, facts: Facts, action: object, wake_at: tuple) -> None:
    decision = decide(execution, facts)
    if action == "fail":
        assert isinstance(decision.action, End)
        assert decision.action.phase == ExecutionPhase.FAILED
        assert decision.action.error is not None
        assert decision.action.error.message == "the overall timeout of 0:00:10 expired"
    else:
        assert decision.action == action
    assert decision.wake_at == wake_at
    assert decision.unpark == (facts.parked and facts.parked_ready)
