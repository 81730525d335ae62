"""Arguments and skip results from the command line, read and checked per the function's
published schemas; scalar arguments from the client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

import kontinue
from kontinue.api import ExecutionPhase
from kontinue.client import Client, InvalidArguments
from kontinue.testing import WorkflowEnvironment, eventually

from .conftest import Cli, assert_error


class Ticket(BaseModel):
    id: str
    priority: int = 1
    tags: list[str] = []


class Verdict(BaseModel):
    approved: bool
    by: str


def _worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="cli-arguments")

    @worker.function("ticket")
    async def ticket(ktx: kontinue.ExecutionContext, args: Ticket) -> Ticket:
        return args

    @worker.function("double")
    async def double(ktx: kontinue.ExecutionContext, n: int) -> int:
        return 2 * n

    @worker.function("review")
    async def review(ktx: kontinue.ExecutionContext) -> Verdict:
        return await ktx.suspend("review?", data=Verdict)

    @worker.function("reviews")
    async def reviews(ktx: kontinue.ExecutionContext) -> str:
        verdict = await ktx.execute(review)
        return f"{verdict.approved} by {verdict.by}"

    return worker


@pytest.fixture
def here(
    kontinue_env: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    with kontinue_env.running(_worker()):
        yield Cli(kontinue_env, capsys, monkeypatch)


def test_arg_values_are_read_per_the_schema_and_unknown_keys_refused(here: Cli) -> None:
    done = here.here(
        *("execute", "ticket", "-w", "-o", "json"),
        *("--arg", "id=123", "--arg", "priority=2", "--arg", 'tags=["a", "b"]'),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["status"]["result"]
    assert result == {"id": "123", "priority": 2, "tags": ["a", "b"]}
    assert_error(
        here.here("execute", "ticket", "--arg", "id=1", "--arg", "priorty=2"),
        2,
        "ticket takes no argument 'priorty' (its arguments: id, priority, tags)",
    )
    assert_error(
        here.here("execute", "ticket", "--args", '{"id": "1", "colour": "red"}'),
        2,
        "ticket takes no argument 'colour'",
    )
    assert_error(
        here.here("execute", "ticket", "--arg", "id=1", "--arg", "priority=high"),
        2,
        "priority: 'high' is not of type 'integer'",
    )
    scalar = here.here("execute", "double", "--arg", "value=21", "-w")
    assert scalar.returncode == 0, scalar.stderr
    assert json.loads(scalar.stdout) == 42


def test_skip_results_are_checked_against_the_result_schema(here: Cli) -> None:
    env = here.env
    parent = env.execute("reviews")
    child = eventually(lambda: env.children(parent), what="the child").pop().metadata.name or ""
    env.wait(child, phases={ExecutionPhase.SUSPENDED})
    assert_error(
        here.here("skip", child, "--result", '{"approved": "yes", "by": "ana"}'),
        2,
        "approved: 'yes' is not of type 'boolean'",
    )
    assert_error(here.here("skip", child), 2, "(root): None is not of type 'object'")
    assert env.get(child).spec.skip is None  # nothing was written
    skipped = here.here("skip", child, "--result", '{"approved": true, "by": "ana"}')
    assert skipped.returncode == 0, skipped.stderr
    assert env.wait(parent).status.result == "True by ana"


def test_the_client_spawns_a_function_of_a_scalar_argument(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with (
        kontinue_env.running(_worker()),
        Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as client,
    ):
        done = client.spawn_and_wait("double", 21, wait_timeout=10)
        assert done.spec.arguments == {"value": 21}
        assert client.parse_result(done, int) == 42
        with pytest.raises(InvalidArguments, match="value: 'x' is not of type 'integer'"):
            client.spawn("double", "x")
