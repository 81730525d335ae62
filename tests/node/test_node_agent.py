"""The node agent against upstream Kubernetes: the real scheduler binds pods to it, the real Job
controller reads the status it writes, and the API server fetches logs from it."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from kontinue.kube import KubeClient, NotFound
from kontinue.kube.logs import LogOptions, pod_log_lines
from kontinue.testing import eventually

from .cluster import NODE, Agent, ControlPlane

JSON = dict[str, Any]
FINISHED = ("Succeeded", "Failed")
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def sh(script: str, name: str = "main", **extra: Any) -> JSON:
    return {"name": name, "image": "busybox", "command": ["/bin/sh", "-c", script], **extra}


def pod(name: str, *containers: JSON, **spec: Any) -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": list(containers), **spec},
    }


def job(name: str, *containers: JSON, **spec: Any) -> JSON:
    template = {"spec": {"restartPolicy": "Never", "containers": list(containers)}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": template, **spec},
    }


def get_pod(admin: KubeClient, ns: str, name: str) -> JSON | None:
    try:
        found: JSON = admin.get("pods", name, namespace=ns)
    except NotFound:
        return None
    return found


def phase(
    admin: KubeClient, ns: str, name: str, phases: tuple[str, ...], timeout: float = 30
) -> JSON:
    def check() -> JSON | None:
        found = get_pod(admin, ns, name)
        return found if found and found.get("status", {}).get("phase") in phases else None

    result: JSON = eventually(check, timeout=timeout, what=f"pod {name} in {phases}")
    return result


def job_pods(admin: KubeClient, ns: str, name: str) -> list[JSON]:
    return admin.list("pods", namespace=ns, label_selector=f"job-name={name}")


def job_outcome(admin: KubeClient, ns: str, name: str) -> JSON | None:
    """The Job's Complete or Failed condition, once it has one."""
    status = admin.get("jobs", name, namespace=ns).get("status") or {}
    for condition in status.get("conditions") or ():
        if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
            found: JSON = condition
            return found
    return None


def terminated(found: JSON, index: int = 0) -> JSON:
    state: JSON = found["status"]["containerStatuses"][index]["state"]["terminated"]
    return state


