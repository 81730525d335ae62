"""Processes, workload and checks shared by the reliability tests.

The API server and the workers run as real child processes on the system clock, so a test can
``kill -9`` any of them: the API server is ``kontinue dev`` in a process of the test's own, or,
when the session runs against the local upstream control plane (``--kontinue-kubeconfig`` of a
``scripts/controlplane.sh`` directory), that control plane's kube-apiserver, killed and started
again with the script. Each test has a namespace of its own; on a cluster with RBAC the workers
run as the worker's ServiceAccount, bound only to kontinue's worker Role.

The test itself only makes plain API writes: it creates Executions, resumes manual
Suspensions (``spec.resume``, as any client would) and polls until every root execution ended.
Afterwards :func:`check_run` compares the final resources with the side-effect log written by
``workflows.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from kontinue.api import API_VERSION, format_time, labels
from kontinue.installing import install_crds
from kontinue.kube import KubeClient, KubeError, KubeSettings, NotFound
from kontinue.testing import identities

from . import workflows

ROOT = Path(__file__).resolve().parents[2]
CONTROLPLANE = ROOT / "scripts" / "controlplane.sh"
EXECUTIONS = "executions.kontinue.cloud"
SUSPENSIONS = "suspensions.kontinue.cloud"
LEASE = f"kontinue-worker-{workflows.GROUP}"
TERMINAL = frozenset({"Completed", "Failed", "Canceled", "Skipped"})
JSON = dict[str, Any]

CLOCK_EPSILON = 0.01
"""Seconds between the wall clock a workflow stores (``time.time()``) and the worker's clock."""


# Processes --------------------------------------------------------------------------------------


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except FileNotFoundError:
        return ""


class DevServer:
    """``kontinue dev`` in a child process on a file-backed data directory.

    ``reuse_address`` starts it through ``tests.reliability.reuse_address``, which only sets
    ``SO_REUSEADDR`` on the listening socket: without it a restart on the same port fails for
    the minute the killed server's connections stay in TIME_WAIT (see ``test_kill_server``).
    Linux lets a new server bind over those connections only if the *killed* server set the
    flag too (accepted sockets inherit it), so both must be started with it.
    """

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.kubeconfig = data_dir / "kubeconfig"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, port: int, *, reuse_address: bool = False) -> list[str]:
        """The command line of the server process."""
        module = "tests.reliability.reuse_address" if reuse_address else "kontinue.cli"
        data = ["--data-dir", str(self.data_dir), "--port", str(port)]
        return [sys.executable, "-m", module, "dev", *data]

    def start(
        self, port: int = 0, *, reuse_address: bool = False, timeout: float = 30.0
    ) -> DevServer:
        """Start it (port 0: a free one) and wait until it serves; raises if it exits."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command(port, reuse_address=reuse_address),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log.open("rb") as log:
                log.seek(offset)
                output = log.read().decode(errors="replace")
            if "\nkubeconfig: " in f"\n{output}":
                self.port = kubeconfig_port(self.kubeconfig)
                return self
            if self.process.poll() is not None:
                raise ServerDidNotStart(output)
            time.sleep(0.05)
        self.kill()
        raise ServerDidNotStart(f"not ready within {timeout}s:\n{_tail(self.log)}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """``kill -9``: nothing is flushed or closed."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it gracefully (``kill -9`` if it does not exit in time)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


class ServerDidNotStart(AssertionError):
    """The dev server exited (or hung) before it served; the message is its output."""


class UpstreamServer:
    """The kube-apiserver of a running ``scripts/controlplane.sh`` directory (where the admin
    ``kubeconfig`` lives): :meth:`kill` is ``kill -9`` of kube-apiserver, :meth:`start` brings it
    back on its port (etcd keeps the data), :meth:`stop` leaves the shared cluster running."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self.directory = kubeconfig.parent
        self.log = self.directory / "logs" / "kube-apiserver.log"
        self.port = kubeconfig_port(kubeconfig)
        if not (self.directory / "kube-apiserver.pid").exists():
            raise AssertionError(
                f"{self.directory} is no running scripts/controlplane.sh directory: the "
                "reliability tests crash its kube-apiserver"
            )

    def start(
        self, port: int = 0, *, reuse_address: bool = False, timeout: float = 120.0
    ) -> UpstreamServer:
        """Start whatever of the control plane is not running (on the same ports)."""
        done = subprocess.run(
            ["bash", str(CONTROLPLANE), "start", str(self.directory)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise ServerDidNotStart(done.stdout + done.stderr)
        return self

    @property
    def pid(self) -> int:
        return int((self.directory / "kube-apiserver.pid").read_text())

    def kill(self) -> None:
        """``kill -9`` of kube-apiserver."""
        subprocess.run(
            ["bash", str(CONTROLPLANE), "kill", str(self.directory), "kube-apiserver"],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Nothing: the control plane is the session's."""


