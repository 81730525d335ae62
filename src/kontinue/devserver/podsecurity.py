"""Pod Security Admission: the ``baseline`` and ``restricted`` Pod Security Standards.

kube-apiserver's PodSecurity plugin refuses a pod that violates the level its namespace enforces
(the label ``pod-security.kubernetes.io/enforce``: ``privileged``, ``baseline`` or
``restricted``) with a 403 listing every violated check, in its words:
``pods "x" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must
not set securityContext.privileged=true), host namespaces (hostPID=true)``.

The dev server runs pods as host processes, so its default for a namespace without the label is
``baseline`` (a cluster's default is ``privileged``): a token holder cannot ask for a privileged
container, host namespaces or host paths without labelling the namespace first. The checks are
those of the ``latest`` version of the standards; the version labels are not read (every level is
evaluated as ``latest``), nor are the ``warn`` and ``audit`` modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kontinue.kube.schema import FieldError

__all__ = [
    "DEFAULT_LEVEL",
    "ENFORCE_LABEL",
    "LEVELS",
    "label_errors",
    "level_of",
    "violations",
]

JSON = dict[str, Any]
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
#: The level of a namespace without the label, on the dev server.
DEFAULT_LEVEL = "baseline"
_MODES = ("enforce", "audit", "warn")

_BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
        "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)  # fmt: skip
_SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
_RESTRICTED_VOLUMES = frozenset(
    {
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
        "projected", "secret",
    }
)  # fmt: skip


def label_errors(labels: JSON) -> list[FieldError]:
    """Errors of a namespace's ``pod-security.kubernetes.io/<mode>`` labels, as upstream."""
    errors: list[FieldError] = []
    for mode in _MODES:
        key = f"pod-security.kubernetes.io/{mode}"
        value = labels.get(key)
        if value is not None and value not in LEVELS:
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    f"metadata.labels[{key}]",
                    "must be one of privileged, baseline, restricted",
                    value,
                )
            )
    return errors


