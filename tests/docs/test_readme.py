"""Every Python block of the README runs, as written, against the session's API server.

The blocks run in order in one namespace, as a reader pastes them into one session: later
blocks use what earlier ones define. A block runs while the ``worker`` defined before it runs
in the test's namespace (as ``kontinue worker`` would run it), so a client block finds its
functions published; a block that defines ``test_*`` functions gets them called with
``kontinue_env``, as pytest would. Clients made without arguments read ``$KUBECONFIG``, which
points at the test's cluster with the test's namespace as the context's.

A block that cannot run (a fragment) must be preceded by ``<!-- readme: skip -->`` and the
reason; there are none today.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from kontinue.testing import WorkflowEnvironment

README = Path(__file__).resolve().parents[2] / "README.md"
SKIP = "<!-- readme: skip"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of each ```python block not marked to be skipped."""
    blocks = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        if before and before[-1].startswith(SKIP):
            continue
        blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


def _namespaced_kubeconfig(source: str, namespace: str, target: Path) -> Path:
    config = yaml.safe_load(Path(source).read_text())
    current = config.get("current-context")
    for entry in config.get("contexts") or []:
        if entry.get("name") == current:
            entry["context"]["namespace"] = namespace
    target.write_text(yaml.safe_dump(config))
    target.chmod(0o600)
    return target


def test_the_blocks_are_found() -> None:
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 4
    assert any("def test_deploy(kontinue_env)" in code for _, code in blocks)


def test_every_python_block_of_the_readme_runs(
    kontinue_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = _namespaced_kubeconfig(
        kontinue_env.admin_kubeconfig, kontinue_env.namespace, tmp_path / "kubeconfig"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    # the official library reads $KUBECONFIG once, when it is imported (before this test)
    monkeypatch.setattr(
        "kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig)
    )
    module = types.ModuleType("readme")  # a module of its own, as dataclasses want one
    monkeypatch.setitem(sys.modules, module.__name__, module)
    scope: dict[str, Any] = module.__dict__
    for line, code in python_blocks(README.read_text()):
        defined = set(scope)
        worker = scope.get("worker")
        running = kontinue_env.running(worker) if worker else contextlib.nullcontext()
        with running:
            exec(compile(code, f"{README}:{line}", "exec"), scope)
        for name in sorted(set(scope) - defined):
            test = scope[name]
            if name.startswith("test_") and inspect.isfunction(test):
                test(**dict.fromkeys(inspect.signature(test).parameters, kontinue_env))
