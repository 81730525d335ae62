"""CRD structural schemas are pruned, defaulted, validated and checked like kube-apiserver does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kontinue.kube.schema import (
    FieldError,
    Unchanged,
    apply_defaults,
    check_structural,
    format_invalid_message,
    prune,
    validate,
    validate_status,
)

JSON = dict[str, Any]


def root(spec: JSON, **extra: Any) -> JSON:
    """A CRD root schema whose ``spec`` is ``spec``."""
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
        },
        **extra,
    }


def obj(spec: Any) -> JSON:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": spec,
    }


def messages(x_schema: JSON, value: Any) -> list[str]:
    """Validation messages of ``spec.x = value`` against ``x_schema``."""
    schema = root({"type": "object", "properties": {"x": x_schema}})
    return [e.message() for e in validate(obj({"x": value}), schema)]


# -- FieldError and messages -------------------------------------------------------------------


def test_field_error_messages_follow_field_error_error() -> None:
    type_error = FieldError(
        "FieldValueTypeInvalid",
        "spec.replicas",
        'spec.replicas in body must be of type integer: "string"',
        "string",
    )
    assert type_error.message() == (
        'spec.replicas: Invalid value: "string": '
        'spec.replicas in body must be of type integer: "string"'
    )
    assert FieldError("FieldValueRequired", "spec.function").message() == (
        "spec.function: Required value"
    )
    unsupported = FieldError("FieldValueNotSupported", "spec.mode", 'supported values: "a"', "x")
    assert unsupported.message() == 'spec.mode: Unsupported value: "x": supported values: "a"'
    assert FieldError("FieldValueForbidden", "spec.a", "nope", 5).message() == (
        "spec.a: Forbidden: nope"
    )
    assert FieldError("FieldValueTooLong", "spec.a", "value is too long", "abc").message() == (
        "spec.a: Too long: value is too long"
    )
    assert FieldError("FieldValueTooMany", "spec.a", "has too many items", 3).message() == (
        "spec.a: Too many: 3: has too many items"
    )
    assert FieldError("FieldValueDuplicate", "spec.a[1]", "", {"name": "a"}).message() == (
        'spec.a[1]: Duplicate value: map[string]interface {}{"name":"a"}'
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('a"b\n', '"a\\"b\\n"'),
        (None, '"null"'),
        (True, "true"),
        (False, "false"),
        (11, "11"),
        (3.0, "3"),
        (2.5, "2.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (0.00001, "1e-05"),
        ([1, "a", None], '[]interface {}{1, "a", interface {}(nil)}'),
        ({"b": 1, "a": [2.5]}, 'map[string]interface {}{"a":[]interface {}{2.5}, "b":1}'),
    ],
)
def test_bad_values_are_formatted_like_go(value: object, shown: str) -> None:
    assert (
        FieldError("FieldValueInvalid", "f", "d", value).message()
        == f"f: Invalid value: {shown}: d"
    )


def test_cause_is_the_message_without_the_field() -> None:
    error = FieldError("FieldValueInvalid", "spec.count", "too big", 11)
    assert error.cause() == {
        "reason": "FieldValueInvalid",
        "message": "Invalid value: 11: too big",
        "field": "spec.count",
    }


def test_invalid_status_message() -> None:
    a = FieldError("FieldValueRequired", "spec.a")
    b = FieldError("FieldValueInvalid", "spec.b", "bad", 1)
    assert format_invalid_message("Widget.example.com", "w1", [a]) == (
        'Widget.example.com "w1" is invalid: spec.a: Required value'
    )
    assert format_invalid_message("Widget.example.com", "w1", [a, b, a]) == (
        'Widget.example.com "w1" is invalid: '
        "[spec.a: Required value, spec.b: Invalid value: 1: bad]"
    )
    assert format_invalid_message("Widget", 'we"ird', []) == 'Widget "we\\"ird" is invalid'


# -- validation: one failing and one passing case per keyword ----------------------------------

CASES: list[tuple[str, JSON, Any, list[str], Any]] = [
    (
        "type integer",
        {"type": "integer"},
        "string",
        ['spec.x: Invalid value: "string": spec.x in body must be of type integer: "string"'],
        3,
    ),
    (
        "integer rejects fractions",
        {"type": "integer"},
        3.5,
        ['spec.x: Invalid value: "number": spec.x in body must be of type integer: "number"'],
        3.0,
    ),
    (
        "type number",
        {"type": "number"},
        "1",
        ['spec.x: Invalid value: "string": spec.x in body must be of type number: "string"'],
        1,
    ),
    (
        "type string",
        {"type": "string"},
        1,
        ['spec.x: Invalid value: "integer": spec.x in body must be of type string: "integer"'],
        "a",
    ),
    (
        "type boolean",
        {"type": "boolean"},
        "true",
        ['spec.x: Invalid value: "string": spec.x in body must be of type boolean: "string"'],
        False,
    ),
    (
        "type array",
        {"type": "array", "items": {"type": "string"}},
        {},
        ['spec.x: Invalid value: "object": spec.x in body must be of type array: "object"'],
        [],
    ),
    (
        "type object",
        {"type": "object"},
        [],
        ['spec.x: Invalid value: "array": spec.x in body must be of type object: "array"'],
        {},
    ),
    (
        "null is not a string",
        {"type": "string"},
        None,
        ['spec.x: Invalid value: "null": spec.x in body must be of type string: "null"'],
        "",
    ),
    (
        "nullable",
        {"type": "string", "nullable": True},
        1,
        ['spec.x: Invalid value: "integer": spec.x in body must be of type string: "integer"'],
        None,
    ),
    (
        "enum",
        {"type": "string", "enum": ["a", "b"]},
        "x",
        ['spec.x: Unsupported value: "x": supported values: "a", "b"'],
        "b",
    ),
    (
        "enum of numbers",
        {"type": "integer", "enum": [1, 2.5]},
        3,
        ['spec.x: Unsupported value: 3: supported values: "1", "2.5"'],
        1,
    ),
    (
        "required",
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
        {},
        ["spec.x.a: Required value"],
        {"a": ""},
    ),
    (
        "properties",
        {"type": "object", "properties": {"a": {"type": "integer"}}},
        {"a": True},
        ['spec.x.a: Invalid value: "boolean": spec.x.a in body must be of type integer: "boolean"'],
        {"a": 1},
    ),
    (
        "additionalProperties schema",
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"k": "v"},
        ['spec.x.k: Invalid value: "string": spec.x.k in body must be of type integer: "string"'],
        {"k": 1},
    ),
    (
        "additionalProperties false",
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        {"a": 1, "b": 2},
        ['spec.x: Invalid value: "b": spec.x.b in body is a forbidden property'],
        {"a": 1},
    ),
    (
        "items",
        {"type": "array", "items": {"type": "string"}},
        ["a", 1],
        [
            'spec.x[1]: Invalid value: "integer": '
            'spec.x[1] in body must be of type string: "integer"'
        ],
        ["a"],
    ),
    (
        "minimum",
        {"type": "integer", "minimum": 5},
        4,
        ["spec.x: Invalid value: 4: spec.x in body should be greater than or equal to 5"],
        5,
    ),
    (
        "exclusiveMinimum",
        {"type": "integer", "minimum": 5, "exclusiveMinimum": True},
        5,
        ["spec.x: Invalid value: 5: spec.x in body should be greater than 5"],
        6,
    ),
    (
        "maximum",
        {"type": "integer", "maximum": 10},
        11,
        ["spec.x: Invalid value: 11: spec.x in body should be less than or equal to 10"],
        10,
    ),
    (
        "exclusiveMaximum",
        {"type": "number", "maximum": 10, "exclusiveMaximum": True},
        10.0,
        ["spec.x: Invalid value: 10: spec.x in body should be less than 10"],
        9.5,
    ),
    (
        "float minimum",
        {"type": "number", "minimum": 1.5},
        1.0,
        ["spec.x: Invalid value: 1: spec.x in body should be greater than or equal to 1.5"],
        1.5,
    ),
    (
        "multipleOf",
        {"type": "integer", "multipleOf": 5},
        7,
        ["spec.x: Invalid value: 7: spec.x in body should be a multiple of 5"],
        -10,
    ),
    (
        "fractional multipleOf",
        {"type": "number", "multipleOf": 0.1},
        0.35,
        ["spec.x: Invalid value: 0.35: spec.x in body should be a multiple of 0.1"],
        0.3,
    ),
    (
        "minLength",
        {"type": "string", "minLength": 1},
        "",
        ['spec.x: Invalid value: "": spec.x in body should be at least 1 chars long'],
        "a",
    ),
    (
        "maxLength counts characters",
        {"type": "string", "maxLength": 3},
        "abcd",
        ["spec.x: Too long: value is too long"],
        "äöü",
    ),
    (
        "pattern",
        {"type": "string", "pattern": "^[a-z]+$"},
        "ABC",
        ["spec.x: Invalid value: \"ABC\": spec.x in body should match '^[a-z]+$'"],
        "abc",
    ),
    (
        "pattern $ is the end of text",
        {"type": "string", "pattern": "^[a-z]+$"},
        "abc\n",
        ["spec.x: Invalid value: \"abc\\n\": spec.x in body should match '^[a-z]+$'"],
        "abc",
    ),
    (
        "pattern is unanchored",
        {"type": "string", "pattern": "[[:digit:]]"},
        "abc",
        ["spec.x: Invalid value: \"abc\": spec.x in body should match '[[:digit:]]'"],
        "a1c",
    ),
    (
        "format date-time",
        {"type": "string", "format": "date-time"},
        "2024-01-02 03:04:05",
        [
            'spec.x: Invalid value: "2024-01-02 03:04:05": '
            'spec.x in body must be of type date-time: "2024-01-02 03:04:05"'
        ],
        "2024-01-02T03:04:05.123+02:00",
    ),
    (
        "format date",
        {"type": "string", "format": "date"},
        "2023-02-29",
        ['spec.x: Invalid value: "2023-02-29": spec.x in body must be of type date: "2023-02-29"'],
        "2024-02-29",
    ),
    (
        "format byte",
        {"type": "string", "format": "byte"},
        "abc",
        ['spec.x: Invalid value: "abc": spec.x in body must be of type byte: "abc"'],
        "YWJj",
    ),
    (
        "format uuid",
        {"type": "string", "format": "uuid"},
        "1234",
        ['spec.x: Invalid value: "1234": spec.x in body must be of type uuid: "1234"'],
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    (
        "format email",
        {"type": "string", "format": "email"},
        "nobody",
        ['spec.x: Invalid value: "nobody": spec.x in body must be of type email: "nobody"'],
        "a@example.com",
    ),
    (
        "format ipv4",
        {"type": "string", "format": "ipv4"},
        "1.2.3",
        ['spec.x: Invalid value: "1.2.3": spec.x in body must be of type ipv4: "1.2.3"'],
        "10.0.0.1",
    ),
    (
        "format on a non-string",
        {"type": "string", "format": "date"},
        5,
        ['spec.x: Invalid value: "int64": spec.x in body must be of type date: "int64"'],
        "2024-01-01",
    ),
    (
        "minItems",
        {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        [],
        ["spec.x: Invalid value: 0: spec.x in body should have at least 1 items"],
        [1],
    ),
    (
        "maxItems",
        {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
        [1, 2, 3],
        ["spec.x: Too many: 3: has too many items"],
        [1, 2],
    ),
    (
        "uniqueItems",
        {"type": "array", "items": {}, "uniqueItems": True},
        [{"a": 1}, {"a": 1}],
        ['spec.x: Invalid value: "": spec.x in body shouldn\'t contain duplicates'],
        [1, True, "1", 1.5],
    ),
    (
        "minProperties",
        {"type": "object", "minProperties": 1},
        {},
        ["spec.x: Invalid value: 0: spec.x in body should have at least 1 properties"],
        {"a": 1},
    ),
    (
        "maxProperties",
        {"type": "object", "maxProperties": 1},
        {"a": 1, "b": 2},
        ["spec.x: Too many: 2: has too many items"],
        {"a": 1},
    ),
    (
        "allOf",
        {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]},
        5,
        [
            "spec.x: Invalid value: 5: spec.x in body should be less than or equal to 3",
            '<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf)',
        ],
        2,
    ),
    (
        "anyOf",
        {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}]},
        5,
        [
            '<nil>: Invalid value: "": "spec.x" must validate at least one schema (anyOf)',
            "spec.x: Invalid value: 5: spec.x in body should be greater than or equal to 10",
        ],
        -1,
    ),
    (
        "oneOf",
        {"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]},
        5,
        [
            '<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). '
            "Found 2 valid alternatives"
        ],
        11,
    ),
    (
        "not",
        {"type": "string", "not": {"enum": ["x"]}},
        "x",
        ['<nil>: Invalid value: "": "spec.x" must not validate the schema (not)'],
        "y",
    ),
    (
        "int-or-string",
        {"x-kubernetes-int-or-string": True},
        True,
        [
            'spec.x: Invalid value: "boolean": '
            'spec.x in body must be of type integer,string: "boolean"'
        ],
        "50%",
    ),
    (
        "list-type set",
        {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        ["a", "b", "a", "a"],
        ['spec.x[2]: Duplicate value: "a"'],
        ["a", "b"],
    ),
    (
        "list-type map",
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name", "proto"],
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "proto": {"type": "string"}},
            },
        },
        [
            {"name": "a", "proto": "tcp"},
            {"name": "a", "proto": "udp"},
            {"name": "a", "proto": "tcp"},
        ],
        ['spec.x[2]: Duplicate value: {"name":"a","proto":"tcp"}'],
        [{"name": "a", "proto": "tcp"}, {"name": "a", "proto": "udp"}],
    ),
    (
        "list-type map items must be objects",
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
        [{"name": "a"}, "b"],
        [
            'spec.x[1]: Invalid value: "string": '
            'spec.x[1] in body must be of type object: "string"',
            'spec.x[1]: Invalid value: "b": must be an object for an array of list-type map',
        ],
        [{"name": "a"}, {"name": "b"}],
    ),
]


@pytest.mark.parametrize(
    ("x_schema", "bad", "expected", "good"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_validation_keyword(x_schema: JSON, bad: Any, expected: list[str], good: Any) -> None:
    assert messages(x_schema, bad) == expected
    assert messages(x_schema, good) == []


def test_validation_reasons() -> None:
    schema = root(
        {
            "type": "object",
            "required": ["need"],
            "properties": {
                "t": {"type": "integer"},
                "e": {"enum": ["a"]},
                "long": {"type": "string", "maxLength": 1},
                "many": {"type": "array", "items": {}, "maxItems": 0},
                "min": {"type": "integer", "minimum": 1},
                "need": {"type": "string"},
            },
        }
    )
    spec = {"t": "x", "e": "b", "long": "ab", "many": [1], "min": 0}
    assert [(e.reason, e.field) for e in validate(obj(spec), schema)] == [
        ("FieldValueTypeInvalid", "spec.t"),
        ("FieldValueNotSupported", "spec.e"),
        ("FieldValueTooLong", "spec.long"),
        ("FieldValueTooMany", "spec.many"),
        ("FieldValueInvalid", "spec.min"),
        ("FieldValueRequired", "spec.need"),
    ]


def test_errors_come_in_document_order_and_nested_paths_use_indexes() -> None:
    schema = root(
        {
            "type": "object",
            "properties": {
                "b": {"type": "string"},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string", "minLength": 2}},
                    },
                },
                "a": {"type": "string"},
            },
        }
    )
    spec = {"a": 1, "items": [{"name": "ok"}, {"name": "x"}, {}], "b": 2}
    assert [e.field for e in validate(obj(spec), schema)] == [
        "spec.a",
        "spec.items[1].name",
        "spec.items[2].name",
        "spec.b",
    ]


def test_root_metadata_is_only_checked_for_name() -> None:
    schema = root({"type": "object"})
    schema["properties"]["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 5}},
    }
    valid = obj({})
    valid["metadata"] = {"name": "short", "labels": {"a": "b"}, "generation": 3}
    assert validate(valid, schema) == []
    invalid = obj({})
    invalid["metadata"] = {"name": "much-too-long"}
    assert [e.message() for e in validate(invalid, schema)] == [
        "metadata.name: Too long: value is too long"
    ]


def test_unsupported_formats_and_integer_formats_are_not_enforced() -> None:
    assert messages({"type": "integer", "format": "int32"}, 2**40) == []
    assert messages({"type": "string", "format": "k8s-weird"}, "anything") == []
    assert messages({"type": "string", "format": "uri"}, "::not a uri::") == []


def test_nullable_does_not_exempt_from_enum() -> None:
    schema = {"type": "string", "nullable": True, "enum": ["a"]}
    assert messages(schema, None) == ['spec.x: Unsupported value: "null": supported values: "a"']


def test_invalid_pattern_is_reported_on_the_value() -> None:
    assert messages({"type": "string", "pattern": "(?=a)"}, "a") == [
        'spec.x: Invalid value: "a": spec.x in body should match \'(?=a), but pattern is '
        "invalid: error parsing regexp: invalid or unsupported Perl syntax: `(?=`'"
    ]


def test_min_properties_stops_nested_validation() -> None:
    schema = {"type": "object", "minProperties": 2, "properties": {"a": {"type": "string"}}}
    assert messages(schema, {"a": 1}) == [
        "spec.x: Invalid value: 1: spec.x in body should have at least 2 properties"
    ]


def test_list_map_key_defaults_to_unspecified() -> None:
    schema = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    assert messages(schema, [{}, {"name": "a"}, {}]) == ["spec.x[2]: Duplicate value: {}"]


def test_empty_schema_accepts_anything() -> None:
    assert validate(obj({"anything": [1, {"x": None}]}), {}) == []


# -- pruning -----------------------------------------------------------------------------------


def test_prune_removes_undeclared_fields_and_reports_paths() -> None:
    schema = root(
        {
            "type": "object",
            "properties": {
                "keep": {"type": "string"},
                "nested": {"type": "object", "properties": {"a": {"type": "integer"}}},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "string"}}},
                },
            },
        }
    )
    data = obj(
        {
            "keep": "x",
            "foo": 1,
            "nested": {"a": 1, "bar": {"deep": True}},
            "items": [{"n": "a"}, {"n": "b", "bad": 1}],
        }
    )
    data["extra"] = "top"
    data["metadata"]["unknownMeta"] = "kept here"
    assert prune(data, schema) == ["extra", "spec.foo", "spec.items[1].bad", "spec.nested.bar"]
    assert data == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "unknownMeta": "kept here"},
        "spec": {"keep": "x", "nested": {"a": 1}, "items": [{"n": "a"}, {"n": "b"}]},
    }


def test_prune_keeps_type_and_object_meta_even_if_undeclared() -> None:
    data = obj({"a": 1})
    assert prune(data, {"type": "object"}) == ["spec"]
    assert data == {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}


def test_prune_additional_properties() -> None:
    schema = root(
        {
            "type": "object",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "byName": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"port": {"type": "integer"}},
                    },
                },
                "loose": {"type": "object", "additionalProperties": True},
            },
        }
    )
    data = obj(
        {
            "labels": {"a": "1", "b": "2"},
            "byName": {"web": {"port": 80, "junk": 1}},
            "loose": {"scalar": 1, "obj": {"inner": 2}},
        }
    )
    assert prune(data, schema) == ["spec.byName.web.junk", "spec.loose.obj.inner"]
    assert data["spec"] == {
        "labels": {"a": "1", "b": "2"},
        "byName": {"web": {"port": 80}},
        "loose": {"scalar": 1, "obj": {}},
    }


def test_prune_preserve_unknown_fields() -> None:
    schema = root(
        {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "typed": {"type": "object", "properties": {"a": {"type": "string"}}},
                "list": {
                    "type": "array",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "items": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {"inner": {"type": "object"}},
                    },
                },
            },
        }
    )
    data = obj(
        {
            "free": {"any": ["thing"]},
            "typed": {"a": "x", "b": "pruned"},
            "list": [{"anything": 1, "inner": {"gone": 1}}],
        }
    )
    assert prune(data, schema) == ["spec.list[0].inner.gone", "spec.typed.b"]
    assert data["spec"] == {
        "free": {"any": ["thing"]},
        "typed": {"a": "x"},
        "list": [{"anything": 1, "inner": {}}],
    }


def test_prune_embedded_resources() -> None:
    template = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    }
    schema = root({"type": "object", "properties": {"template": template}})
    embedded = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"a": "b"}},
        "spec": {"n": 1, "m": 2},
        "status": {},
    }
    data = obj({"template": copy.deepcopy(embedded)})
    assert prune(data, schema) == ["spec.template.spec.m", "spec.template.status"]
    assert data["spec"]["template"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"a": "b"}},
        "spec": {"n": 1},
    }
    # without the extension the type meta of a nested object is pruned like anything else
    del template["x-kubernetes-embedded-resource"]
    data = obj({"template": copy.deepcopy(embedded)})
    assert prune(data, schema) == [
        "spec.template.apiVersion",
        "spec.template.kind",
        "spec.template.metadata",
        "spec.template.spec.m",
        "spec.template.status",
    ]


def test_prune_arrays_without_item_schema_clear_objects() -> None:
    schema = root({"type": "object", "properties": {"list": {"type": "array"}}})
    data = obj({"list": [1, {"a": 1}]})
    assert prune(data, schema) == ["spec.list[1].a"]
    assert data["spec"]["list"] == [1, {}]


# -- defaulting --------------------------------------------------------------------------------


def test_defaults_fill_absent_fields_with_copies() -> None:
    tags_default: list[str] = ["a"]
    schema = root(
        {
            "type": "object",
            "default": {},
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "tags": {"type": "array", "items": {"type": "string"}, "default": tags_default},
                "nested": {
                    "type": "object",
                    "properties": {"mode": {"type": "string", "default": "fast"}},
                },
            },
        }
    )
    data: JSON = {"apiVersion": "v1", "kind": "W", "metadata": {}}
    apply_defaults(data, schema)
    assert data["spec"] == {"replicas": 1, "tags": ["a"]}
    data["spec"]["tags"].append("b")
    assert tags_default == ["a"]

    data = obj({"replicas": 3, "nested": {}})
    apply_defaults(data, schema)
    assert data["spec"] == {"replicas": 3, "tags": ["a"], "nested": {"mode": "fast"}}


def test_defaults_in_array_items_and_additional_properties() -> None:
    item = {"type": "object", "properties": {"port": {"type": "integer", "default": 80}}}
    schema = root(
        {
            "type": "object",
            "properties": {
                "list": {"type": "array", "items": item},
                "map": {"type": "object", "additionalProperties": item},
            },
        }
    )
    data = obj({"list": [{}, {"port": 8080}], "map": {"a": {}, "b": {"port": 1}}})
    apply_defaults(data, schema)
    assert data["spec"] == {
        "list": [{"port": 80}, {"port": 8080}],
        "map": {"a": {"port": 80}, "b": {"port": 1}},
    }


def test_defaults_and_nulls() -> None:
    schema = root(
        {
            "type": "object",
            "properties": {
                "defaulted": {"type": "string", "default": "d"},
                "dropped": {"type": "string"},
                "kept": {"type": "string", "nullable": True, "default": "d"},
                "keptNoDefault": {"type": "string", "nullable": True},
                "items": {"type": "array", "items": {"type": "string", "default": "i"}},
                "map": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    )
    data = obj(
        {
            "defaulted": None,
            "dropped": None,
            "kept": None,
            "keptNoDefault": None,
            "items": [None, "x"],
            "map": {"a": None, "b": "x"},
        }
    )
    apply_defaults(data, schema)
    assert data["spec"] == {
        "defaulted": "d",
        "kept": None,
        "keptNoDefault": None,
        "items": ["i", "x"],
        "map": {"b": "x"},
    }


def test_defaults_leave_unknown_and_present_values_alone() -> None:
    schema = root({"type": "object", "properties": {"a": {"type": "integer", "default": 1}}})
    data = obj({"a": 0, "other": {"x": None}})
    apply_defaults(data, schema)
    assert data["spec"] == {"a": 0, "other": {"x": None}}


# -- structural checks -------------------------------------------------------------------------

PATH = "spec.versions[0].schema.openAPIV3Schema"


def structural(schema: JSON) -> list[str]:
    return [e.message() for e in check_structural(schema, path=PATH)]


def test_typical_schema_is_structural() -> None:
    schema = root(
        {
            "type": "object",
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "minLength": 1},
                "replicas": {"type": "integer", "default": 1, "minimum": 0},
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "raw": {"x-kubernetes-preserve-unknown-fields": True},
                "env": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                    },
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "either": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                    "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                },
            },
        },
        status={"type": "object"},
    )
    schema["properties"]["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 63}},
    }
    assert check_structural(schema) == []


def test_root_must_be_an_object() -> None:
    assert structural({"type": "string"}) == [
        f'{PATH}.type: Invalid value: "string": must be object at the root'
    ]
    assert [e.field for e in check_structural({})] == ["openAPIV3Schema.type"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"type": "object", "properties": {"a": {"description": "untyped"}}},
            "properties[spec].properties[a].type: Required value: "
            "must not be empty for specified object fields",
        ),
        (
            {"type": "array"},
            "properties[spec].items: Required value: must be specified",
        ),
        (
            {"type": "array", "items": {}},
            "properties[spec].items.type: Required value: "
            "must not be empty for specified array items",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            },
            "properties[spec].additionalProperties: Forbidden: "
            "additionalProperties and properties are mutual exclusive",
        ),
        (
            {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "properties[spec].uniqueItems: Forbidden: "
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ),
        (
            {"type": "object", "$ref": "#/definitions/x"},
            "properties[spec].$ref: Forbidden: $ref is not supported",
        ),
        (
            {"type": "thing"},
            'properties[spec].type: Unsupported value: "thing": supported values: "array", '
            '"boolean", "integer", "number", "object", "string"',
        ),
        (
            {"type": "object", "x-kubernetes-preserve-unknown-fields": False},
            "properties[spec].x-kubernetes-preserve-unknown-fields: Invalid value: false: "
            "must be true or undefined",
        ),
        (
            {"type": "string", "x-kubernetes-list-type": "set"},
            'properties[spec].type: Invalid value: "string": '
            "must be array if x-kubernetes-list-type is specified",
        ),
        (
            {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
            "properties[spec].x-kubernetes-list-map-keys: Required value: "
            "must not be empty if x-kubernetes-list-type is map",
        ),
        (
            {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
            "properties[spec].items.properties[name].default: Required value: this property is "
            "in x-kubernetes-list-map-keys, so it must have a default or be a required property",
        ),
        (
            {"type": "object", "anyOf": [{"type": "object"}]},
            "properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
        ),
        (
            {"type": "string", "pattern": "a(?!b)"},
            'properties[spec].pattern: Invalid value: "a(?!b)": must be a valid regular '
            "expression, but isn't: error parsing regexp: invalid or unsupported Perl syntax: "
            "`(?!`",
        ),
        (
            {"type": "object", "x-kubernetes-embedded-resource": True},
            "properties[spec].properties: Required value: must not be empty if "
            "x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ),
        (
            {"type": "string", "default": 5},
            'properties[spec].default: Invalid value: "integer":  in body must be of type '
            'string: "integer"',
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"b": "x"}},
            'properties[spec].default: Invalid value: map[string]interface {}{"b":"x"}: '
            "must not have unknown fields",
        ),
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "maximum": 3}},
                "default": {"n": 4},
            },
            "properties[spec].default.n: Invalid value: 4: n in body should be less than or "
            "equal to 3",
        ),
    ],
)
def test_structural_violations(spec: JSON, expected: str) -> None:
    assert structural(root(spec)) == [f"{PATH}.{expected}"]


def test_metadata_may_only_constrain_name_and_generate_name() -> None:
    schema = root({"type": "object"})
    schema["properties"]["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "labels": {"type": "object"}},
    }
    assert structural(schema) == [
        f"{PATH}.properties[metadata]: Forbidden: must not specify anything other than name "
        "and generateName, but metadata is implicitly specified"
    ]
    schema["properties"]["metadata"] = {"type": "string", "default": {"name": "x"}}
    assert structural(schema) == [
        f"{PATH}.properties[metadata].default: Forbidden: must not be set in top-level metadata",
        f'{PATH}.properties[metadata].type: Invalid value: "string": must be object',
    ]


def test_root_rules() -> None:
    schema = {"type": "object", "nullable": True, "additionalProperties": {"type": "string"}}
    assert structural(schema) == [
        f"{PATH}.nullable: Forbidden: nullable cannot be true at the root",
        f"{PATH}.additionalProperties: Forbidden: must not be used at the root",
    ]


def test_junctor_fields_must_be_specified_structurally() -> None:
    schema = root({"type": "object"}, anyOf=[{"properties": {"spec": {"required": ["a"]}}}])
    assert structural(schema) == []
    schema = root({"type": "object"}, anyOf=[{"properties": {"other": {"minProperties": 1}}}])
    assert structural(schema) == [
        f"{PATH}.properties[other]: Required value: because it is defined in "
        f"{PATH}.anyOf[0].properties[other]"
    ]


def test_structural_errors_are_sorted_and_suppress_default_checks() -> None:
    spec = {
        "type": "object",
        "properties": {"b": {}, "a": {"type": "array"}, "c": {"type": "integer", "default": "x"}},
    }
    assert structural(root(spec)) == [
        f"{PATH}.properties[spec].properties[a].items: Required value: must be specified",
        f"{PATH}.properties[spec].properties[b].type: Required value: "
        "must not be empty for specified object fields",
    ]


_STEPS = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "steps": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"state": {"type": "string", "enum": ["Pending", "Done"]}},
            },
        },
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
    },
}


def test_an_update_is_checked_where_it_changes_the_object() -> None:
    """Like apiserver's validation ratcheting: an unchanged value stands (e.g. after the
    schema got stricter), a changed one is checked."""
    schema = root(_STEPS)
    old = obj({"steps": {"a": {"state": "Old"}}, "tags": ["long-tag"], "count": 1})
    new = copy.deepcopy(old)
    new["spec"]["steps"]["b"] = {"state": "Done"}
    assert [e.field for e in validate(new, schema)] == ["spec.steps.a.state", "spec.tags[0]"]
    assert validate(new, schema, Unchanged(new, old)) == []
    new["spec"]["steps"]["c"] = {"state": "Bad"}
    new["spec"]["tags"].append("also-long")
    assert [e.field for e in validate(new, schema, Unchanged(new, old))] == [
        "spec.steps.c.state",
        "spec.tags[1]",
    ]


def test_a_value_that_python_finds_equal_but_json_does_not_is_checked() -> None:
    """``True == 1`` in Python: a count changed from 1 to true is a change to check."""
    schema = root(_STEPS)
    old = obj({"steps": {"a": {"state": "Done"}}, "count": 1})
    new = obj({"steps": {"a": {"state": "Done"}}, "count": True})
    assert [e.field for e in validate(new, schema, Unchanged(new, old))] == ["spec.count"]
    changed = Unchanged(new["spec"], old["spec"])
    assert [e.field for e in validate(new["spec"], _STEPS, changed)] == ["count"]


def test_list_type_checks_look_at_what_an_update_changes() -> None:
    spec = {
        "type": "object",
        "properties": {
            "old": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "new": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        },
    }
    schema = root(spec)
    before = obj({"old": ["a", "a"]})  # stored before the list became a set
    after = obj({"old": ["a", "a"], "new": ["b", "b"]})
    assert [e.field for e in validate(after, schema)] == ["spec.old[1]", "spec.new[1]"]
    assert [e.field for e in validate(after, schema, Unchanged(after, before))] == ["spec.new[1]"]


def test_an_update_is_pruned_and_defaulted_where_it_changes_the_object() -> None:
    """What an update leaves as stored was pruned and defaulted then: only the changes are."""
    spec = {
        "type": "object",
        "properties": {
            "steps": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"state": {"type": "string", "default": "Pending"}},
                },
            },
        },
    }
    schema = root(spec)
    old = obj({"steps": {"a": {"legacy": 1}}})  # stored before "legacy" left the schema
    new = copy.deepcopy(old)
    new["spec"]["steps"]["b"] = {"legacy": 2}
    unchanged = Unchanged(new, old)
    assert prune(new, schema, unchanged) == ["spec.steps.b.legacy"]
    apply_defaults(new, schema, unchanged)
    assert new["spec"]["steps"] == {"a": {"legacy": 1}, "b": {"state": "Pending"}}
    fresh = copy.deepcopy(old)
    assert prune(fresh, schema) == ["spec.steps.a.legacy"]


def test_a_status_write_is_validated_against_the_status_schema() -> None:
    """kube-apiserver names the field from the root, the message from the status schema."""
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
        },
    }
    old = {"spec": {"size": "bad but stored"}, "status": {"phase": "Ready"}}
    new = {"spec": {"size": "bad but stored"}, "status": {"phase": 5}}
    errors = validate_status(new, schema, Unchanged(new, old))
    assert [(e.field, e.detail) for e in errors] == [
        ("status.phase", 'phase in body must be of type string: "integer"')
    ]
    assert validate(new, schema, Unchanged(new, old))[0].detail.startswith("status.phase in body")
