"""What a registered workflow function is: its name, its types and how its data crosses JSON.

A workflow is ``(ktx, args) -> result``. The annotations decide everything else: the argument
type gives the JSON Schema published in the Function resource (descriptions, defaults, enums)
and validates incoming arguments (merged with the defaults, given values win); the return
annotation converts the result to JSON and back, so a parent calling ``ktx.execute(child, ...)``
receives a typed value. Pydantic models, dataclasses, TypedDicts and builtins all work.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from kontinue.api import FunctionDefaults, with_property_order
from kontinue.api.functions import SCALAR_ARGUMENT, scalar_schema, wrap_scalar_schema

from .errors import ValidationFailed

__all__ = ["RESULT_LIMIT", "FunctionDef", "define", "function_def", "validation_details"]

RESULT_LIMIT = 1024 * 1024
"""Largest encoded result (and stored value) an execution may record, in bytes: the whole
Execution must stay under the API server's object size limit (about 1.5 MiB)."""

_ATTRIBUTE = "__kontinue_function__"


def validation_details(error: PydanticValidationError) -> list[dict[str, str]]:
    """Each problem of a pydantic validation error as ``{"field": ..., "message": ...}``."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "(root)",
            "message": item["msg"],
        }
        for item in error.errors(include_url=False)
    ]


def _describe(details: list[dict[str, str]]) -> str:
    return "; ".join(f"{d['field']}: {d['message']}" for d in details)


@dataclasses.dataclass(frozen=True, eq=False)
class FunctionDef:
    """A workflow function as the worker and its callers see it."""

    name: str
    """The registered name executions refer to (``spec.function``)."""
    fn: Callable[..., Any]
    """The user's function."""
    is_async: bool
    """True for ``async def``; plain functions run in the worker's thread pool."""
    takes_arguments: bool
    """False for ``def f(ktx)``: the function has no argument parameter."""
    argument_type: Any
    """The annotation of the argument parameter (``dict[str, Any]`` when missing)."""
    result_type: Any
    """The return annotation (``Any`` when missing)."""
    display_name: str | None = None
    description: str | None = None
    hidden: bool = False
    defaults: FunctionDefaults | None = None
    concurrency: int | None = None

    @cached_property
    def _arguments(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.argument_type)

    @cached_property
    def _result(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.result_type)

    @cached_property
    def _own_argument_schema(self) -> dict[str, Any] | None:
        """The argument type's JSON Schema; None when pydantic cannot describe it."""
        try:
            schema: dict[str, Any] = self._arguments.json_schema(mode="validation")
        except Exception:
            return None
        return schema

    @cached_property
    def scalar(self) -> bool:
        """True when the argument is not an object (``n: int``, ``names: list[str]``): an
        execution's arguments are then ``{"value": ...}`` (see
        :data:`~kontinue.api.functions.SCALAR_ARGUMENT`)."""
        own = self._own_argument_schema
        return self.takes_arguments and own is not None and scalar_schema(own)

    @cached_property
    def argument_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments, as published in the Function resource (a scalar
        argument wrapped in ``{"value": ...}``)."""
        if not self.takes_arguments:
            return {"type": "object", "properties": {}}
        own = self._own_argument_schema
        if own is None:  # a type pydantic cannot describe: accept any object
            return {"type": "object"}
        ordered: dict[str, Any] = with_property_order(
            wrap_scalar_schema(own) if self.scalar else own
        )  # the API server sorts keys
        return ordered

    @cached_property
    def result_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the result, when the function declares one."""
        if self.result_type is Any:
            return None
        try:
            ordered: dict[str, Any] = with_property_order(
                self._result.json_schema(mode="serialization")
            )
            return ordered
        except Exception:
            return None

    def parse_arguments(self, raw: dict[str, Any]) -> Any:
        """The typed argument value, or :class:`ValidationFailed` naming each bad field."""
        if not self.takes_arguments:
            return None
        if self.scalar:
            if SCALAR_ARGUMENT not in raw:
                details = [{"field": SCALAR_ARGUMENT, "message": "Field required"}]
                raise ValidationFailed(
                    f"invalid arguments for {self.name}: {_describe(details)}", details=details
                )
            return self._validate(raw[SCALAR_ARGUMENT], prefix=SCALAR_ARGUMENT)
        return self._validate(raw)

    def _validate(self, value: Any, prefix: str | None = None) -> Any:
        try:
            return self._arguments.validate_python(value)
        except PydanticValidationError as error:
            details = validation_details(error)
            if prefix is not None:
                for detail in details:
                    field = detail["field"]
                    detail["field"] = prefix if field == "(root)" else f"{prefix}.{field}"
            raise ValidationFailed(
                f"invalid arguments for {self.name}: {_describe(details)}", details=details
            ) from None

    def dump_arguments(self, value: Any) -> dict[str, Any]:
        """The JSON form of arguments given by a caller: a model, dataclass or dict (checked
        against the argument type first, so a dict for a model is converted, not dumped with
        pydantic's serializer warnings), or the bare value of a scalar argument."""
        if value is None:
            return {}
        if not self.takes_arguments:
            if isinstance(value, dict):
                return value
            dumped = _to_json(value, None)
        elif self.scalar:
            if isinstance(value, dict):  # already {"value": ...}
                return value
            typed = self._validate(value, prefix=SCALAR_ARGUMENT)
            return {SCALAR_ARGUMENT: self._arguments.dump_python(typed, mode="json")}
        else:
            typed = value if isinstance(value, BaseModel) else self._validate(value)
            dumped = _to_json(typed, self._arguments)
        if not isinstance(dumped, dict):
            raise ValidationFailed(
                f"arguments of {self.name} must be an object (a model, dataclass or dict), "
                f"got {type(value).__name__}"
            )
        return dumped

    def dump_result(self, value: Any) -> Any:
        """The JSON form of a returned value; :class:`ValidationFailed` when it has none."""
        try:
            return self._result.dump_python(value, mode="json")
        except Exception as error:
            raise ValidationFailed(
                f"{self.name} returned a {type(value).__name__} that cannot be stored as JSON "
                f"({error}); return a pydantic model, dataclass or JSON-compatible value"
            ) from None

    def parse_result(self, value: Any) -> Any:
        """The typed form of a recorded result (what a parent's ``execute`` returns)."""
        return parse_as(self.result_type, value, what=f"the result of {self.name}")


