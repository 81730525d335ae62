"""Executions from the command line: start, inspect, steer; bad input and its exit codes.

Every command runs at least once as the installed console script (``cli(...)``,
``cli.many(...)``); further cases of the same command run in-process (``cli.here(...)``).
"""

from __future__ import annotations

import json
from datetime import timedelta

import yaml

from kontinue.api import ExecutionPhase
from kontinue.testing import WorkflowEnvironment

from .conftest import Cli, assert_error, finish

EXECUTIONS = "executions.kontinue.cloud"
SUSPENSIONS = "suspensions.kontinue.cloud"


def _names(env: WorkflowEnvironment) -> set[str]:
    return {e["metadata"]["name"] for e in env.kube.list(EXECUTIONS)}


def test_functions_execute_and_inspect(cli: Cli) -> None:
    table = cli("functions")
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "GROUP", "ARGUMENTS", "DESCRIPTION"]
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in lines[1:]}
    arguments = "item*, quantity=1, size=small, express=false"
    assert rows["order"] == ["cli", f"{arguments}  Orders something."]
    assert "internal" not in rows
    everything = cli.here("functions", "--all", "-o", "name").stdout.split()
    assert everything == ["approve", "chain", "fail", "internal", "nap", "order", "scripts"]

    waited, created = cli.many(
        [
            *("execute", "order", "-w"),
            *("--arg", "item=tea", "--arg", "quantity=2", "--arg", "size=large"),
        ],
        [
            *("execute", "order", "--args", '{"item": "cake", "quantity": 1}'),
            *("--arg", "quantity=3"),
            *("--name", "cake-order", "--retries", "2", "--backoff", "10s", "--mutex", "bakery"),
            *("--timeout-attempt", "5m", "--timeout-overall", "2h"),
            *("--ttl-archive", "1d", "--ttl-delete", "7d", "-o", "name"),
        ],
    )
    assert json.loads(waited.stdout) == {"item": "tea", "total": 20, "size": "large"}
    assert "created, waiting for it to end" in waited.stderr
    name = created.stdout.strip()
    assert name == "cake-order"
    assert cli.env.wait(name).status.phase == ExecutionPhase.COMPLETED

    as_json, listing, described, tree = cli.many(
        ["get", name, "-o", "json"],
        ["list", "--function", "order", "--phase", "completed"],
        ["describe", name],
        ["tree", name, "-o", "yaml"],
    )
    spec = json.loads(as_json.stdout)["spec"]
    assert spec["arguments"] == {"item": "cake", "quantity": 3, "size": "small", "express": False}
    assert spec["retry"] == {"retries": 2, "backoff": "10s", "childPolicy": "None"}
    assert spec["timeout"] == {"attempt": "5m", "overall": "2h"}
    assert spec["ttl"] == {"archiveAfter": "1d", "deleteAfter": "7d"}
    assert spec["mutex"] == {"name": "bakery"}

    header, *rows_ = listing.stdout.splitlines()
    assert header.split() == ["NAME", "FUNCTION", "PHASE", "ATTEMPT", "AGE", "DURATION", "MESSAGE"]
    assert [r.split()[1:4] for r in rows_] == [["order", "Completed", "1"]] * 2
    assert "cake-order" in [r.split()[0] for r in rows_]
    for expected in (
        "Name:       cake-order",
        "Function:   order",
        "Retry:      2 retries, backoff 10s, children None",
        "Timeout:    attempt 5m, overall 2h",
        "TTL:        archive after 1d, delete after 7d",
        "Mutex:      bakery",
        "Phase:     Completed",
        '"total": 30',
        "Steps: none",
        "Ready  True",
        "Suspensions: none",
    ):
        assert expected in described.stdout, described.stdout
    root = yaml.safe_load(tree.stdout)["root"]
    assert (root["name"], root["function"], root["phase"]) == (name, "order", "Completed")
    options_first = cli.here("--output", "name", "list", "--only-root")  # (before the command)
    assert name in options_first.stdout.split() and len(options_first.stdout.split()) == 2

    row = cli.here("get", f"executions/{name}")  # kubectl-style kind/name works too
    assert row.stdout.splitlines()[1].split()[:4] == ["cake-order", "order", "Completed", "1"]
    assert cli.here("list", "--phase", "Failed", "-o", "name").stdout == ""
    assert "No executions found" in cli.here("list", "--phase", "Failed").stderr
    as_yaml = yaml.safe_load(cli.here("list", "-o", "yaml").stdout)
    assert as_yaml["kind"] == "List" and len(as_yaml["items"]) == 2


