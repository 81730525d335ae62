"""The dev server's pod runner: pods run as host processes, with kubelet-like status and logs."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from kubernetes import client, config

from kontinue.devserver import DevServerSettings, DevServerThread
from kontinue.testing import eventually

from .servers import ServerProcess

pytestmark = pytest.mark.devserver  # tests the dev server itself

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*)$")


def _core(kubeconfig: Path | None) -> client.CoreV1Api:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return client.CoreV1Api(client.ApiClient(configuration))


@pytest.fixture(scope="module")
def server() -> Iterator[DevServerThread]:
    """A private server that runs pods (the session's server does not)."""
    with DevServerThread(DevServerSettings.ephemeral(run_jobs=False)) as thread:
        yield thread


@pytest.fixture(scope="module")
def core(server: DevServerThread) -> client.CoreV1Api:
    return _core(server.server.kubeconfig_path)


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    name = f"pods-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": list(containers), **spec},
    }


def sh(script: str, name: str = "main", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "command": ["/bin/sh", "-c", script], **extra}


def finished(core: client.CoreV1Api, ns: str, name: str) -> client.V1Pod:
    def check() -> client.V1Pod | None:
        current = core.read_namespaced_pod(name, ns)
        return current if current.status.phase in ("Succeeded", "Failed") else None

    result: client.V1Pod = eventually(check, timeout=10)
    return result


def running(core: client.CoreV1Api, ns: str, name: str) -> client.V1Pod:
    def check() -> client.V1Pod | None:
        current = core.read_namespaced_pod(name, ns)
        return current if current.status.phase == "Running" else None

    result: client.V1Pod = eventually(check, timeout=10)
    return result


def message(err: pytest.ExceptionInfo[client.ApiException]) -> str:
    text: str = json.loads(err.value.body)["message"]
    return text


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_failing_command_fails_the_pod_with_its_exit_code_and_logs(
    core: client.CoreV1Api, ns: str
) -> None:
    core.create_namespaced_pod(ns, pod("p", sh("echo hi; echo err >&2; exit 3")))
    done = finished(core, ns, "p")
    assert done.status.phase == "Failed"
    assert (done.status.pod_ip, done.status.host_ip) == ("127.0.0.1", "127.0.0.1")
    assert done.status.start_time is not None
    (status,) = done.status.container_statuses
    terminated = status.state.terminated
    assert (terminated.exit_code, terminated.reason) == (3, "Error")
    assert terminated.started_at is not None and terminated.finished_at is not None
    assert (status.ready, status.restart_count, status.image) == (False, 0, "busybox")
    conditions = {c.type: c for c in done.status.conditions}
    assert set(conditions) == {"Initialized", "Ready", "ContainersReady", "PodScheduled"}
    assert conditions["Ready"].status == "False"
    assert all(c.last_transition_time is not None for c in conditions.values())
    logs = core.read_namespaced_pod_log("p", ns)
    assert "hi\n" in logs and "err\n" in logs


def test_a_successful_pod_is_running_then_succeeded(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("ok", sh("sleep 1; echo done")))
    live = running(core, ns, "ok")
    (status,) = live.status.container_statuses
    assert status.ready and status.started and status.state.running.started_at is not None
    assert {c.type: c.status for c in live.status.conditions}["Ready"] == "True"
    done = finished(core, ns, "ok")
    assert done.status.phase == "Succeeded"
    assert done.status.container_statuses[0].state.terminated.reason == "Completed"


