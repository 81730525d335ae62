"""The API objects a kubelet writes, built without I/O: Node, its status, Lease, Events, pod
status patches and TokenRequests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kontinue import __version__
from kontinue.clock import format_time

from ._machine import Machine

__all__ = [
    "LEASE_NAMESPACE",
    "lease",
    "micro_time",
    "node",
    "node_status",
    "pod_event",
    "status_patch",
    "token_request",
]

JSON = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"
_STATES = ("waiting", "running", "terminated")


def micro_time(when: datetime) -> str:
    """A ``metav1.MicroTime`` (RFC 3339 with microseconds), as Leases carry."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node(name: str, machine: Machine) -> JSON:
    """The Node to register: the well-known labels, no taints."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": machine.operating_system,
                "kubernetes.io/arch": machine.architecture,
                "beta.kubernetes.io/os": machine.operating_system,
                "beta.kubernetes.io/arch": machine.architecture,
            },
        },
        "spec": {},
    }


def node_status(
    *,
    address: str,
    hostname: str,
    port: int,
    machine: Machine,
    max_pods: int,
    kubelet_version: str,
    since: datetime,
    now: datetime,
) -> JSON:
    """The Node's status: Ready since ``since``, heartbeat ``now``, this machine's resources.

    Capacity and allocatable are the same: nothing is reserved for the system.
    """
    resources = {
        "cpu": str(machine.cpus),
        "memory": f"{machine.memory_kib}Ki",
        "ephemeral-storage": f"{machine.disk_kib}Ki",
        "pods": str(max_pods),
    }
    beat, start = format_time(now), format_time(since)

    def condition(kind: str, status: str, reason: str, message: str) -> JSON:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": beat,
            "lastTransitionTime": start,
        }

    return {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition(
                "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
            ),
            condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": address},
            {"type": "Hostname", "address": hostname},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {
            "machineID": machine.machine_id,
            "systemUUID": machine.machine_id,
            "bootID": machine.boot_id,
            "kernelVersion": machine.kernel,
            "osImage": machine.os_image,
            "containerRuntimeVersion": f"kontinue-host://{__version__}",
            "kubeletVersion": kubelet_version,
            "kubeProxyVersion": "",
            "operatingSystem": machine.operating_system,
            "architecture": machine.architecture,
        },
    }


def lease(name: str, node_uid: str, duration: int, now: datetime) -> JSON:
    """The node's Lease in ``kube-node-lease``, owned by its Node (deleted with it)."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": LEASE_NAMESPACE,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}
            ],
        },
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": duration,
            "renewTime": micro_time(now),
        },
    }


def status_patch(uid: str, status: JSON) -> JSON:
    """A strategic merge patch of a pod's status, as a kubelet sends it.

    Lists the API merges by key (conditions by type, container statuses by name) are merged,
    so conditions others own (the scheduler's, a disruption's) stay; a container's state and
    last state name the states it is *not* in as null, so a running container that terminated
    is no longer running too. ``metadata.uid`` makes it apply to this pod only.
    """
    out = dict(status)
    for key in ("containerStatuses", "initContainerStatuses"):
        if key in out:
            out[key] = [_explicit(c) for c in out[key]]
    return {"metadata": {"uid": uid}, "status": out}


def _explicit(container: JSON) -> JSON:
    out = dict(container)
    for key in ("state", "lastState"):
        if key in out:
            out[key] = {**dict.fromkeys(_STATES), **(out[key] or {})}
    return out


def _field_path(pod: JSON, container: str) -> str:
    if not container:
        return ""
    spec = pod.get("spec") or {}
    init = [c.get("name") for c in spec.get("initContainers") or ()]
    return (
        f"spec.initContainers{{{container}}}"
        if container in init
        else (f"spec.containers{{{container}}}")
    )


def pod_event(
    pod: JSON, node_name: str, kind: str, reason: str, message: str, container: str, now: datetime
) -> JSON:
    """A core/v1 Event about a pod (or one of its containers), from the kubelet of
    ``node_name``, named as a kubelet names them (``<pod>.<hex time>``)."""
    meta = pod.get("metadata") or {}
    stamp = format_time(now)
    involved: JSON = {
        "apiVersion": "v1",
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
    }
    field_path = _field_path(pod, container)
    if field_path:
        involved["fieldPath"] = field_path
    nanos = int(now.timestamp() * 1e9)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta.get('name', '')}.{nanos:x}",
            "namespace": involved["namespace"],
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": kind,
        "source": {"component": "kubelet", "host": node_name},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "reportingComponent": "kubelet",
        "reportingInstance": node_name,
    }


def token_request(pod: JSON, audience: str, expiration_seconds: int) -> JSON:
    """A TokenRequest for the pod's service account, bound to the pod: the token stops
    working when the pod is deleted. No audience means the API server's own."""
    meta = pod.get("metadata") or {}
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": [audience] if audience else [],
            "expirationSeconds": expiration_seconds,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
            },
        },
    }
