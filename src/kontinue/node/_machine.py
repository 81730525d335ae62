"""What the Node says about this machine: CPUs, memory, disk, identity, operating system."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Machine"]

_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


@dataclass(frozen=True)
class Machine:
    """This machine as a Node's ``capacity`` and ``nodeInfo`` describe it."""

    cpus: int
    memory_kib: int
    disk_kib: int
    machine_id: str
    boot_id: str
    kernel: str
    os_image: str
    operating_system: str
    architecture: str

    @classmethod
    def probe(cls, work_dir: Path) -> Machine:
        """Read the facts from the system (``/proc``, ``/etc``), the disk from ``work_dir``."""
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cpus = os.cpu_count() or 1
        memory = 0
        for line in _read("/proc/meminfo").splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1])
        work_dir.mkdir(parents=True, exist_ok=True)
        disk = shutil.disk_usage(work_dir).total // 1024
        os_image = platform.system()
        for line in _read("/etc/os-release").splitlines():
            if line.startswith("PRETTY_NAME="):
                os_image = line.partition("=")[2].strip('"')
        return cls(
            cpus=cpus,
            memory_kib=memory,
            disk_kib=disk,
            machine_id=_read("/etc/machine-id"),
            boot_id=_read("/proc/sys/kernel/random/boot_id"),
            kernel=platform.release(),
            os_image=os_image,
            operating_system=platform.system().lower(),
            architecture=_ARCHITECTURES.get(platform.machine(), platform.machine()),
        )
