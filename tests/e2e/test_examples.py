"""The examples in examples/ run against the dev server (they are documentation that works)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import own

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def test_kube_tour(kubeconfig: str, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = _load("kube_tour").tour(kubeconfig, namespace)
    out = capsys.readouterr().out
    assert "the snapshot has step 2 and 1 accounts" in out
    assert "status of the config map: Current" in out
    assert 'deleted: configmaps "tour" not found' in out
    assert own([cm.metadata.name for cm in snapshot.settings]) == ["tour"]
