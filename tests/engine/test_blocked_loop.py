"""A blocking call in an async workflow is named: which execution, which line, for how long.

Before, it silently stopped every other run, the watches and the leader Lease meanwhile.
"""

from __future__ import annotations

import logging
import time

import pytest

import kontinue
from kontinue.api import ExecutionPhase
from kontinue.testing import WorkflowEnvironment
from kontinue.worker import WorkerSettings


def test_a_workflow_blocking_the_loop_is_named_with_its_line(
    kontinue_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    worker = kontinue.Worker(group="blocking", settings=WorkerSettings(blocked_loop_warning=0.2))

    @worker.function("blocker")
    async def blocker(ktx: kontinue.ExecutionContext) -> str:
        time.sleep(0.8)  # noqa: ASYNC251 - the mistake this test is about
        return "done"

    with caplog.at_level(logging.WARNING, logger="kontinue.worker"), kontinue_env.running(worker):
        name = kontinue_env.execute(blocker, {})
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED
    messages = [r.getMessage() for r in caplog.records if "event loop" in r.getMessage()]
    warned = [m for m in messages if "has blocked" in m]
    assert len(warned) == 1, messages
    assert f"execution {name} (function 'blocker') has blocked the worker's event loop" in warned[0]
    assert "test_blocked_loop.py:" in warned[0] and "in blocker" in warned[0]
    assert "make the workflow a plain def" in warned[0]
    assert any("ran again after" in m and name in m for m in messages), messages
