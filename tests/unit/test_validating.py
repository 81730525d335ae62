"""The pure parts of kontinue.kube.validating: schema memory and decisions, public names."""

from __future__ import annotations

import orjson
import pytest

import kontinue.kube.validating
from kontinue.kube._requests import Response
from kontinue.kube.errors import Forbidden
from kontinue.kube.validating import _check_against, _identity_errors, _Schemas

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {"size": {"type": "integer"}, "mode": {"type": "string", "default": "a"}},
        }
    },
}


def test_public_names() -> None:
    assert sorted(kontinue.kube.validating.__all__) == ["SyncValidator", "Validator"]


def test_identity_errors() -> None:
    assert [(e.reason, e.field) for e in _identity_errors({"apiVersion": 1, "kind": "X"})] == [
        ("FieldValueTypeInvalid", "apiVersion"),
        ("FieldValueRequired", "metadata.name"),
    ]
    assert _identity_errors({"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}}) == []


def test_check_against_prunes_defaults_and_validates_a_copy() -> None:
    obj = {"apiVersion": "e.com/v1", "kind": "K", "metadata": {"name": "k"}, "spec": {"x": 1}}
    errors = _check_against(obj, SCHEMA)
    assert [e.message() for e in errors] == [
        "spec.x: Forbidden: field not declared in schema",
        "spec.size: Required value",
    ]
    assert obj["spec"] == {"x": 1}


def test_learning_crds() -> None:
    schemas = _Schemas()
    schemas.learn_crds(
        [
            {
                "spec": {
                    "group": "e.com",
                    "names": {"kind": "K"},
                    "versions": [
                        {"name": "v1", "served": True, "schema": {"openAPIV3Schema": SCHEMA}},
                        {"name": "v2", "served": False},
                        {"name": "v3", "served": True},
                    ],
                }
            }
        ]
    )
    assert schemas.cached("e.com/v1", "K") == (True, SCHEMA)
    assert schemas.cached("e.com/v2", "K") == (False, None)
    known, anything = schemas.cached("e.com/v3", "K")
    assert known and anything is not None and _check_against({"spec": {"z": 1}}, anything) == []
    [error] = schemas.unknown("e.com/v2", "K")
    assert error.message() == (
        'apiVersion: Unsupported value: "e.com/v2": supported values: "e.com/v1", "e.com/v3"'
    )
    assert not _Schemas.may_be_custom("apps/v1") and not _Schemas.may_be_custom("v1")
    assert _Schemas.may_be_custom("e.com/v1")


def test_discovery_decides_builtin_or_unknown() -> None:
    schemas = _Schemas()
    document = {"resources": [{"name": "things", "kind": "Thing"}, {"name": "things/status"}]}
    assert schemas.discovered("x.io/v1", "Thing", Response(200, {}, orjson.dumps(document))) == []
    assert schemas.cached("x.io/v1", "Thing") == (True, None)
    [missing] = schemas.discovered("x.io/v1", "Other", Response(200, {}, orjson.dumps(document)))
    assert (missing.reason, missing.field) == ("FieldValueNotFound", "kind")
    [gone] = schemas.discovered("y.io/v1", "Thing", Response(404, {}, b""))
    assert gone.field == "kind"
    with pytest.raises(Forbidden):
        schemas.discovered("y.io/v1", "Thing", Response(403, {}, b"no"))