def test_bad_input_fails_clearly_and_creates_nothing(cli: Cli) -> None:
    existing = cli.env.execute("order", {"item": "x"})
    before = _names(cli.env)
    elsewhere = cli.start("get", existing, namespace="default")
    unknown, bad_json, invalid = cli.many(
        ["execute", "nope"],
        ["execute", "order", "--args", "{bad"],
        ["execute", "order", "--arg", "size=medium", "--arg", "quantity=0"],
    )
    # -n is honored: the execution is not in "default" (and on a cluster with RBAC the test's
    # user may not even look there)
    gone, forbidden = f'executions.kontinue.cloud "{existing}" not found', "is forbidden"
    done = finish(elsewhere)
    if done.returncode == 6:
        assert_error(done, 6, forbidden)
    else:
        assert_error(done, 3, gone)
    assert_error(unknown, 3, "no function 'nope' in namespace")
    assert_error(bad_json, 2, "--args is not valid JSON")
    assert_error(
        invalid,
        2,
        "invalid arguments for order: (root): 'item' is a required property; quantity: 0 is "
        "less than the minimum of 1; size: 'medium' is not one of ['small', 'large']",
    )
    for args, code, message in [
        (["get", "nope"], 3, 'executions.kontinue.cloud "nope" not found'),
        (["execute", "order", "--arg", "item=x", "--backoff", "soon"], 2, "invalid duration"),
        (["execute", "order", "--args", "[1, 2]"], 2, "--args must be a JSON object"),
        (["execute", "order", "--arg", "quantity"], 2, "--arg 'quantity' is not KEY=VALUE"),
        (["execute", "order", "--wait-timeout", "1s"], 2, "--wait-timeout needs --wait"),
        (["list", "--phase", "bogus"], 2, "Invalid value for '--phase'"),
        (["tree", existing, "-o", "name"], 2, "-o name is not available here"),
        (["tree", existing, "--watch", "-o", "json"], 2, "--watch draws a live tree"),
        (["logs", "nope"], 3, 'no Job or execution called "nope"'),
        (["logs", existing], 3, f"execution {existing} has started no Jobs"),
        (["execute", "order", "--arg", "item=x", "--name", "Bad_Name"], 2, "is invalid"),
        (["skip", existing, "--result", "{"], 2, "--result is not valid JSON"),
        (["retry", existing, "--child-policy", "some"], 2, "Invalid value for '--child-policy'"),
        (["-n", "x", "worker", "examples.hello:worker"], 2, "kontinue worker takes its own"),
        (["get", existing, "--context", "nope"], 7, "cannot load Kubernetes configuration"),
    ]:
        assert_error(cli.here(*args), code, message)
    assert _names(cli.env) == before
    debug = cli.here("--debug", "describe", "nope")
    assert debug.returncode == 3 and "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1] == 'error: executions.kontinue.cloud "nope" not found'
    assert_error(cli.here("-o", "name", "describe", existing), 2, "-o name is not available")