def level_of(namespace: JSON | None) -> str:
    """The level ``namespace`` enforces."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    value = labels.get(ENFORCE_LABEL)
    return value if value in LEVELS else DEFAULT_LEVEL


def violations(pod: JSON, level: str) -> list[str]:
    """What ``pod`` violates at ``level``, each as ``"<check> (<detail>)"``, in upstream's order
    (the baseline checks, then those of restricted, each group sorted by check)."""
    if level == "privileged":
        return []
    checks = _RESTRICTED_BASE if level == "restricted" else _BASELINE
    if level == "restricted":
        checks = checks + _RESTRICTED
    pod_view = _Pod(pod)
    found: list[str] = []
    for check in checks:
        problem = check(pod_view)
        if problem:
            found.append(problem)
    return found


# -- the pod, as the checks read it ---------------------------------------------------------------


class _Pod:
    def __init__(self, pod: JSON) -> None:
        self.spec: JSON = pod.get("spec") or {}
        self.context: JSON = self.spec.get("securityContext") or {}
        self.containers: list[JSON] = [
            *(self.spec.get("initContainers") or ()),
            *(self.spec.get("containers") or ()),
            *(self.spec.get("ephemeralContainers") or ()),
        ]

    def each(self) -> Iterator[tuple[str, JSON]]:
        """(name, securityContext) of every container, init containers first."""
        for container in self.containers:
            yield str(container.get("name", "")), container.get("securityContext") or {}


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _containers(names: list[str]) -> str:
    return f"{'container' if len(names) == 1 else 'containers'} {_quoted(names)}"


def _who(pod_level: bool, names: list[str], joiner: str = "and") -> str:
    """``pod``, ``container "c"`` or ``pod and containers "a", "b"``."""
    parts = (["pod"] if pod_level else []) + ([_containers(names)] if names else [])
    return f" {joiner} ".join(parts)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- baseline ------------------------------------------------------------------------------------


def _app_armor(pod: _Pod) -> str:
    pod_level = (pod.context.get("appArmorProfile") or {}).get("type") == "Unconfined"
    names = [
        name
        for name, context in pod.each()
        if (context.get("appArmorProfile") or {}).get("type") == "Unconfined"
    ]
    if not pod_level and not names:
        return ""
    return (
        f"forbidden AppArmor profile ({_who(pod_level, names)} must not set AppArmor profile "
        'type to "Unconfined")'
    )


def _capabilities_baseline(pod: _Pod) -> str:
    names: list[str] = []
    added: set[str] = set()
    for name, context in pod.each():
        extra = {
            str(cap)
            for cap in (context.get("capabilities") or {}).get("add") or ()
            if cap not in _BASELINE_CAPABILITIES
        }
        if extra:
            names.append(name)
            added |= extra
    if not names:
        return ""
    return (
        f"non-default capabilities ({_containers(names)} must not include "
        f"{_quoted(sorted(added))} in securityContext.capabilities.add)"
    )


def _host_namespaces(pod: _Pod) -> str:
    set_ = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(key)]
    return f"host namespaces ({', '.join(set_)})" if set_ else ""


def _host_path_volumes(pod: _Pod) -> str:
    names = [str(v.get("name", "")) for v in pod.spec.get("volumes") or () if "hostPath" in v]
    if not names:
        return ""
    return f"hostPath volumes ({'volume' if len(names) == 1 else 'volumes'} {_quoted(names)})"


def _host_ports(pod: _Pod) -> str:
    names: list[str] = []
    ports: list[str] = []
    for container in pod.containers:
        used = [str(p["hostPort"]) for p in container.get("ports") or () if p.get("hostPort")]
        if used:
            names.append(str(container.get("name", "")))
            ports += used
    if not names:
        return ""
    ports = _unique(ports)
    many = len(ports) > 1
    verb = "uses" if len(names) == 1 else "use"
    return (
        f"{'hostPorts' if many else 'hostPort'} ({_containers(names)} {verb} "
        f"{'hostPorts' if many else 'hostPort'} {', '.join(ports)})"
    )


def _privileged(pod: _Pod) -> str:
    names = [name for name, context in pod.each() if context.get("privileged") is True]
    if not names:
        return ""
    return f"privileged ({_containers(names)} must not set securityContext.privileged=true)"


def _proc_mount(pod: _Pod) -> str:
    names = [
        name
        for name, context in pod.each()
        if context.get("procMount") not in (None, "", "Default")
    ]
    if not names:
        return ""
    return f'procMount ({_containers(names)} must not set securityContext.procMount to "Unmasked")'


def _selinux_problems(options: JSON) -> list[str]:
    problems = []
    if options.get("type", "") not in _SELINUX_TYPES:
        problems.append(f'type "{options["type"]}"')
    if options.get("user"):
        problems.append(f'user "{options["user"]}"')
    if options.get("role"):
        problems.append(f'role "{options["role"]}"')
    return problems


def _selinux(pod: _Pod) -> str:
    problems = _selinux_problems(pod.context.get("seLinuxOptions") or {})
    pod_level = bool(problems)
    names: list[str] = []
    for name, context in pod.each():
        found = _selinux_problems(context.get("seLinuxOptions") or {})
        if found:
            names.append(name)
            problems += found
    if not problems:
        return ""
    return (
        f"seLinuxOptions ({_who(pod_level, names)} set forbidden "
        f"securityContext.seLinuxOptions: {', '.join(_unique(problems))})"
    )


def _unconfined_seccomp(pod: _Pod) -> tuple[bool, list[str]]:
    pod_level = (pod.context.get("seccompProfile") or {}).get("type") == "Unconfined"
    names = [
        name
        for name, context in pod.each()
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined"
    ]
    return pod_level, names


def _seccomp_baseline(pod: _Pod) -> str:
    pod_level, names = _unconfined_seccomp(pod)
    if not pod_level and not names:
        return ""
    return (
        f"seccompProfile ({_who(pod_level, names)} must not set "
        'securityContext.seccompProfile.type to "Unconfined")'
    )


def _sysctls(pod: _Pod) -> str:
    names = [
        str(item.get("name", ""))
        for item in pod.context.get("sysctls") or ()
        if item.get("name") not in _SAFE_SYSCTLS
    ]
    return f"forbidden sysctls ({', '.join(names)})" if names else ""


def _host_process(pod: _Pod) -> str:
    pod_level = (pod.context.get("windowsOptions") or {}).get("hostProcess") is True
    names = [
        name
        for name, context in pod.each()
        if (context.get("windowsOptions") or {}).get("hostProcess") is True
    ]
    if not pod_level and not names:
        return ""
    return (
        f"hostProcess ({_who(pod_level, names)} must not set "
        "securityContext.windowsOptions.hostProcess=true)"
    )


# -- restricted ----------------------------------------------------------------------------------


def _privilege_escalation(pod: _Pod) -> str:
    names = [name for name, c in pod.each() if c.get("allowPrivilegeEscalation") is not False]
    if not names:
        return ""
    return (
        f"allowPrivilegeEscalation != false ({_containers(names)} must set "
        "securityContext.allowPrivilegeEscalation=false)"
    )


def _capabilities_restricted(pod: _Pod) -> str:
    undropped: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    for name, context in pod.each():
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or ()):
            undropped.append(name)
        extra = {str(c) for c in capabilities.get("add") or () if c != "NET_BIND_SERVICE"}
        if extra:
            adding.append(name)
            added |= extra
    parts = []
    if undropped:
        parts.append(f'{_containers(undropped)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        parts.append(
            f"{_containers(adding)} must not include {_quoted(sorted(added))} in "
            "securityContext.capabilities.add"
        )
    return f"unrestricted capabilities ({'; '.join(parts)})" if parts else ""


def _restricted_volumes(pod: _Pod) -> str:
    names: list[str] = []
    kinds: set[str] = set()
    for volume in pod.spec.get("volumes") or ():
        found = {key for key in volume if key != "name" and key not in _RESTRICTED_VOLUMES}
        if found:
            names.append(str(volume.get("name", "")))
            kinds |= found
    if not names:
        return ""
    one = len(names) == 1
    return (
        f"restricted volume types ({'volume' if one else 'volumes'} {_quoted(names)} "
        f"{'uses' if one else 'use'} restricted volume "
        f"{'type' if len(kinds) == 1 else 'types'} {_quoted(sorted(kinds))})"
    )


def _run_as_non_root(pod: _Pod) -> str:
    explicit = [name for name, c in pod.each() if c.get("runAsNonRoot") is False]
    pod_value = pod.context.get("runAsNonRoot")
    if explicit or pod_value is False:
        return (
            f"runAsNonRoot != true ({_who(pod_value is False, explicit)} must not set "
            "securityContext.runAsNonRoot=false)"
        )
    if pod_value is True:
        return ""
    unset = [name for name, c in pod.each() if c.get("runAsNonRoot") is not True]
    if not unset:
        return ""
    return (
        f"runAsNonRoot != true (pod or {_containers(unset)} must set "
        "securityContext.runAsNonRoot=true)"
    )


def _run_as_user(pod: _Pod) -> str:
    pod_level = pod.context.get("runAsUser") == 0
    names = [name for name, c in pod.each() if c.get("runAsUser") == 0]
    if not pod_level and not names:
        return ""
    return f"runAsUser=0 ({_who(pod_level, names)} must not set runAsUser=0)"


def _seccomp_restricted(pod: _Pod) -> str:
    pod_level, names = _unconfined_seccomp(pod)
    if pod_level or names:
        return (
            f"seccompProfile ({_who(pod_level, names)} must not set "
            'securityContext.seccompProfile.type to "Unconfined")'
        )
    if (pod.context.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost"):
        return ""
    unset = [name for name, c in pod.each() if not (c.get("seccompProfile") or {}).get("type")]
    if not unset:
        return ""
    return (
        f"seccompProfile (pod or {_containers(unset)} must set "
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    )


Check = Callable[[_Pod], str]
_BASELINE: tuple[Check, ...] = (
    _app_armor,
    _capabilities_baseline,
    _host_namespaces,
    _host_path_volumes,
    _host_ports,
    _host_process,
    _privileged,
    _proc_mount,
    _selinux,
    _seccomp_baseline,
    _sysctls,
)
# restricted replaces three baseline checks with stricter ones of its own
_RESTRICTED_BASE: tuple[Check, ...] = tuple(
    c for c in _BASELINE if c not in (_capabilities_baseline, _host_path_volumes, _seccomp_baseline)
)
_RESTRICTED: tuple[Check, ...] = (
    _privilege_escalation,
    _capabilities_restricted,
    _restricted_volumes,
    _run_as_non_root,
    _run_as_user,
    _seccomp_restricted,
)
