"""The "try this" block ``kontinue dev`` prints once its workers run: the next commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kontinue.api import labels, ordered_properties

if TYPE_CHECKING:
    from kontinue.worker import Worker

__all__ = ["try_this"]


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
        lines.append("  kontinue worker examples.hello:worker   # run a worker")
    lines.append("  kontinue functions                      # what you can execute")
    if example is not None:
        lines.append(f"  {example} --wait")
        lines.append(f"  kontinue tree $({example} -o name) --watch")
    lines.append("  kontinue list                           # executions and their phases")
    lines.append("")
    return lines