def test_resume_cancel_skip_retry(cli: Cli) -> None:
    name = cli.ok("execute", "approve", "-o", "name").strip()
    cli.env.wait(name, phases={ExecutionPhase.SUSPENDED})
    watcher = cli.start("tree", name, "--watch")
    [suspension] = cli.ok("suspensions", "-o", "name").split()
    bad_data = cli.here("resume", name, "--data", '{"approved": "yes"}')
    assert_error(bad_data, 2, "approved: 'yes' is not of type 'boolean'")
    table = cli.here("suspensions").stdout
    assert f"{suspension}  {name}  Manual  Waiting" in table and "ok?" in table, table
    assert_error(cli.here("resume", "nope"), 3, 'executions.kontinue.cloud "nope" not found')

    resumed = cli.ok("resume", suspension, "--data", '{"approved": true}', "--by", "ana")
    assert resumed == f"suspension {suspension} of execution {name} resume requested\n"
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert f"{name} (approve)  Completed" in out, out
    assert f"{suspension} (Suspension)  Resumed" in out and "resumed by ana" in out, out

    second = cli.here("execute", "approve", "-o", "name").stdout.strip()
    again, failed = cli.many(["resume", name], ["execute", "fail", "--wait"])
    assert_error(again, 4, f"execution {name} has no waiting suspension")
    assert_error(failed, 4, "failed: nope")
    late = cli.here("execute", "approve", "--wait", "--wait-timeout", "1s")
    assert_error(late, 5, "after 1.0 s")

    cli.env.wait(second, phases={ExecutionPhase.SUSPENDED})
    assert cli.ok("cancel", second, "-m", "not today") == f"execution {second} cancel requested\n"
    canceled = cli.env.wait(second)
    assert canceled.status.phase == ExecutionPhase.CANCELED
    assert canceled.status.message == "not today"
    assert_error(cli.here("cancel", second), 4, "already ended (Canceled)")
    assert_error(cli.here("skip", second), 4, "already ended (Canceled)")

    rerun = json.loads(cli.ok("retry", second, "--child-policy", "retryfailed", "-o", "json"))
    assert rerun["spec"]["rerun"]["childPolicy"] == "RetryFailed"
    cli.env.wait(second, phases={ExecutionPhase.SUSPENDED}, until=lambda e: e.status.attempt == 2)
    assert_error(cli.here("retry", second), 4, "only Failed or Canceled executions can be retried")
    skipped_out = cli.ok("skip", second, "--result", "true", "-m", "approved by phone")
    assert skipped_out == f"execution {second} skip requested\n"
    skipped = cli.env.wait(second)
    assert (skipped.status.phase, skipped.status.result) == (ExecutionPhase.SKIPPED, True)


def test_tree_logs_and_recursive_resume(cli: Cli) -> None:
    name = cli.ok("execute", "chain", "-o", "name").strip()
    root = cli.env.wait(
        name,
        phases={ExecutionPhase.EXECUTING},
        until=lambda e: len(e.status.steps) == 2,
        timeout=30,
    )
    child = next(s.child for s in root.status.steps.values() if s.kind.value == "execute")
    assert child is not None
    cli.env.wait(child, phases={ExecutionPhase.SUSPENDED})
    text = cli("tree", name)
    tree = json.loads(cli.here("tree", name, "-o", "json").stdout)["root"]
    [job] = [c for c in tree["children"] if c["kind"] == "Job"]
    [execution] = [c for c in tree["children"] if c["kind"] == "Execution"]
    assert job["phase"] == "Succeeded"
    assert (execution["name"], execution["phase"]) == (child, "Suspended")
    assert [c["kind"] for c in execution["children"]] == ["Suspension"]
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"{name} (chain)  Executing")
    assert any(f"{job['name']} (Job)  Succeeded" in line for line in lines), text.stdout
    assert any(f"{child} (approve)  Suspended" in line for line in lines), text.stdout

    assert cli.ok("logs", job["name"]) == "line one\nline two\n"
    assert cli.here("logs", name).stdout == "line one\nline two\n"  # its one Job
    resumed = cli.here("resume", name, "--recursive", "--data", '{"approved": true}')
    assert f"of execution {child} resume requested" in resumed.stdout, resumed.stderr
    assert cli.here("logs", job["name"], "--tail", "1").stdout == "line two\n"
    done = cli.env.wait(name, timeout=30)
    assert done.status.result == [True]
    described = cli.here("describe", name).stdout
    assert "script" in described and "execute" in described and child in described


def test_interactive_execute_asks_and_checks_every_argument(cli: Cli) -> None:
    answers = ["", "tea", "zero", "0", "3", "medium", "large", ""]
    result = cli("execute", "order", "--interactive", "--wait", input="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"item": "tea", "total": 30, "size": "large"}
    prompts = result.stderr
    for expected in (
        "item (string, required): What to order",
        "a value is required",
        "quantity (integer): How many",
        "default: 1 (Enter keeps it)",
        "expected integer",
        "0 is less than the minimum of 1",
        "choices: small, large",
        "choose one of small, large",
        "express (boolean)",
    ):
        assert expected in prompts, prompts
    before = _names(cli.env)
    ended = cli.here("execute", "order", "-i", "--arg", "item=x", input="")
    assert_error(ended, 2, "the input ended before 'quantity' was given")
    assert _names(cli.env) == before


def test_schedules(cli: Cli) -> None:
    cli.env.kube.create(
        {
            "apiVersion": "kontinue.cloud/v1alpha1",
            "kind": "ScheduledExecution",
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "function": "order", "arguments": {"item": "x"}},
        }
    )
    table, suspended = cli.many(["schedules"], ["schedules", "suspend", "nightly"])
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "SCHEDULE", "FUNCTION", "SUSPENDED"]
    assert row.split()[:7] == ["nightly", "0", "3", "*", "*", "*", "order"], row
    assert suspended.stdout == "schedule nightly suspended\n"
    listed = json.loads(cli.here("schedules", "-o", "json").stdout)
    assert listed["items"][0]["spec"]["suspend"] is True
    assert cli.here("schedules", "list", "-o", "name").stdout == "nightly\n"
    missing = cli.here("schedules", "suspend", "nope")
    assert_error(missing, 3, 'scheduledexecutions.kontinue.cloud "nope" not found')
    assert cli.ok("schedules", "resume", "nightly", "-o", "name") == "nightly\n"


