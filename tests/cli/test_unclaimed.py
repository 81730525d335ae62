"""The CLI on an execution no worker runs: execute and describe say why it waits, cancel ends it
(before, it stayed Pending with no message and cancel reported a request nobody carried out)."""

from __future__ import annotations

import pytest

from kontinue.testing import WorkflowEnvironment

from .conftest import Cli, make_worker


@pytest.fixture
def idle_cli(
    kontinue_env: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """The CLI in a namespace whose worker published its functions, then stopped."""
    with kontinue_env.running(make_worker()):
        pass
    return Cli(kontinue_env, capsys, monkeypatch)


def test_execute_describe_and_cancel_without_a_live_worker(idle_cli: Cli) -> None:
    created = idle_cli.here("execute", "order", "--arg", "item=tea", "-o", "name")
    assert created.returncode == 0, created.stderr
    name = created.stdout.strip().split("/")[-1]
    assert "note: no worker of group 'cli' is running" in created.stderr
    assert "until then it stays Pending" in created.stderr
    described = idle_cli.here("describe", name)
    assert described.returncode == 0, described.stderr
    assert "Waiting:" in described.stdout and "no worker of group 'cli'" in described.stdout
    canceled = idle_cli.here("cancel", name)
    assert canceled.returncode == 0, canceled.stderr
    assert canceled.stdout.strip() == f"execution {name} canceled (no worker had started it)"
    listed = idle_cli.here("get", name)
    assert "Canceled" in listed.stdout, listed.stdout
