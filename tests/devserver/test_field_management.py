"""Field management of the dev server: merge, prune, conflicts and update ownership."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kontinue.devserver.applying import MISSING, field_set, merge, prune
from kontinue.devserver.errors import ApiStatus
from kontinue.devserver.fieldsets import tree_from_paths, tree_insert, tree_unmark
from kontinue.devserver.fieldtypes import custom_type
from kontinue.devserver.managing import FieldManager, Kind, compare, manager_name

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "set",
                },
                "args": {"type": "array", "items": {"type": "string"}},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                    },
                },
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}
T = custom_type(SCHEMA)
KIND = Kind(T, {}, "x.io/v1", True, custom=True)


def _obj(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "x.io/v1",
        "kind": "Thing",
        "metadata": {"name": "t", "namespace": "n"},
        "spec": spec,
    }


def test_merge_keyed_lists_sets_and_atomic_lists() -> None:
    live = {"spec": {"ports": [{"name": "a", "port": 1}], "tags": ["x"], "args": ["1", "2"]}}
    config = {"spec": {"ports": [{"name": "b", "port": 2}], "tags": ["y"], "args": ["3"]}}
    merged = merge(live, config, T)
    assert merged["spec"]["ports"] == [{"name": "a", "port": 1}, {"name": "b", "port": 2}]
    assert merged["spec"]["tags"] == ["x", "y"]
    assert merged["spec"]["args"] == ["3"]  # atomic: replaced
    assert merge(MISSING, config, T) == config


def test_field_set_owns_leaves_items_and_atomic_nodes() -> None:
    paths = field_set({"spec": {"ports": [{"name": "a", "port": 1}], "args": ["1"]}}, T)
    assert paths == {
        ("f:spec", "f:ports", 'k:{"name":"a"}'),
        ("f:spec", "f:ports", 'k:{"name":"a"}', "f:name"),
        ("f:spec", "f:ports", 'k:{"name":"a"}', "f:port"),
        ("f:spec", "f:args"),
    }


def test_prune_removes_what_the_applier_no_longer_applies_unless_owned() -> None:
    merged = {"spec": {"size": 1, "tags": ["x", "y"]}}
    last = {("f:spec", "f:size"), ("f:spec", "f:tags", 'v:"x"'), ("f:spec", "f:tags", 'v:"y"')}
    owned = {("f:spec", "f:tags", 'v:"y"')}
    assert prune(merged, T, last, owned) == {"spec": {"tags": ["y"]}}


def test_compare_reports_added_modified_and_removed() -> None:
    changed, removed = compare(
        {"spec": {"size": 1, "tags": ["x"]}}, {"spec": {"size": 2, "args": ["a"]}}, T
    )
    assert changed == {("f:spec", "f:size"), ("f:spec", "f:args")}
    assert removed == {("f:spec", "f:tags"), ("f:spec", "f:tags", 'v:"x"')}


def test_tree_unmark_keeps_children() -> None:
    tree: dict[str, Any] = {}
    tree_insert(tree, ("f:data",))
    tree_insert(tree, ("f:data", "f:a"))
    assert tree == {"f:data": {".": {}, "f:a": {}}}
    tree_unmark(tree, ("f:data",))
    assert tree == {"f:data": {"f:a": {}}}
    tree_unmark(tree, ("f:data", "f:a"))
    assert tree == {}
    assert tree_from_paths([("f:b",), ("f:a", "f:x"), ("f:a",)]) == {
        "f:a": {".": {}, "f:x": {}},
        "f:b": {},
    }


def _entries(obj: dict[str, Any]) -> dict[str, Any]:
    return {e["manager"]: e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


def test_updates_take_fields_from_other_managers() -> None:
    obj = _obj(size=1, tags=["x"])
    FieldManager(KIND, "", "T1").create(obj, "creator")
    new = copy.deepcopy(obj)
    new["spec"]["size"] = 2
    del new["spec"]["tags"]
    FieldManager(KIND, "", "T2").update(obj, new, "editor")
    assert _entries(new) == {
        "creator": {"f:spec": {}},
        "editor": {"f:spec": {"f:size": {}}},
    }
    # nothing changed: nothing recorded, times kept
    again = copy.deepcopy(new)
    FieldManager(KIND, "", "T3").update(new, again, "third")
    assert again == new


def test_apply_conflicts_and_force() -> None:
    obj = _obj(size=1)
    FieldManager(KIND, "", "T1").create(obj, "creator")
    config = _obj(size=2, tags=["a"])
    with pytest.raises(ApiStatus) as caught:
        FieldManager(KIND, "", "T2").apply(obj, copy.deepcopy(config), "applier", False)
    assert caught.value.code == 409
    assert str(caught.value) == (
        'Apply failed with 1 conflict: conflict with "creator" using x.io/v1: .spec.size'
    )
    forced = FieldManager(KIND, "", "T2").apply(obj, copy.deepcopy(config), "applier", True)
    assert forced["spec"] == {"size": 2, "tags": ["a"]}
    assert _entries(forced)["applier"] == {"f:spec": {"f:size": {}, "f:tags": {'v:"a"': {}}}}
    assert "creator" in _entries(forced)  # still owns spec itself
    # applying less prunes what only the applier owned
    fewer = FieldManager(KIND, "", "T3").apply(forced, _obj(size=2), "applier", False)
    assert fewer["spec"] == {"size": 2}


def test_apply_refuses_managed_fields_and_bad_types() -> None:
    config = _obj(size="big")
    with pytest.raises(ApiStatus) as caught:
        FieldManager(KIND, "", "T1").apply(None, config, "m", False)
    assert caught.value.code == 500
    config = _obj(size=1)
    config["metadata"]["managedFields"] = []
    with pytest.raises(ApiStatus) as caught:
        FieldManager(KIND, "", "T1").apply(None, config, "m", False)
    assert caught.value.code == 400


def test_manager_name_from_user_agent() -> None:
    assert manager_name("", "kubectl/v1.37.0 (linux/amd64)") == "kubectl"
    assert manager_name("mine", "kubectl/v1") == "mine"
    assert manager_name("", "") == "unknown"