def test_describe_lists_every_attempt_and_prints_data(cli: Cli) -> None:
    name = cli.env.execute("fail")
    cli.env.wait(name)
    text, as_json, as_yaml = cli.many(
        ["describe", name], ["describe", name, "-o", "json"], ["-o", "yaml", "describe", name]
    )
    assert text.returncode == 0, text.stderr
    attempts = text.stdout.split("Attempts:", 1)[1].split("Steps:", 1)[0].strip().splitlines()
    header, row = attempts  # the attempt that failed, though it was the only one
    assert header.split() == ["#", "PHASE", "STARTED", "DURATION", "ERROR"]
    number, phase, started, *_ = row.split()
    assert (number, phase, started[:2]) == ("1", "Failed", "20"), row
    assert row.endswith("nope"), row
    data = json.loads(as_json.stdout)
    assert sorted(data) == ["execution", "suspensions"]
    execution = data["execution"]
    assert (execution["kind"], execution["metadata"]["name"]) == ("Execution", name)
    assert execution["status"]["phase"] == "Failed"
    assert execution["status"]["error"]["message"] == "nope"
    assert data["suspensions"] == []
    assert yaml.safe_load(as_yaml.stdout) == data

    waiting = cli.env.execute("approve")
    suspension = cli.env.wait_for_suspension(waiting).metadata.name
    steps = json.loads(cli.here("describe", waiting, "-o", "json").stdout)
    assert [s["metadata"]["name"] for s in steps["suspensions"]] == [suspension]
    assert [s["kind"] for s in steps["execution"]["status"]["steps"].values()] == ["suspend"]


def test_logs_of_an_execution_are_the_logs_of_its_jobs(cli: Cli) -> None:
    name = cli.env.execute("scripts")
    done = cli.env.wait(name, timeout=30)
    first, second = (step.child for step in done.status.steps.values())
    both = cli("logs", name)
    assert both.returncode == 0, both.stderr
    assert both.stdout == f"==> job/{first} <==\nfirst\n\n==> job/{second} <==\nsecond\n"
    assert cli.here("logs", name, "--tail", "1").stdout == both.stdout
    assert cli.here("logs", f"executions/{name}").stdout == both.stdout
    assert cli.here("logs", first).stdout == "first\n"  # a Job by its name, as before


def test_a_sleep_that_ran_out_is_elapsed_and_a_waiting_one_has_a_phase(cli: Cli) -> None:
    name = cli.env.execute("nap")
    suspension = cli.env.wait_for_suspension(name, kind="Sleep").metadata.name
    assert suspension is not None
    # kubectl get suspensions shows .status.phase: it is there from the start
    stored = cli.env.kube.get(SUSPENSIONS, suspension)
    assert stored["status"]["phase"] == "Waiting", stored
    cli.env.advance(timedelta(seconds=2))
    cli.env.wait(name)
    tree, described, listed = cli.many(["tree", name], ["describe", name], ["suspensions", "--all"])
    assert f"{suspension} (Suspension)  Elapsed" in tree.stdout, tree.stdout
    row = f"{suspension}  {name}  Sleep  Elapsed"
    assert row in described.stdout, described.stdout
    assert row in listed.stdout, listed.stdout
    [node] = json.loads(cli.here("tree", name, "-o", "json").stdout)["root"]["children"]
    assert (node["kind"], node["phase"]) == ("Suspension", "Elapsed")
    # the stored resource is what the API says
    as_json = json.loads(cli.here("suspensions", "--all", "-o", "json").stdout)
    assert as_json["items"][0]["status"]["phase"] == "Resumed"