def test_environment_and_working_directory(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"color": "blue"}})
    core.create_namespaced_secret(
        ns, {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    )
    env = [
        {"name": "LITERAL", "value": "plain"},
        {"name": "EXPANDED", "value": "$(LITERAL)-too"},
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "color"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    script = "echo $LITERAL $EXPANDED $COLOR $PASSWORD $POD $NS $APP $IP; pwd; echo $PATH"
    spec = pod("env", sh(script, env=env, workingDir="work/dir"))
    spec["metadata"]["labels"] = {"app": "demo"}
    core.create_namespaced_pod(ns, spec)
    assert finished(core, ns, "env").status.phase == "Succeeded"
    first, cwd, path = core.read_namespaced_pod_log("env", ns).splitlines()
    assert first == f"plain plain-too blue hunter2 env {ns} demo 127.0.0.1"
    assert cwd.endswith("/root/work/dir")
    assert "/usr/bin" in path


def test_init_containers_run_first_and_in_order(core: client.CoreV1Api, ns: str) -> None:
    spec = pod(
        "init",
        sh("cat $HOME/order"),
        initContainers=[
            sh("sleep 0.2; echo one >> $HOME/order", name="first"),
            sh("echo two >> $HOME/order", name="second"),
        ],
    )
    core.create_namespaced_pod(ns, spec)
    done = finished(core, ns, "init")
    assert done.status.phase == "Succeeded"
    assert [s.state.terminated.reason for s in done.status.init_container_statuses] == [
        "Completed",
        "Completed",
    ]
    assert core.read_namespaced_pod_log("init", ns) == "one\ntwo\n"
    assert core.read_namespaced_pod_log("init", ns, container="second") == ""


def test_a_failed_init_container_fails_the_pod(core: client.CoreV1Api, ns: str) -> None:
    spec = pod("badinit", sh("echo never"), initContainers=[sh("exit 1", name="setup")])
    core.create_namespaced_pod(ns, spec)
    done = finished(core, ns, "badinit")
    assert done.status.phase == "Failed"
    assert done.status.init_container_statuses[0].state.terminated.exit_code == 1
    assert done.status.container_statuses[0].state.waiting.reason == "PodInitializing"
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod_log("badinit", ns)
    assert err.value.status == 400
    assert message(err) == 'container "main" in pod "badinit" is waiting to start: PodInitializing'


def test_missing_executable_and_missing_command(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns, pod("missing", {"name": "c", "image": "x:1", "command": ["no-such-tool-kontinue"]})
    )
    core.create_namespaced_pod(ns, pod("bare", {"name": "c", "image": "x:1"}))
    for name in ("missing", "bare"):
        done = finished(core, ns, name)
        assert done.status.phase == "Failed"
        terminated = done.status.container_statuses[0].state.terminated
        assert (terminated.exit_code, terminated.reason) == (127, "ContainerCannotRun")
        if name == "missing":
            assert terminated.message == (
                'executable "no-such-tool-kontinue" not found on this machine (the dev server '
                "runs containers as host processes; the image is not used)"
            )
        else:
            assert "cannot use the image's entrypoint" in terminated.message
        assert core.read_namespaced_pod_log(name, ns) == ""


def test_on_failure_restarts_the_container(core: client.CoreV1Api, ns: str) -> None:
    script = "echo attempt; test -f $HOME/seen && exit 0; touch $HOME/seen; exit 1"
    core.create_namespaced_pod(ns, pod("retry", sh(script), restartPolicy="OnFailure"))
    done = finished(core, ns, "retry")
    assert done.status.phase == "Succeeded"
    (status,) = done.status.container_statuses
    assert status.restart_count == 1
    assert status.last_state.terminated.exit_code == 1


def test_log_options(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("lines", sh("for i in 1 2 3 4 5; do echo line $i; done")))
    finished(core, ns, "lines")
    assert core.read_namespaced_pod_log("lines", ns, tail_lines=2) == "line 4\nline 5\n"
    stamped = core.read_namespaced_pod_log("lines", ns, timestamps=True).splitlines()
    assert [STAMPED.match(line).group(1) for line in stamped] == [  # type: ignore[union-attr]
        f"line {i}" for i in range(1, 6)
    ]
    assert core.read_namespaced_pod_log("lines", ns, since_seconds=60).count("line") == 5
    assert core.read_namespaced_pod_log("lines", ns, limit_bytes=6) == "line 1"


def test_follow_streams_until_the_container_ends(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("talker", sh("echo a; sleep 0.5; echo b; sleep 0.3")))
    running(core, ns, "talker")
    response = core.read_namespaced_pod_log(
        "talker", ns, follow=True, _preload_content=False, _request_timeout=10
    )
    chunks = [chunk.decode() for chunk in response.stream(64)]
    assert "".join(chunks) == "a\nb\n"
    assert finished(core, ns, "talker").status.phase == "Succeeded"


def test_log_errors_name_the_containers(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns, pod("duo", sh("echo a", name="a"), sh("echo b", name="b"), restartPolicy="Never")
    )
    finished(core, ns, "duo")
    assert core.read_namespaced_pod_log("duo", ns, container="b") == "b\n"
    cases = [
        ({}, "a container name must be specified for pod duo, choose one of: [a b]"),
        ({"container": "c"}, "container c is not valid for pod duo"),
        ({"container": "a", "previous": True}, 'previous terminated container "a"'),
    ]
    for kwargs, expected in cases:
        with pytest.raises(client.ApiException) as err:
            core.read_namespaced_pod_log("duo", ns, **kwargs)
        assert err.value.status == 400
        assert expected in message(err)


def test_a_missing_config_map_keeps_the_container_waiting(core: client.CoreV1Api, ns: str) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "x"}}}]
    core.create_namespaced_pod(ns, pod("patient", sh("echo $X", env=env)))

    def waiting() -> str | None:
        statuses = core.read_namespaced_pod("patient", ns).status.container_statuses or []
        state = statuses[0].state.waiting if statuses else None
        return state.reason if state is not None else None

    # ContainerCreating comes first, as from a kubelet, while the runner looks at the pod
    eventually(lambda: waiting() == "CreateContainerConfigError")
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod_log("patient", ns)
    assert err.value.status == 400
    assert message(err).endswith("is waiting to start: CreateContainerConfigError")
    core.create_namespaced_config_map(ns, {"metadata": {"name": "later"}, "data": {"x": "now"}})
    assert finished(core, ns, "patient").status.phase == "Succeeded"
    assert core.read_namespaced_pod_log("patient", ns) == "now\n"


