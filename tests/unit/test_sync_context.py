"""SyncExecutionContext mirrors ExecutionContext: same methods, same parameters, same types.

The blocking context of plain ``def`` workflows is written by hand beside the async one; this
test keeps the two from drifting apart (a parameter, a default or an overload added to one only).
"""

from __future__ import annotations

import collections.abc
import inspect
from typing import Any, get_args, get_origin, get_overloads, get_type_hints

import pytest

from kontinue.sdk import ExecutionContext, SyncExecutionContext

_AWAITABLES = (collections.abc.Coroutine, collections.abc.Awaitable)


def _public(cls: type) -> dict[str, Any]:
    return {name: member for name, member in vars(cls).items() if not name.startswith("_")}


def _result(function: Any, hints: dict[str, Any]) -> Any:
    """The return type as a blocking caller gets it: an awaitable's value."""
    result = hints.get("return")
    if inspect.iscoroutinefunction(function):
        return result
    if get_origin(result) in _AWAITABLES:
        value = get_args(result)[-1]
        return type(None) if value is None else value  # as get_type_hints gives ``-> None``
    return result


def _shape(function: Any) -> tuple[Any, ...]:
    hints = get_type_hints(function)
    parameters = tuple(
        (p.name, p.kind, p.default, hints.get(p.name))
        for p in inspect.signature(function).parameters.values()
    )
    return parameters, _result(function, hints)


def _shapes(member: Any) -> list[tuple[Any, ...]]:
    """One shape per overload, then the implementation's; a property's type."""
    if isinstance(member, property):
        return [("property", get_type_hints(member.fget).get("return"))]
    return [_shape(overload) for overload in get_overloads(member)] + [_shape(member)]


def test_both_contexts_have_the_same_public_members() -> None:
    assert sorted(_public(SyncExecutionContext)) == sorted(_public(ExecutionContext))


@pytest.mark.parametrize("name", sorted(_public(ExecutionContext)))
def test_each_method_has_the_async_signature_with_blocking_results(name: str) -> None:
    async_member = _public(ExecutionContext)[name]
    sync_member = _public(SyncExecutionContext).get(name)
    assert sync_member is not None, f"SyncExecutionContext.{name} is missing"
    assert _shapes(sync_member) == _shapes(async_member)
    if not isinstance(sync_member, property):
        assert not inspect.iscoroutinefunction(sync_member)
        for _parameters, result in _shapes(sync_member):
            assert get_origin(result) not in _AWAITABLES, f"{name} returns {result}"


def test_overloads_are_compared() -> None:
    """The typed overloads are seen (and so compared) on both sides."""
    for cls in (ExecutionContext, SyncExecutionContext):
        assert len(get_overloads(cls.execute)) == 3, cls
        assert len(get_overloads(cls.suspend)) == 2, cls
    typed = get_overloads(SyncExecutionContext.suspend)[0]
    assert get_type_hints(typed)["return"] == get_type_hints(typed)["data"].__args__[0]
