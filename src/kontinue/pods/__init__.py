"""Pods as host processes: the pod lifecycle shared by the dev server and the node agent.

A kubelet's job without images or isolation: each container's ``command`` + ``args`` runs as a
host process, as the runner's user, in a private folder per pod; its status is reported as a
kubelet reports it (phase, conditions, container states with exit codes and reasons), its
output is kept in log files served with the kubelet's query options, and deleting the pod stops
its processes (SIGTERM, SIGKILL after the grace period). Where pods come from and where their
status goes is a :class:`PodHost`: the dev server's registry in the same process
(:mod:`kontinue.devserver.pods`), or any API server through the node agent
(:mod:`kontinue.node`).

:class:`PodSupervisor` drives the pods of one runner, :class:`PodRun` is one pod's lifecycle,
:class:`RunnerSettings` says how they run. Volumes (written into the pod's folder, mounted at
their ``mountPath`` in a private mount namespace when the runner is root), service-account
tokens and restarts of the runner (pods it cannot adopt are marked ``Lost``) are handled here
too. This package imports only the standard library and :mod:`kontinue.clock`.
"""

from ._logs import BadLogRequest, LogOptions, choose_container, read_lines
from ._mounts import Mount, MountTools, mount_variable
from ._processes import ConfigError, SpawnError, expand, resolve_env
from ._runs import FINISHED, PodGone, PodHost, PodRun
from ._settings import RunnerSettings, pod_directory
from ._supervising import PodSupervisor, lost_status
from ._volumes import Token, TokenSource

__all__ = [
    "FINISHED",
    "BadLogRequest",
    "ConfigError",
    "LogOptions",
    "Mount",
    "MountTools",
    "PodGone",
    "PodHost",
    "PodRun",
    "PodSupervisor",
    "RunnerSettings",
    "SpawnError",
    "Token",
    "TokenSource",
    "choose_container",
    "expand",
    "lost_status",
    "mount_variable",
    "pod_directory",
    "read_lines",
    "resolve_env",
]