def parse_as(type_: Any, value: Any, *, what: str) -> Any:
    """``value`` (JSON) validated as ``type_``; :class:`ValidationFailed` naming the field."""
    if type_ is Any or type_ is None:
        return value
    try:
        return TypeAdapter(type_).validate_python(value)
    except PydanticValidationError as error:
        details = validation_details(error)
        raise ValidationFailed(
            f"{what} does not match {getattr(type_, '__name__', type_)}: {_describe(details)}",
            details=details,
        ) from None


def _to_json(value: Any, adapter: TypeAdapter[Any] | None) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if adapter is not None:
        try:
            return adapter.dump_python(value, mode="json")
        except Exception:
            pass
    return TypeAdapter(type(value)).dump_python(value, mode="json")


def define(
    fn: Callable[..., Any],
    name: str | None = None,
    *,
    display_name: str | None = None,
    description: str | None = None,
    hidden: bool = False,
    defaults: FunctionDefaults | None = None,
    concurrency: int | None = None,
) -> FunctionDef:
    """Describe ``fn`` as a workflow and attach the description to it (so a parent can call
    ``ktx.execute(fn, ...)`` with the function object)."""
    signature = inspect.signature(fn)
    parameters = list(signature.parameters.values())
    if not parameters or len(parameters) > 2:
        raise TypeError(
            f"a workflow takes (ktx) or (ktx, args); {fn.__qualname__} takes "
            f"{len(parameters)} parameters"
        )
    hints = typing.get_type_hints(fn)
    argument = parameters[1] if len(parameters) == 2 else None
    doc = inspect.getdoc(fn)
    definition = FunctionDef(
        name=name or fn.__name__.replace("_", "-"),
        fn=fn,
        is_async=inspect.iscoroutinefunction(fn),
        takes_arguments=argument is not None,
        argument_type=hints.get(argument.name, dict[str, Any]) if argument else dict[str, Any],
        result_type=hints.get("return", Any),
        display_name=display_name,
        description=description if description is not None else doc,
        hidden=hidden,
        defaults=defaults,
        concurrency=concurrency,
    )
    setattr(fn, _ATTRIBUTE, definition)
    return definition


def function_def(fn: Any) -> FunctionDef | None:
    """The definition attached to a registered workflow function, if it is one."""
    found = getattr(fn, _ATTRIBUTE, None)
    return found if isinstance(found, FunctionDef) else None
