"""How a workflow's arguments cross JSON: dicts for models, scalar arguments."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from pydantic import BaseModel

from kontinue.sdk import ValidationFailed
from kontinue.sdk._functions import define


class BuildArgs(BaseModel):
    ref: str
    retries: int = 2


async def build(ktx: Any, args: BuildArgs) -> str:
    return args.ref


async def double(ktx: Any, n: int) -> int:
    return 2 * n


def test_a_dict_for_a_model_is_converted_without_serializer_warnings() -> None:
    definition = define(build)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic's "Expected `BuildArgs`" warning fails here
        assert definition.dump_arguments({"ref": "main"}) == {"ref": "main", "retries": 2}
    with pytest.raises(ValidationFailed, match="ref: Field required"):
        definition.dump_arguments({"branch": "main"})


def test_a_scalar_argument_travels_as_value() -> None:
    definition = define(double)
    assert definition.scalar
    assert definition.argument_schema["properties"] == {"value": {"type": "integer"}}
    assert definition.argument_schema["required"] == ["value"]
    assert definition.dump_arguments(3) == {"value": 3}
    assert definition.parse_arguments({"value": 4}) == 4
    with pytest.raises(ValidationFailed, match="value: Field required"):
        definition.parse_arguments({})
    with pytest.raises(ValidationFailed, match="value: Input should be a valid integer"):
        definition.parse_arguments({"value": "four"})
