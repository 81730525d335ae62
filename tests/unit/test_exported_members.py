"""The public packages export exactly their ``__all__``, and the client's are pinned.

Changing a package's public names is an API change: the pins below (and those of
``test_public_api.py`` for ``kontinue``, ``kontinue.sdk``, ``kontinue.testing`` and
``kontinue.kube``, and of ``test_api_models.py`` for ``kontinue.api``) make it a deliberate
one. Each package also holds no public name outside its ``__all__``, so an import added to an
``__init__`` cannot become an export by accident.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from types import ModuleType

import pytest

import kontinue.api
import kontinue.client

PACKAGES = [
    "kontinue",
    "kontinue.api",
    "kontinue.client",
    "kontinue.kube",
    "kontinue.sdk",
    "kontinue.testing",
]
# Packages that import their names on first use (``__getattr__``) and declare them for type
# checkers in an ``if TYPE_CHECKING:`` block.
LAZY = ["kontinue", "kontinue.kube"]


def _public_names(package: ModuleType) -> set[str]:
    """The public names bound in a package's namespace, bar submodules and typing helpers."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and name not in {"annotations", "TYPE_CHECKING"}
        and getattr(value, "__module__", None) != "typing"
    }


def test_client_exports() -> None:
    assert sorted(kontinue.client.__all__) == [
        "AsyncClient",
        "Client",
        "ClientError",
        "ExecutionFailed",
        "ExecutionTree",
        "InvalidArguments",
        "InvalidState",
        "NodeKind",
        "ResultMismatch",
        "TreeNode",
        "TreeUpdate",
        "UnknownFunction",
        "WaitTimeout",
        "build_tree",
        "parse_result",
    ]


def test_errors_exports() -> None:
    import kontinue.errors

    assert kontinue.errors.__all__ == ["KontinueError"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_export_resolves_once(name: str) -> None:
    package = importlib.import_module(name)
    assert len(package.__all__) == len(set(package.__all__)), "a name is listed twice"
    for export in package.__all__:
        assert getattr(package, export) is not None, export


@pytest.mark.parametrize("name", sorted(set(PACKAGES) - set(LAZY)))
def test_a_package_binds_exactly_its_exports(name: str) -> None:
    package = importlib.import_module(name)
    modules = {n for n in package.__all__ if isinstance(getattr(package, n), ModuleType)}
    assert _public_names(package) == set(package.__all__) - modules


@pytest.mark.parametrize("name", LAZY)
def test_a_lazy_package_declares_exactly_its_exports(name: str) -> None:
    package = importlib.import_module(name)
    assert _public_names(package) <= set(package.__all__)
    declared: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(package))):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                declared.update(alias.asname or alias.name for alias in statement.names)
    assert declared, "no TYPE_CHECKING block found"
    assert declared == set(package.__all__) - {"__version__"}