def printed_pid(admin: KubeClient, ns: str, name: str) -> int:
    """The pid a pod printed first (scripts say ``$$$$``: Kubernetes makes ``$$`` of it)."""
    phase(admin, ns, name, ("Running",))

    def read() -> str:
        lines = [e.output for e in pod_log_lines(admin, name, namespace=ns) if not e.closed]
        return lines[0] if lines else ""

    return int(eventually(read, timeout=10, what=f"the pid of {name}"))


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def kubectl_run(kubectl: str, plane: ControlPlane, *args: str) -> str:
    done = subprocess.run(
        [kubectl, "--kubeconfig", str(plane.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_job_runs_to_completion_and_its_logs_come_back(
    admin: KubeClient, ns: str, kubectl: str, control_plane: ControlPlane
) -> None:
    created = time.monotonic()
    admin.create(job("hello", sh("for i in 1 2 3; do echo line $i; sleep 0.4; done")), namespace=ns)

    def running() -> JSON | None:
        pods = [p for p in job_pods(admin, ns, "hello") if p["status"].get("phase") == "Running"]
        return pods[0] if pods else None

    live = eventually(running, timeout=30, what="the Job's pod Running")
    running_at = time.monotonic()
    name = live["metadata"]["name"]
    assert live["spec"]["nodeName"] == NODE
    assert (live["status"]["hostIP"], live["status"]["podIP"]) == ("127.0.0.1", "127.0.0.1")
    # followed through the API server and the node's log endpoint while the container runs
    follow = LogOptions(follow=True, timestamps=False)
    events = list(pod_log_lines(admin, name, follow, namespace=ns))
    assert [e.output for e in events if not e.closed] == ["line 1", "line 2", "line 3"]
    assert events[-1].closed and events[-1].error is None
    outcome = eventually(lambda: job_outcome(admin, ns, "hello"), timeout=30, what="the Job done")
    complete_at = time.monotonic()
    assert outcome["type"] == "Complete"
    done = admin.get("pods", name, namespace=ns)
    assert done["status"]["phase"] == "Succeeded"
    assert (terminated(done)["exitCode"], terminated(done)["reason"]) == (0, "Completed")
    conditions = {c["type"]: c["status"] for c in done["status"]["conditions"]}
    assert conditions["Ready"] == "False" and conditions["PodScheduled"] == "True"
    assert kubectl_run(kubectl, control_plane, "-n", ns, "logs", "job/hello") == (
        "line 1\nline 2\nline 3\n"
    )
    assert kubectl_run(kubectl, control_plane, "-n", ns, "logs", name, "--tail=1") == "line 3\n"
    stamped = [e for e in pod_log_lines(admin, name, namespace=ns) if not e.closed]
    assert [e.output for e in stamped] == ["line 1", "line 2", "line 3"]
    assert all(e.timestamp is not None for e in stamped)
    print(
        f"\nnode agent: Job create -> pod Running {running_at - created:.2f} s, "
        f"-> Job Complete {complete_at - created:.2f} s"
    )


def test_a_failing_container_fails_the_job_after_its_backoff_limit(
    admin: KubeClient, ns: str
) -> None:
    admin.create(job("broken", sh("echo failing; exit 3"), backoffLimit=1), namespace=ns)
    outcome = eventually(lambda: job_outcome(admin, ns, "broken"), timeout=60, what="the Job")
    assert (outcome["type"], outcome["reason"]) == ("Failed", "BackoffLimitExceeded")
    pods = job_pods(admin, ns, "broken")
    assert len(pods) == 2
    for failed in pods:
        assert failed["status"]["phase"] == "Failed"
        assert (terminated(failed)["exitCode"], terminated(failed)["reason"]) == (3, "Error")
    lines = [e.output for e in pod_log_lines(admin, pods[0], namespace=ns) if not e.closed]
    assert lines == ["failing"]


def test_environment_from_config_maps_secrets_and_fields(admin: KubeClient, ns: str) -> None:
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm"},
            "data": {"color": "blue", "size": "L"},
        },
        namespace=ns,
    )
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "stringData": {"password": "hunter2"},
        },
        namespace=ns,
    )
    env = [
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "color"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "BOTH", "value": "$(COLOR)/$(PASSWORD)"},
    ]
    script = (
        "echo $COLOR $PASSWORD $POD $NS $IP $NODE $BOTH $CM_size; "
        "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
    )
    env_from = [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}]
    admin.create(pod("env", sh(script, env=env, envFrom=env_from)), namespace=ns)
    assert phase(admin, ns, "env", FINISHED)["status"]["phase"] == "Succeeded"
    first, api = [e.output for e in pod_log_lines(admin, "env", namespace=ns) if not e.closed]
    assert first == f"blue hunter2 env {ns} 127.0.0.1 {NODE} blue/hunter2 L"
    server = admin.connection.server
    assert f"https://{api}" == server


def test_a_missing_config_map_keeps_the_container_waiting(admin: KubeClient, ns: str) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "x"}}}]
    admin.create(pod("patient", sh("echo $X", env=env)), namespace=ns)

    def waiting() -> JSON | None:
        statuses = (get_pod(admin, ns, "patient") or {}).get("status", {}).get("containerStatuses")
        state: JSON = (statuses or [{}])[0].get("state", {}).get("waiting") or {}
        return state if state.get("reason") == "CreateContainerConfigError" else None

    state = eventually(waiting, timeout=30, what="CreateContainerConfigError")
    assert state["message"] == 'configmap "later" not found'
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "later"},
            "data": {"x": "now"},
        },
        namespace=ns,
    )
    assert phase(admin, ns, "patient", FINISHED)["status"]["phase"] == "Succeeded"
    assert [e.output for e in pod_log_lines(admin, "patient", namespace=ns) if not e.closed] == [
        "now"
    ]


