"""The "try this" block ``kontinue dev`` prints once its workers run: the next commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import PathFinder
from typing import TYPE_CHECKING, Any

from kontinue.api import labels, ordered_properties

if TYPE_CHECKING:
    from kontinue.worker import Worker

__all__ = ["try_this"]

_EXAMPLE = "examples.hello"
"""The example worker of a kontinue checkout (a pip install has no ``examples``)."""

_SNIPPET = (
    "import kontinue",
    "",
    "worker = kontinue.Worker()",
    "",
    '@worker.function("hello")',
    "async def hello(ktx: kontinue.ExecutionContext) -> str:",
    '    return "hello from kontinue"',
)
"""A worker to start from when there is no example at hand."""


def _importable(module: str) -> bool:
    """Whether ``kontinue worker`` would find ``module`` (it looks in the current directory
    first), without importing anything."""
    path: list[str] | None = [os.getcwd(), *sys.path]
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        spec = PathFinder.find_spec(".".join(parts[:depth]), path) if path else None
        if spec is None:
            return False
        path = list(spec.submodule_search_locations or [])
    return True


def _first_worker() -> list[str]:
    """How to run a first worker: the example, or one to write (with no example around)."""
    if _importable(_EXAMPLE):
        return [f"  kontinue worker {_EXAMPLE}:worker   # run a worker"]
    return [
        '  # no worker yet? save this as hello.py (more in the README, "Workflows"):',
        *(f"  #   {line}".rstrip() for line in _SNIPPET),
        "  kontinue worker hello:worker            # run it",
    ]


def _example_arguments(schema: dict[str, Any]) -> str:
    """``--arg`` options for the function's arguments (``--interactive`` when they are not
    simple strings)."""
    properties = dict(ordered_properties(schema))
    required = [k for k in schema.get("required") or [] if k in properties]
    strings = [k for k, p in properties.items() if (p or {}).get("type") == "string"]
    if any(k not in strings for k in required):
        return " --interactive"
    chosen = required or strings[:1]
    return "".join(f" --arg {key}=you" for key in chosen)


def _example(workers: Sequence[Worker]) -> str | None:
    for worker in workers:
        for name in sorted(worker.functions):
            published = worker.function_resource(worker.functions[name], "default")
            annotations = published["metadata"].get("annotations") or {}
            if annotations.get(labels.ANNOTATION_HIDDEN) == "true":
                continue
            return f"kontinue execute {name}{_example_arguments(published['spec']['arguments'])}"
    return None


def try_this(workers: Sequence[Worker]) -> list[str]:
    """The lines of the block: the next commands to type in another shell."""
    lines = ["", "try this in another shell, after the export above:"]
    example = _example(workers)
    if example is None:
        lines += _first_worker()
    lines.append("  kontinue functions                      # what you can execute")
    if example is not None:
        lines.append(f"  {example} --wait")
        lines.append(f"  kontinue tree $({example} -o name) --watch")
    lines.append("  kontinue list                           # executions and their phases")
    lines.append("")
    return lines