def _pid_of(core: client.CoreV1Api, ns: str, name: str) -> int:
    """The pid a pod printed (its script says ``$$$$``: Kubernetes turns ``$$`` into ``$``)."""
    running(core, ns, name)  # before that, reading the log is a 400 (waiting to start)
    text: str = eventually(lambda: core.read_namespaced_pod_log(name, ns).strip())
    return int(text)


def test_deleting_a_running_pod_kills_its_processes(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("sleeper", sh("echo $$$$; exec sleep 30")))
    pid = _pid_of(core, ns, "sleeper")
    assert not gone(pid)
    core.delete_namespaced_pod("sleeper", ns)
    eventually(lambda: gone(pid), timeout=5)


def test_a_pod_held_by_a_finalizer_is_stopped_and_reports_it(
    core: client.CoreV1Api, ns: str
) -> None:
    spec = pod("held", sh("echo $$$$; exec sleep 30"))
    spec["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_pod(ns, spec)
    pid = _pid_of(core, ns, "held")
    core.delete_namespaced_pod("held", ns)
    eventually(lambda: gone(pid), timeout=5)
    done = finished(core, ns, "held")
    assert done.metadata.deletion_timestamp is not None
    terminated = done.status.container_statuses[0].state.terminated
    assert (done.status.phase, terminated.exit_code) == ("Failed", 143)  # SIGTERM
    core.patch_namespaced_pod("held", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod("held", ns)
    assert err.value.status == 404


def test_stopping_the_server_kills_every_process() -> None:
    with DevServerThread(DevServerSettings.ephemeral(run_jobs=False)) as thread:
        core = _core(thread.server.kubeconfig_path)
        core.create_namespaced_pod("default", pod("sleeper", sh("echo $$$$; sleep 30")))
        pid = _pid_of(core, "default", "sleeper")
    eventually(lambda: gone(pid), timeout=5)


def test_pods_of_a_killed_server_are_lost_and_their_processes_stopped(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path).start()
    try:
        core = client.CoreV1Api(first.api())
        core.create_namespaced_pod("default", pod("orphan", sh("echo $$$$; exec sleep 30")))
        pid = _pid_of(core, "default", "orphan")
    finally:
        first.kill()
    assert not gone(pid)  # a kill -9 leaves the pod's own session behind
    second = ServerProcess(tmp_path).start()
    try:
        core = client.CoreV1Api(second.api())
        lost = finished(core, "default", "orphan")
        assert (lost.status.phase, lost.status.reason) == ("Failed", "Lost")
        assert "the dev server restarted while the pod ran" in lost.status.message
        assert lost.status.container_statuses[0].state.terminated.reason == "Lost"
        eventually(lambda: gone(pid), timeout=5)
    finally:
        second.terminate()


def test_pods_of_a_job_run_to_completion() -> None:
    """The runner runs any pod, including the Job controller's, whose phases it then reads."""
    with DevServerThread(DevServerSettings.ephemeral(run_jobs=True)) as thread:
        api = _core(thread.server.kubeconfig_path).api_client
        batch = client.BatchV1Api(api)
        template = {"spec": {"restartPolicy": "Never", "containers": [sh("echo from a job")]}}
        batch.create_namespaced_job(
            "default", {"metadata": {"name": "once"}, "spec": {"template": template}}
        )

        def succeeded() -> bool:
            status = batch.read_namespaced_job("once", "default").status
            return bool(status is not None and status.succeeded == 1)

        eventually(succeeded, timeout=10)
        pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector="job-name=once")
        (only,) = pods.items
        assert client.CoreV1Api(api).read_namespaced_pod_log(only.metadata.name, "default") == (
            "from a job\n"
        )