def test_deleting_a_running_pod_stops_its_processes_and_the_pod_goes(
    admin: KubeClient, ns: str, tmp_path: Path
) -> None:
    marker = tmp_path / "stopped"
    polite = f"trap 'echo term > {marker}; exit 0' TERM; echo $$$$; while true; do sleep 0.1; done"
    stubborn = "trap '' TERM; echo $$$$; while true; do sleep 0.1; done"
    admin.create(pod("polite", sh(polite)), namespace=ns)
    admin.create(pod("stubborn", sh(stubborn), terminationGracePeriodSeconds=3), namespace=ns)
    polite_pid = printed_pid(admin, ns, "polite")
    stubborn_pid = printed_pid(admin, ns, "stubborn")
    assert not gone(polite_pid) and not gone(stubborn_pid)
    admin.delete("pods", "polite", namespace=ns)
    eventually(lambda: get_pod(admin, ns, "polite") is None, timeout=10, what="polite gone")
    assert gone(polite_pid) and marker.read_text() == "term\n"  # SIGTERM first
    started = time.monotonic()
    admin.delete("pods", "stubborn", namespace=ns)
    eventually(lambda: get_pod(admin, ns, "stubborn") is None, timeout=15, what="stubborn gone")
    assert gone(stubborn_pid)
    assert time.monotonic() - started >= 2.5  # SIGKILL only after its grace period


def test_a_missing_command_cannot_run(admin: KubeClient, ns: str) -> None:
    admin.create(
        pod("missing", {"name": "c", "image": "x:1", "command": ["no-such-tool-kontinue"]}),
        namespace=ns,
    )
    admin.create(pod("bare", {"name": "c", "image": "x:1"}), namespace=ns)
    for name in ("missing", "bare"):
        done = phase(admin, ns, name, FINISHED)
        assert done["status"]["phase"] == "Failed"
        state = terminated(done)
        assert (state["exitCode"], state["reason"]) == (127, "ContainerCannotRun")
        assert "the node agent runs containers as host processes" in state["message"]
    assert terminated(phase(admin, ns, "missing", FINISHED))["message"].startswith(
        'executable "no-such-tool-kontinue" not found on this machine'
    )