def kubeconfig_port(path: Path) -> int:
    """The port of the (first) cluster's server URL in a kubeconfig."""
    document = yaml.safe_load(path.read_text())
    server = str(document["clusters"][0]["cluster"]["server"])
    return int(server.rsplit(":", 1)[1].rstrip("/"))


class WorkerProcess:
    """``kontinue worker tests.reliability.workflows:worker`` in a child process."""

    def __init__(
        self,
        kubeconfig: Path,
        namespace: str,
        effects: Path,
        log: Path,
        *,
        lease_duration: float = 3.0,
        renew_period: float = 1.0,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.effects = effects
        self.log = log
        self.lease_duration = lease_duration
        self.renew_period = renew_period
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        env = {
            **os.environ,
            workflows.LOG_ENV: str(self.effects),
            workflows.LEASE_ENV: str(self.lease_duration),
            workflows.RENEW_ENV: str(self.renew_period),
        }
        target = "tests.reliability.workflows:worker"
        command = [sys.executable, "-m", "kontinue.cli", "worker", target]
        command += ["--kubeconfig", str(self.kubeconfig), "-n", self.namespace]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """``kill -9``, and a marker line in the side-effect log (``kill - - 0 PID``)."""
        if self.running:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            mark(self.effects, "kill", self.pid)

    def stop(self) -> None:
        """Stop it gracefully (``kill -9`` if it does not exit in time)."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


MARKERS = ("kill", "outage", "restored", "stepdown")


def mark(effects: Path, kind: str, pid: int = 0) -> None:
    """A marker line in the side-effect log: ``kill`` (worker ``pid`` was killed), ``outage``
    (the API server was killed) or ``restored`` (it serves again); the workers mark
    ``stepdown`` themselves (``pid`` lost its Lease). A store makes another call only after one
    of those (see :func:`_recall`)."""
    assert kind in MARKERS
    workflows.record_to(effects, kind, "-", "-", 0, 0, pid)


# The API, as a plain client ----------------------------------------------------------------------


def client(kubeconfig: Path, namespace: str) -> KubeClient:
    """A client of ``namespace`` without rate limit and with few retries (the loops below
    retry themselves)."""
    settings = KubeSettings(qps=0, burst=1, timeout=10.0, retries=1)
    return KubeClient.from_kubeconfig(str(kubeconfig), namespace=namespace, settings=settings)


def create_namespace(kube: KubeClient) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": kube.namespace}}
    kube.create(body)


def lease_holder(kube: KubeClient) -> int | None:
    """The pid of the worker holding the group's Lease (identities are host-pid-random)."""
    try:
        lease = kube.get("Lease", LEASE)
    except NotFound:
        return None
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return int(str(holder).rsplit("-", 2)[1]) if holder else None


def wait_for_leader(
    kube: KubeClient, pids: set[int], timeout: float = 30.0, *, interval: float = 0.05
) -> int:
    """Wait until one of ``pids`` holds the Lease; returns its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(KubeError):
            holder = lease_holder(kube)
            if holder in pids:
                return holder
        time.sleep(interval)
    raise AssertionError(f"none of the workers {sorted(pids)} took the lease in {timeout}s")


class Cluster:
    """An API server with the test's namespace, the worker processes started on it, and the
    side-effect log they share; files live in ``directory``. The server is a ``kontinue dev``
    process of the test's own, or the session's control plane when ``upstream`` names its
    admin kubeconfig. ``reuse_address``: see :class:`DevServer`."""

    def __init__(
        self, directory: Path, *, reuse_address: bool = False, upstream: Path | None = None
    ) -> None:
        self.directory = directory
        self.reuse_address = reuse_address
        self.effects = directory / "effects.log"
        self.effects.touch()
        self.server: DevServer | UpstreamServer = (
            UpstreamServer(upstream)
            if upstream is not None
            else DevServer(directory / "data", directory / "server.log")
        )
        self.namespace = f"reliability-{random.randrange(16**8):08x}"
        self.workers: list[WorkerProcess] = []
        self.worker_kubeconfig = Path()
        self._kube: KubeClient | None = None

    def start(self) -> Cluster:
        if isinstance(self.server, DevServer):
            self.server.start(reuse_address=self.reuse_address)
        self._kube = client(self.server.kubeconfig, self.namespace)
        if isinstance(self.server, UpstreamServer):  # a fresh cluster has no CRDs yet
            install_crds(self._kube)
        create_namespace(self._kube)
        found = identities(self._kube, str(self.server.kubeconfig), self.namespace, self.directory)
        self.worker_kubeconfig = Path(found.worker)
        return self

    @property
    def kube(self) -> KubeClient:
        """The test's own client (the admin's: it also reads the workers' Lease)."""
        assert self._kube is not None, "start() the cluster first"
        return self._kube

    def worker(self, *, lease_duration: float = 3.0, renew_period: float = 1.0) -> WorkerProcess:
        """Start one more worker process (its output goes to ``worker-N.log``)."""
        log = self.directory / f"worker-{len(self.workers)}.log"
        process = WorkerProcess(
            self.worker_kubeconfig,
            self.namespace,
            self.effects,
            log,
            lease_duration=lease_duration,
            renew_period=renew_period,
        )
        self.workers.append(process.start())
        return process

    def close(self) -> None:
        for process in self.workers:
            process.stop()
        if self._kube is not None and isinstance(self.server, UpstreamServer):
            with contextlib.suppress(KubeError):
                self._kube.delete("namespaces", self.namespace)
        self.server.stop()
        if self._kube is not None:
            self._kube.close()

    def diagnostics(self) -> str:
        """The end of every process log, for a failure report."""
        parts = [f"--- {self.server.log.name}\n{_tail(self.server.log, 2000)}"]
        for process in self.workers:
            text = _tail(process.log, 3000)
            parts.append(f"--- {process.log.name} (pid {process.pid})\n{text}")
        return "\n".join(parts)


# Workload ---------------------------------------------------------------------------------------


ROOT_FUNCTIONS = ("chain", "fan", "sleeper", "approval", "mixed", "sync-chain")
CHILDREN = {"chain": 2, "fan": 4, "mixed": 2, "sync-chain": 1}
"""How many child executions each root function starts."""
SLEEPS = {"fan": 1, "sleeper": 1, "mixed": 2, "sync-chain": 1}
"""How many sleeps (its own and its children's) each root function reports."""


@dataclass(frozen=True)
class Planned:
    """A root execution to create, and what it must return."""

    name: str
    function: str
    arguments: JSON

    @property
    def expected(self) -> int:
        """The ``value`` the workflow must return (mirrors ``workflows.py``)."""
        n = int(self.arguments["n"])
        resumed = workflows.resume_value(self.name)
        values = {
            "chain": n + n * n + (n + 1) ** 2,
            "fan": n * n + (n + 1) ** 2 + (n + 2) ** 2 + (n + 1),
            "sleeper": n,
            "approval": n + 2 * resumed,
            "mixed": n * n + resumed + 1,
            "sync-chain": n + n * n,
        }
        return values[self.function]


def plan(
    count: int,
    rng: random.Random,
    *,
    prefix: str = "",
    functions: tuple[str, ...] = ROOT_FUNCTIONS,
) -> list[Planned]:
    """``count`` root executions cycling through ``functions``, with random arguments."""
    planned = []
    for i in range(count):
        function = functions[i % len(functions)]
        arguments: JSON = {"n": rng.randrange(100)}
        if function in ("sleeper", "mixed", "sync-chain"):
            arguments["seconds"] = rng.choice((1.0, 1.5, 2.0))
        planned.append(Planned(f"{prefix}{function}-{i:03d}", function, arguments))
    return planned


def create_execution(kube: KubeClient, planned: Planned) -> None:
    meta = {
        "name": planned.name,
        "labels": {
            labels.LABEL_FUNCTION: planned.function,
            labels.LABEL_WORKER_GROUP: workflows.GROUP,
        },
    }
    spec = {"function": planned.function, "arguments": planned.arguments}
    body = {"apiVersion": API_VERSION, "kind": "Execution", "metadata": meta, "spec": spec}
    kube.create(body)


def resume_waiting(kube: KubeClient, suspensions: list[JSON] | None = None) -> int:
    """Resume every manual Suspension still waiting without a resume request with
    ``{"value": resume_value(execution)}`` (from ``suspensions``, or listed now); returns how
    many."""
    if suspensions is None:
        suspensions = kube.list(SUSPENSIONS)
    resumed = 0
    for suspension in suspensions:
        spec = suspension.get("spec") or {}
        status = suspension.get("status") or {}
        if spec.get("kind") != "Manual" or spec.get("resume") is not None:
            continue
        if status.get("phase", "Waiting") != "Waiting":
            continue
        data = {"value": workflows.resume_value(str(spec["execution"]))}
        request = {"data": data, "requestedAt": format_time(datetime.now(UTC))}
        name = suspension["metadata"]["name"]
        kube.patch(SUSPENSIONS, {"spec": {"resume": request}}, name=name)
        resumed += 1
    return resumed


def drive(
    kube: KubeClient,
    roots: list[str],
    *,
    timeout: float,
    interval: float = 0.25,
    stuck_after: float = 15.0,
) -> dict[str, JSON]:
    """Resume suspensions as they appear and wait until every root ended; returns all
    Executions by name. API errors (a server being restarted) are retried until ``timeout``.

    Fails early when the same thing stays stuck for ``stuck_after`` seconds (see
    :func:`stuck`): no worker would ever move it on, so waiting longer only hides why.
    """
    deadline = time.monotonic() + timeout
    pending = list(roots)
    executions: dict[str, JSON] = {}
    first_seen: dict[str, float] = {}
    while True:
        try:
            suspensions = kube.list(SUSPENSIONS)
            resume_waiting(kube, suspensions)
            items = kube.list(EXECUTIONS)
            executions = {item["metadata"]["name"]: item for item in items}
            pending = [name for name in roots if phase(executions.get(name)) not in TERMINAL]
            if not pending:
                return executions
            now = time.monotonic()
            found = stuck(executions, suspensions)
            first_seen = {key: first_seen.get(key, now) for key in found}
            lasting = sorted(key for key, since in first_seen.items() if now - since > stuck_after)
            if lasting:
                raise AssertionError(
                    f"stuck for more than {stuck_after}s ({len(lasting)}): "
                    + "; ".join(found[key] for key in lasting[:8])
                )
        except KubeError:
            pass
        if time.monotonic() > deadline:
            sample = {name: _summary(executions.get(name)) for name in pending[:10]}
            raise AssertionError(
                f"{len(pending)} of {len(roots)} executions did not end in {timeout}s: {sample}"
            )
        time.sleep(interval)


def stuck(executions: dict[str, JSON], suspensions: list[JSON]) -> dict[str, str]:
    """What no worker will move on (key -> description), if it stays so:

    - an execution with a ``finishedAt`` whose phase is not final (its final status was
      overwritten by a later write);
    - a running execution whose pending step names a child Execution or Suspension that does
      not exist (the step was recorded, the object never created);
    - a Suspension that is due (a sleep past its ``resumeAt``, a manual one asked to resume)
      but still Waiting.
    """
    found: dict[str, str] = {}
    suspension_names = {str(s["metadata"]["name"]) for s in suspensions}
    for name, obj in executions.items():
        status = obj.get("status") or {}
        if status.get("phase") in TERMINAL:
            continue
        if status.get("finishedAt"):
            found[f"overwritten {name}"] = (
                f"{name} has finishedAt {status['finishedAt']} and a result, but phase "
                f"{status.get('phase')} (its final status was overwritten)"
            )
        for step_id, step in (status.get("steps") or {}).items():
            child = step.get("child")
            if step.get("state") != "Pending" or not child:
                continue
            if child not in executions and child not in suspension_names:
                found[f"missing {name}/{step_id}"] = (
                    f"{name} waits at step {step_id} for {step.get('kind')} {child}, which "
                    "does not exist"
                )
    now = datetime.now(UTC).timestamp()
    for suspension in suspensions:
        spec = suspension.get("spec") or {}
        if (suspension.get("status") or {}).get("phase", "Waiting") != "Waiting":
            continue
        name = suspension["metadata"]["name"]
        if spec.get("resumeAt") and _parse_time(spec["resumeAt"]) < now:
            found[f"due {name}"] = f"sleep {name} is still Waiting after {spec['resumeAt']}"
        elif spec.get("resume") is not None:
            found[f"due {name}"] = f"suspension {name} is still Waiting after a resume request"
    return found


def phase(obj: JSON | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "Pending")


def _summary(obj: JSON | None) -> str:
    status = (obj or {}).get("status") or {}
    return f"{status.get('phase', 'Pending')}: {status.get('message') or ''}"


# The side-effect log ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """One line of the side-effect log (``line`` is its 0-based position)."""

    kind: str
    execution: str
    step: str
    attempt: int
    call: int
    pid: int
    line: int

    @property
    def key(self) -> tuple[str, str, int, int]:
        """The store call that ran: execution, step, attempt and call number."""
        return (self.execution, self.step, self.attempt, self.call)


def read_effects(path: Path) -> list[Effect]:
    effects = []
    for number, text in enumerate(path.read_text().splitlines()):
        kind, execution, step, attempt, call, pid = text.split()
        effects.append(Effect(kind, execution, step, int(attempt), int(call), int(pid), number))
    return effects


# Checks -----------------------------------------------------------------------------------------


@dataclass
class Recall:
    """A store step that made more than one call in an attempt: each earlier call's outcome
    must have been lost to a crash (the engine records a call before making it)."""

    step: tuple[str, str, int]
    calls: int
    ran: int
    """How many of the earlier calls ran their callable (the others were recorded, then the
    worker or the API failed before the callable started)."""
    explained: bool
    """Every earlier call that ran lost its value to a crash: its worker or the API server
    was killed after it (before the next call), or it ran while the API server was down."""
    detail: str


@dataclass
class Report:
    """What :func:`check_run` found; ``problems`` are the failures."""

    problems: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    """Store calls whose callable ran more than once: never allowed, crash or not."""
    recalls: list[Recall] = field(default_factory=list)
    executions: int = 0
    effects: int = 0
    entries: int = 0
    sleeps: int = 0
    max_sleep_lateness: float = 0.0
    """Seconds from started + length to the stored wake-up time, at most."""
    max_resume_delay: float = 0.0
    """Seconds from a sleep Suspension's ``resumeAt`` to its ``resumedAt``, at most."""
    min_sleep_ratio: float = 0.0
    step_resume_mismatches: list[str] = field(default_factory=list)
    """Sleeps whose recorded step names another wake-up time than their Suspension."""
    pids: set[int] = field(default_factory=set)

    def summary(self) -> str:
        extra = sum(r.calls - 1 for r in self.recalls)
        ran = sum(r.ran for r in self.recalls)
        lines = [
            f"{self.executions} executions, {self.effects} side effects, {self.entries} "
            f"workflow entries (runs and replays), worker pids {sorted(self.pids)}",
            f"{len(self.repeated)} store calls ran more than once",
            *(f"  {r}" for r in self.repeated[:SHOWN]),
            f"{len(self.recalls)} store steps made another call after a crash lost an "
            f"outcome: {extra} lost calls, {ran} of which had run their callable",
            *(f"  {r.detail}" for r in self.recalls[:SHOWN]),
            *([f"  ... and {len(self.recalls) - SHOWN} more"] if self.recalls[SHOWN:] else []),
            f"{self.sleeps} sleeps: latest resumed {self.max_resume_delay:.0f}s after its "
            f"resumeAt and stored its wake-up {self.max_sleep_lateness:.2f}s after "
            f"started+length; shortest lasted {self.min_sleep_ratio:.2f} of its length; "
            f"{len(self.step_resume_mismatches)} steps with a resumeAt other than their "
            "Suspension's",
            *(f"  {m}" for m in self.step_resume_mismatches[:SHOWN]),
        ]
        return "\n".join(lines)


SHOWN = 10
"""Repeated calls, recalls and mismatches listed in a summary (all are counted)."""


def _format(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M:%S.%f")[:-3]


def _parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def check_run(
    planned: list[Planned],
    executions: dict[str, JSON],
    suspensions: list[JSON],
    effects: list[Effect],
    *,
    sleep_slack: float,
) -> Report:
    """Check what a finished run left: every execution Completed in its first attempt with
    the right result and children; every store callable and child body ran exactly once per
    call its step records, and another call only after a crash; no sleep cut short or
    restarted from zero."""
    report = Report(executions=len(executions))
    _check_results(planned, executions, report)
    _check_effects(executions, effects, report)
    _check_sleeps(planned, executions, suspensions, report, slack=sleep_slack)
    return report


def _check_results(planned: list[Planned], executions: dict[str, JSON], report: Report) -> None:
    children: dict[str, list[str]] = defaultdict(list)
    for name, obj in executions.items():
        parent = ((obj.get("metadata") or {}).get("labels") or {}).get(labels.LABEL_PARENT)
        if parent:
            children[parent].append(name)
        status = obj.get("status") or {}
        if status.get("phase") != "Completed":
            report.problems.append(f"{name} is {_summary(obj)} (error {status.get('error')})")
        elif status.get("attempt") != 1:
            report.problems.append(f"{name} completed in attempt {status.get('attempt')}")
    for root in planned:
        found_root = executions.get(root.name)
        if found_root is None:
            report.problems.append(f"{root.name} is missing")
            continue
        result = (found_root.get("status") or {}).get("result") or {}
        if phase(found_root) == "Completed" and result.get("value") != root.expected:
            report.problems.append(
                f"{root.name} returned {result.get('value')}, expected {root.expected}"
            )
        wanted = CHILDREN.get(root.function, 0)
        found = len(children.get(root.name, []))
        if found != wanted:
            report.problems.append(f"{root.name} has {found} children, expected {wanted}")


def _check_effects(executions: dict[str, JSON], effects: list[Effect], report: Report) -> None:
    calls: dict[tuple[str, str, int], int] = {}
    """Store steps recorded Done: (execution, step, attempt) -> the call whose value it has."""
    for name, obj in executions.items():
        for step_id, step in ((obj.get("status") or {}).get("steps") or {}).items():
            if step.get("kind") != "store":
                continue
            if step.get("state") != "Done":
                report.problems.append(f"store step {step_id} of {name} is {step.get('state')}")
            calls[(name, step_id, int(step.get("attempt") or 1))] = int(step.get("calls") or 1)
    runs: dict[tuple[str, str, int, int], list[Effect]] = defaultdict(list)
    markers = [effect for effect in effects if effect.kind in MARKERS]
    for effect in effects:
        if effect.kind in MARKERS:
            continue
        report.pids.add(effect.pid)
        if effect.kind == "entry":
            report.entries += 1
        else:
            report.effects += 1
            runs[effect.key].append(effect)
    for key, ran in sorted(runs.items()):
        execution, step, attempt, call = key
        if call > calls.get((execution, step, attempt), 0):
            report.problems.append(f"call {key} ran, but its step does not record it")
        if len(ran) > 1:
            lines = ", ".join(f"line {e.line} (pid {e.pid})" for e in ran)
            report.repeated.append(f"{key} ran {len(ran)} times: {lines}")
            report.problems.append(f"store call {key} ran {len(ran)} times")
    for (execution, step, attempt), last in sorted(calls.items()):
        final = runs.get((execution, step, attempt, last))
        if not final:
            report.problems.append(
                f"step {step} of {execution} records the value of call {last}, which never ran"
            )
            continue
        if last > 1:
            earlier = [runs[(execution, step, attempt, c)] for c in range(1, last)]
            recall = _recall(
                (execution, step, attempt), [r[0] for r in earlier if r], final[0], markers, effects
            )
            report.recalls.append(recall)
            if not recall.explained:
                report.problems.append(f"another call without a crash: {recall.detail}")


def _recall(
    step: tuple[str, str, int],
    earlier: list[Effect],
    final: Effect,
    markers: list[Effect],
    effects: list[Effect],
) -> Recall:
    """Classify the earlier calls of one step that ran: each must have lost its value to a
    crash before the next one ran."""
    notes = []
    explained = True
    for before, after in itertools.pairwise([*earlier, final]):
        crash = _crash_after(before, after, markers, effects)
        explained = explained and crash is not None
        notes.append(f"line {before.line} (pid {before.pid}): {crash or 'no crash before'}")
    detail = f"{step}: call {final.call} ran at line {final.line}; " + (
        "; ".join(notes) or "no earlier call ran"
    )
    return Recall(step, final.call, len(earlier), explained, detail)


def _crash_after(
    earlier: Effect, later: Effect, markers: list[Effect], effects: list[Effect]
) -> str | None:
    """How the value of ``earlier`` was lost, if a crash explains it."""
    server = [m.kind for m in markers if m.kind in ("outage", "restored") and m.line < earlier.line]
    if server and server[-1] == "outage":
        return "ran while the API server was down"
    for m in markers:
        if not earlier.line < m.line < later.line:
            continue
        if m.kind == "outage" or (m.kind in ("kill", "stepdown") and m.pid == earlier.pid):
            after = sum(
                1 for e in effects if e.pid == earlier.pid and earlier.line < e.line < m.line
            )
            return f"{m.kind} at line {m.line}, {after} later side effects of that pid before it"
    return None


def _check_sleeps(
    planned: list[Planned],
    executions: dict[str, JSON],
    suspensions: list[JSON],
    report: Report,
    *,
    slack: float,
) -> None:
    """No sleep ended early, and none restarted from zero: one Suspension per sleep, resumed
    within ``slack`` of its ``resumeAt`` (the precise check), and the wake-up stored within
    ``3 * slack`` of started + length (a coarse one: under load the status write of the start
    time delays the sleep call, and the store of the wake-up time may itself run again after a
    later crash)."""
    by_step: dict[tuple[str, str], list[JSON]] = defaultdict(list)
    for suspension in suspensions:
        spec = suspension.get("spec") or {}
        by_step[(str(spec.get("execution")), str(spec.get("step")))].append(suspension)
    ratios = []
    for root in planned:
        result = ((executions.get(root.name) or {}).get("status") or {}).get("result") or {}
        sleeps = result.get("sleeps") or []
        if phase(executions.get(root.name)) == "Completed" and len(sleeps) != SLEEPS.get(
            root.function, 0
        ):
            report.problems.append(f"{root.name} reports {len(sleeps)} sleeps")
        for sleep in sleeps:
            report.sleeps += 1
            where = f"sleep {sleep['step']} of {sleep['execution']}"
            started, woke, seconds = sleep["started"], sleep["woke"], sleep["seconds"]
            found = by_step.get((sleep["execution"], sleep["step"]), [])
            if len(found) != 1:
                report.problems.append(f"{where} has {len(found)} Suspensions")
                continue
            spec, status = found[0]["spec"], found[0].get("status") or {}
            resume_at = _parse_time(spec["resumeAt"])
            resumed_at = _parse_time(status.get("resumedAt") or spec["resumeAt"])
            step = (executions[sleep["execution"]]["status"]["steps"] or {}).get(sleep["step"])
            if (step or {}).get("resumeAt") != spec["resumeAt"]:
                report.step_resume_mismatches.append(
                    f"{where}: step resumeAt {(step or {}).get('resumeAt')}, Suspension "
                    f"{spec['resumeAt']}, started {_format(started)}"
                )
            lateness = woke - (started + seconds)
            delay = resumed_at - resume_at
            report.max_sleep_lateness = max(report.max_sleep_lateness, lateness)
            report.max_resume_delay = max(report.max_resume_delay, delay)
            ratios.append((woke - started) / seconds)
            if woke < resume_at - CLOCK_EPSILON or resumed_at < resume_at:
                report.problems.append(f"{where} woke before its resumeAt")
            if (
                resume_at < started + seconds - CLOCK_EPSILON
                or woke - started < seconds - CLOCK_EPSILON
            ):
                report.problems.append(
                    f"{where} was cut short: {woke - started:.2f}s of {seconds}s "
                    f"(resumeAt {resume_at - started:.2f}s after it started)"
                )
            if delay > slack or lateness > 3 * slack:
                report.problems.append(
                    f"{where} was resumed {delay:.0f}s after its resumeAt and stored its wake-up "
                    f"{lateness:.2f}s after started+length (limits {slack}s and {3 * slack}s: "
                    f"restarted from zero?); resumeAt {resume_at - started:.2f}s after it started"
                )
    report.min_sleep_ratio = min(ratios, default=0.0)


def list_all(kube: KubeClient) -> tuple[dict[str, JSON], list[JSON]]:
    """Every Execution (by name) and Suspension of the test namespace."""
    items = kube.list(EXECUTIONS)
    return {i["metadata"]["name"]: i for i in items}, kube.list(SUSPENSIONS)


@contextlib.contextmanager
def background(target: Callable[[threading.Event], None]) -> Iterator[threading.Thread]:
    """Run ``target(stop)`` in a thread for the block; ``stop`` is set when the block ends.
    An exception in the thread is raised again at the end of the block."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            target(stop)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=main, daemon=True, name="reliability-chaos")
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=60)
    if errors:
        raise errors[0]
