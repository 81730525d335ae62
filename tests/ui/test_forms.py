"""Forms generated from JSON Schemas: the fields a page shows, and the value read back."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from kontinue.api import with_property_order
from kontinue.ui.forms import FormField, FormProblem, form_fields, read_form


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Place(BaseModel):
    city: str = Field(description="Where")
    floor: int = 0


class Request(BaseModel):
    name: str = Field(description="Who asks", min_length=2, pattern="^[a-z]+$")
    count: int = Field(default=3, ge=1, le=10)
    ratio: float = 0.5
    size: Literal["s", "m"] = "s"
    color: Color | None = None
    urgent: bool = False
    notify: bool | None = None
    tags: list[str] = Field(default_factory=list)
    place: Place | None = None
    home: Place


SCHEMA = with_property_order(Request.model_json_schema())


def by_path(fields: list[FormField]) -> dict[str, FormField]:
    found: dict[str, FormField] = {}
    for each in fields:
        found[each.path] = each
        found.update(by_path(each.children))
    return found


def submitted(**values: str | list[str]) -> Callable[[str], list[str]]:
    table = {k.replace("__", "."): v for k, v in values.items()}
    return lambda key: (lambda v: v if isinstance(v, list) else [v])(table.get(key, []))


def test_fields_follow_the_schema_types_defaults_enums_and_nesting() -> None:
    fields = by_path(form_fields(SCHEMA, "args"))
    assert [f.key for f in form_fields(SCHEMA, "args")] == list(Request.model_fields)
    name = fields["args.name"]
    assert (name.widget, name.required, name.description) == ("text", True, "Who asks")
    assert name.attrs == {"minlength": "2", "pattern": "^[a-z]+$"}
    count = fields["args.count"]
    assert (count.widget, count.required, count.text) == ("integer", False, "3")
    assert count.attrs == {"min": "1", "max": "10", "step": "1"}
    assert fields["args.ratio"].attrs == {"step": "any"}
    size = fields["args.size"]
    assert size.widget == "select" and size.text == '"s"'
    assert [label for _, label in size.choices] == ["(default: s)", "s", "m"]
    color = fields["args.color"]  # an Enum behind a $ref, optional
    assert color.widget == "select" and [v for v, _ in color.choices] == ["", '"red"', '"blue"']
    assert fields["args.urgent"].widget == "checkbox"
    assert fields["args.notify"].widget == "tristate"  # no default: unset, true or false
    assert fields["args.tags"].widget == "json"
    assert fields["args.home"].widget == "group" and fields["args.home.city"].required
    # An optional object's fields are not required, and its defaults are not sent for it.
    place = fields["args.place.floor"]
    assert not fields["args.place.city"].required
    assert place.text == "" and place.attrs["placeholder"] == "0"


def test_a_form_reads_back_as_json_of_the_schemas_types() -> None:
    value, problems = read_form(
        SCHEMA,
        "args",
        submitted(
            args__name="ana",
            args__count="4",
            args__ratio="0.25",
            args__size='"m"',
            args__urgent=["false", "true"],  # the hidden false, then the ticked box
            args__notify="",
            args__tags='["a", "b"]',
            args__home__city="Lyon",
            args__place__city="",
        ),
    )
    assert problems == []
    assert value == {
        "name": "ana",
        "count": 4,
        "ratio": 0.25,
        "size": "m",
        "urgent": True,
        "tags": ["a", "b"],
        "home": {"city": "Lyon"},
    }


def test_problems_name_each_field_that_does_not_fit() -> None:
    _, problems = read_form(
        SCHEMA, "args", submitted(args__name="A", args__count="11", args__tags="[oops")
    )
    assert problems == [FormProblem("args.tags", "'[oops' is not valid JSON")]
    _, problems = read_form(SCHEMA, "args", submitted(args__name="A", args__count="11"))
    paths = {p.path for p in problems}
    assert paths == {"args.name", "args.count", "args.home"}
    _, problems = read_form(SCHEMA, "args", submitted(args__count="x"))
    assert problems == [FormProblem("args.count", "'x' is not a whole number")]


def test_submitted_texts_and_problems_are_shown_again() -> None:
    problems = [FormProblem("args.count", "11 is greater than the maximum of 10")]
    fields = by_path(form_fields(SCHEMA, "args", {"args.count": "11"}, problems))
    assert fields["args.count"].text == "11"
    assert fields["args.count"].error == "11 is greater than the maximum of 10"


def test_a_schema_without_properties_has_no_fields() -> None:
    assert form_fields({}, "data") == []
    assert read_form(None, "data", submitted()) == ({}, [])