TOKEN_SCRIPT = """
import json, os, ssl, urllib.request
folder = "/var/run/secrets/kubernetes.io/serviceaccount"
token = open(folder + "/token").read()
context = ssl.create_default_context(cafile=folder + "/ca.crt")
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
server = "https://%s:%s" % (host, port)
body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
request = urllib.request.Request(
    server + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    body.encode(),
    {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
)
user = json.load(urllib.request.urlopen(request, context=context))["status"]["userInfo"]
print(json.dumps({"namespace": open(folder + "/namespace").read(), "user": user}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting volumes at their mountPath needs root")
def test_each_pod_reads_its_own_service_account_token_at_the_standard_path(
    admin: KubeClient, ns: str
) -> None:
    names = ("reader-a", "reader-b")
    for name in names:
        admin.create(
            pod(
                name,
                {
                    "name": "main",
                    "image": "python",
                    "command": [sys.executable, "-c", TOKEN_SCRIPT],
                },
            ),
            namespace=ns,
        )
    for name in names:
        done = phase(admin, ns, name, FINISHED)
        lines = [e.output for e in pod_log_lines(admin, name, namespace=ns) if not e.closed]
        assert done["status"]["phase"] == "Succeeded", lines
        seen = json.loads(lines[-1])
        assert seen["namespace"] == ns
        user = seen["user"]
        assert user["username"] == f"system:serviceaccount:{ns}:default"
        # the token is bound to this very pod
        assert user["extra"]["authentication.kubernetes.io/pod-name"] == [name]
        assert user["extra"]["authentication.kubernetes.io/pod-uid"] == [done["metadata"]["uid"]]
    assert not (SERVICE_ACCOUNT / "token").exists()  # mounted for the pods only


def test_the_log_endpoint_wants_the_api_servers_client_certificate(
    admin: KubeClient, control_plane: ControlPlane
) -> None:
    port = admin.get("nodes", NODE)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    url = f"https://127.0.0.1:{port}/healthz"
    anonymous = ssl.create_default_context(cafile=str(control_plane.pki("ca.crt")))
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(url, context=anonymous, timeout=10).read()
    client = ssl.create_default_context(cafile=str(control_plane.pki("ca.crt")))
    client.load_cert_chain(
        str(control_plane.pki("kubelet-client.crt")), str(control_plane.pki("kubelet-client.key"))
    )
    assert urllib.request.urlopen(url, context=client, timeout=10).read() == b"ok"


def test_restarting_the_agent_handles_the_pods_left_from_before(
    admin: KubeClient, ns: str, agent: Agent
) -> None:
    long = "echo $$$$; exec sleep 300"
    admin.create(pod("finished", sh("echo done")), namespace=ns)
    before = phase(admin, ns, "finished", FINISHED)
    for name in ("cut-short", "deleted", "forced"):
        admin.create(pod(name, sh(long)), namespace=ns)
    pids = {name: printed_pid(admin, ns, name) for name in ("cut-short", "deleted", "forced")}
    forced = admin.get("pods", "forced", namespace=ns)
    agent.kill()
    try:
        admin.delete("pods", "deleted", namespace=ns)  # waits for the node: Terminating
        admin.delete("pods", "forced", namespace=ns, grace_period=0)  # gone at once
        admin.create(pod("while-away", sh("echo fresh")), namespace=ns)
        assert get_pod(admin, ns, "deleted")["metadata"]["deletionTimestamp"]  # type: ignore[index]
        assert not any(gone(pid) for pid in pids.values())  # left behind by kill -9
    finally:
        agent.start()
    lost = phase(admin, ns, "cut-short", FINISHED)
    assert (lost["status"]["phase"], lost["status"]["reason"]) == ("Failed", "Lost")
    assert "the node agent restarted while the pod ran" in lost["status"]["message"]
    assert terminated(lost)["reason"] == "Lost"
    assert phase(admin, ns, "while-away", FINISHED)["status"]["phase"] == "Succeeded"
    eventually(lambda: get_pod(admin, ns, "deleted") is None, timeout=15, what="deleted gone")
    eventually(lambda: all(gone(pid) for pid in pids.values()), timeout=10, what="pids gone")
    after = admin.get("pods", "finished", namespace=ns)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    folder = agent.work_dir / "pods" / f"{ns}_forced_{forced['metadata']['uid']}"
    assert not folder.exists()
    assert [e.output for e in pod_log_lines(admin, "while-away", namespace=ns) if not e.closed] == [
        "fresh"
    ]


def test_a_restarted_container_keeps_its_previous_log(
    admin: KubeClient, ns: str, kubectl: str, control_plane: ControlPlane
) -> None:
    script = "echo run $(ls $HOME | wc -l); test -f $HOME/seen && exit 0; touch $HOME/seen; exit 1"
    admin.create(pod("again", sh(script), restartPolicy="OnFailure"), namespace=ns)
    done = phase(admin, ns, "again", FINISHED)
    status = done["status"]["containerStatuses"][0]
    assert (done["status"]["phase"], status["restartCount"]) == ("Succeeded", 1)
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert kubectl_run(kubectl, control_plane, "-n", ns, "logs", "again") == "run 1\n"
    previous = kubectl_run(kubectl, control_plane, "-n", ns, "logs", "again", "--previous")
    assert previous == "run 0\n"


def test_the_node_renews_its_lease(admin: KubeClient, agent: Agent) -> None:
    node = admin.get("nodes", NODE)
    lease = admin.get("leases", NODE, namespace="kube-node-lease")
    assert lease["spec"]["holderIdentity"] == NODE
    (owner,) = lease["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("Node", node["metadata"]["uid"])
    first = lease["spec"]["renewTime"]

    def renewed() -> bool:
        current = admin.get("leases", NODE, namespace="kube-node-lease")
        return bool(current["spec"]["renewTime"] != first)

    eventually(renewed, timeout=15, what="the Lease renewed")


def test_stopping_the_agent_stops_its_pods_and_says_so(
    admin: KubeClient, ns: str, agent: Agent
) -> None:
    admin.create(pod("busy", sh("echo $$$$; exec sleep 300")), namespace=ns)
    pid = printed_pid(admin, ns, "busy")
    try:
        assert agent.terminate() == 0
    finally:
        agent.start()
    assert gone(pid)
    done = admin.get("pods", "busy", namespace=ns)
    assert (done["status"]["phase"], done["status"]["reason"]) == ("Failed", "Terminated")
    assert "the node agent stopped while the pod ran" in done["status"]["message"]
    assert terminated(done)["exitCode"] == 143  # SIGTERM
