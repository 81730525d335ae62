"""The dev server's PATCH engines: RFC 7386, RFC 6902 and kube-apiserver's strategic merge."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kontinue.devserver.patching import (
    PatchError,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from kontinue.devserver.strategic import DEFAULT_MERGE_KEYS, default_merge_keys

# -- RFC 7386 JSON merge patch -----------------------------------------------------------------

# The examples of RFC 7386, appendix A.
RFC7386_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_EXAMPLES)
def test_merge_patch_rfc7386_examples(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


def test_merge_patch_does_not_mutate_or_alias_inputs() -> None:
    target = {"metadata": {"labels": {"a": "1"}}, "spec": {"x": [1]}}
    patch = {"metadata": {"labels": {"a": None, "b": "2"}}, "spec": {"y": {"z": [1]}}}
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    result = merge_patch(target, patch)
    assert result == {"metadata": {"labels": {"b": "2"}}, "spec": {"x": [1], "y": {"z": [1]}}}
    result["spec"]["y"]["z"].append(2)
    result["spec"]["x"].append(2)
    assert target == before_target
    assert patch == before_patch


# -- RFC 6902 JSON patch -----------------------------------------------------------------------

DOC: dict[str, Any] = {"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3]}}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        (
            [{"op": "add", "path": "/metadata/labels/b", "value": "2"}],
            {**DOC, "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}},
        ),
        (
            [{"op": "add", "path": "/spec/list/-", "value": 4}],
            {**DOC, "spec": {"list": [1, 2, 3, 4]}},
        ),
        (
            [{"op": "add", "path": "/spec/list/0", "value": 0}],
            {**DOC, "spec": {"list": [0, 1, 2, 3]}},
        ),
        ([{"op": "remove", "path": "/spec/list/1"}], {**DOC, "spec": {"list": [1, 3]}}),
        ([{"op": "replace", "path": "/metadata/name", "value": "y"}], None),
        ([{"op": "move", "from": "/spec/list", "path": "/list"}], None),
        ([{"op": "copy", "from": "/metadata/labels", "path": "/labels"}], None),
        ([{"op": "test", "path": "/metadata/labels/a", "value": "1"}], DOC),
        ([{"op": "add", "path": "", "value": {"new": True}}], {"new": True}),
        ([], DOC),
    ],
)
def test_json_patch_operations(operations: list[dict[str, Any]], expected: Any) -> None:
    result = json_patch(DOC, operations)
    if expected is None:
        op = operations[0]
        if op["op"] == "replace":
            assert result["metadata"]["name"] == "y"
        elif op["op"] == "move":
            assert result["list"] == [1, 2, 3] and result["spec"] == {}
        else:
            assert result["labels"] == {"a": "1"} and result["metadata"]["labels"] == {"a": "1"}
    else:
        assert result == expected


def test_json_patch_applies_operations_in_sequence() -> None:
    result = json_patch(
        {"a": {"b": [1]}},
        [
            {"op": "test", "path": "/a/b", "value": [1]},
            {"op": "add", "path": "/a/b/-", "value": 2},
            {"op": "copy", "from": "/a/b", "path": "/c"},
            {"op": "add", "path": "/c/-", "value": 3},
            {"op": "move", "from": "/a", "path": "/d"},
            {"op": "remove", "path": "/d/b/0"},
        ],
    )
    assert result == {"c": [1, 2, 3], "d": {"b": [2]}}


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ({"op": "add"}, "must be a JSON array"),
        (["add"], "operation 0: must be an object"),
        ([{"op": "remove", "path": "/nope"}], "operation 0 (remove /nope)"),
        ([{"op": "add", "path": "/x/y", "value": 1}], "operation 0 (add /x/y)"),
        ([{"op": "replace", "path": "/missing", "value": 1}], "operation 0 (replace /missing)"),
        ([{"op": "add", "path": "/spec/list/9", "value": 1}], "outside of list"),
        ([{"op": "move", "from": "/nope", "path": "/x"}], "operation 0 (move /x)"),
        ([{"op": "copy", "path": "/x"}], "'from'"),
        ([{"op": "add", "path": "/a"}], "'value'"),
        ([{"op": "bogus", "path": "/a"}], "Unknown operation 'bogus'"),
        ([{"path": "/a"}], "'op'"),
        ([{"op": "add", "path": "no-slash", "value": 1}], "operation 0 (add no-slash)"),
        ([{"op": "remove", "path": "/spec/list/x"}], "not a valid sequence index"),
        (
            [
                {"op": "add", "path": "/ok", "value": 1},
                {"op": "remove", "path": "/metadata/missing"},
            ],
            "operation 1 (remove /metadata/missing)",
        ),
    ],
)
def test_json_patch_errors_name_the_operation(operations: Any, message: str) -> None:
    with pytest.raises(PatchError) as caught:
        json_patch(DOC, operations)
    assert message in str(caught.value)


def test_json_patch_failing_test_operation_is_an_error() -> None:
    with pytest.raises(PatchError, match=r"operation 1 \(test /metadata/name\): test failed"):
        json_patch(
            DOC,
            [
                {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
                {"op": "test", "path": "/metadata/name", "value": "other"},
            ],
        )
    with pytest.raises(PatchError, match="test failed"):
        json_patch({"n": 1}, [{"op": "test", "path": "/n", "value": True}])
    with pytest.raises(PatchError, match="test failed"):
        json_patch({}, [{"op": "test", "path": "/absent", "value": None}])


def test_json_patch_never_mutates_the_target_or_the_operations() -> None:
    target = copy.deepcopy(DOC)
    operations = [
        {"op": "add", "path": "/spec/obj", "value": {"k": ["v"]}},
        {"op": "add", "path": "/spec/list/-", "value": 9},
        {"op": "remove", "path": "/metadata/nope"},
    ]
    before = copy.deepcopy(operations)
    with pytest.raises(PatchError):
        json_patch(target, operations)
    assert target == DOC
    result = json_patch(target, operations[:1])
    result["spec"]["obj"]["k"].append("w")
    assert operations == before
    assert target == DOC


# -- strategic merge patch: maps and replaced lists -------------------------------------------


def smp(target: dict[str, Any], patch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Apply and check that neither input was touched."""
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    result = strategic_merge_patch(target, patch, **kwargs)
    assert target == before_target
    assert patch == before_patch
    return result


def test_smp_merges_maps_and_deletes_with_null() -> None:
    target = {"metadata": {"labels": {"a": "1", "b": "2"}, "name": "p"}, "data": {"k": "v"}}
    patch = {"metadata": {"labels": {"a": None, "c": "3"}}, "data": None, "x": {"y": None}}
    assert smp(target, patch) == {
        "metadata": {"labels": {"b": "2", "c": "3"}, "name": "p"},
        "x": {},
    }


def test_smp_replaces_scalars_and_changes_of_type() -> None:
    target = {"a": 1, "b": {"c": 1}, "c": [1], "d": "s"}
    patch = {"a": "one", "b": [1], "c": {"x": None, "y": 1}, "d": {"e": 1}}
    assert smp(target, patch) == {"a": "one", "b": [1], "c": {"y": 1}, "d": {"e": 1}}


def test_smp_replaces_lists_without_a_merge_strategy() -> None:
    target = {"spec": {"containers": [{"name": "a", "args": ["x", "y"], "command": ["sh"]}]}}
    patch = {"spec": {"containers": [{"name": "a", "args": ["z"]}], "tolerations": [{"k": 1}]}}
    result = smp(target, patch)
    assert result["spec"]["containers"] == [{"name": "a", "args": ["z"], "command": ["sh"]}]
    assert result["spec"]["tolerations"] == [{"k": 1}]


def test_smp_rejects_non_objects() -> None:
    with pytest.raises(PatchError, match="must be a JSON object"):
        strategic_merge_patch({}, [])  # type: ignore[arg-type]
    with pytest.raises(PatchError, match="must be a JSON object"):
        strategic_merge_patch([], {})  # type: ignore[arg-type]


# -- strategic merge patch: merge keys ---------------------------------------------------------

POD: dict[str, Any] = {
    "metadata": {
        "name": "web",
        "finalizers": ["a/one", "b/two"],
        "ownerReferences": [{"uid": "u1", "kind": "Job", "name": "j"}],
    },
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80, "name": "http"}],
                "volumeMounts": [{"mountPath": "/data", "name": "data"}],
                "volumeDevices": [{"devicePath": "/dev/x", "name": "blk"}],
            },
            {"name": "sidecar", "image": "side:1"},
        ],
        "initContainers": [{"name": "init", "image": "init:1"}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "regcred"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 1}],
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "False"},
        ],
    },
}


def test_smp_merges_containers_env_ports_and_mounts_by_key() -> None:
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "app:2",
                    "env": [{"name": "B", "value": "two"}],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                    "volumeDevices": [{"devicePath": "/dev/x", "name": "blk2"}],
                }
            ]
        }
    }
    result = smp(POD, patch)
    app, sidecar = result["spec"]["containers"]
    assert sidecar == {"name": "sidecar", "image": "side:1"}
    assert app["image"] == "app:2"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "two"}]
    assert app["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert app["volumeMounts"] == [{"mountPath": "/data", "name": "data", "readOnly": True}]
    assert app["volumeDevices"] == [{"devicePath": "/dev/x", "name": "blk2"}]


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        (
            {"spec": {"initContainers": [{"name": "init", "image": "init:2"}]}},
            ("spec", "initContainers"),
            [{"name": "init", "image": "init:2"}],
        ),
        (
            {"spec": {"volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}]}},
            ("spec", "volumes"),
            [{"name": "data", "emptyDir": {"medium": "Memory"}}],
        ),
        (
            {"spec": {"imagePullSecrets": [{"name": "other"}]}},
            ("spec", "imagePullSecrets"),
            [{"name": "other"}, {"name": "regcred"}],
        ),
        (
            {"spec": {"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}]}},
            ("spec", "hostAliases"),
            [{"ip": "10.0.0.1", "hostnames": ["b"]}],
        ),
        (
            {"spec": {"topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}]}},
            ("spec", "topologySpreadConstraints"),
            [{"topologyKey": "zone", "maxSkew": 2}],
        ),
        (
            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            ("status", "conditions"),
            [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
        ),
        (
            {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]}},
            ("metadata", "ownerReferences"),
            [{"uid": "u1", "kind": "Job", "name": "j", "controller": True}],
        ),
        (
            {"metadata": {"finalizers": ["c/three", "a/one"]}},
            ("metadata", "finalizers"),
            ["c/three", "a/one", "b/two"],  # new items first, then live order
        ),
    ],
)
def test_smp_merge_keys_of_the_builtin_kinds(
    patch: dict[str, Any], path: tuple[str, ...], expected: Any
) -> None:
    result: Any = smp(POD, patch)
    for key in path:
        result = result[key]
    assert result == expected


def test_smp_new_elements_go_first_without_set_element_order() -> None:
    # kube-apiserver puts patch items that are new to the list before the live ones.
    result = smp(POD, {"status": {"conditions": [{"type": "Initialized", "status": "True"}]}})
    assert [c["type"] for c in result["status"]["conditions"]] == [
        "Initialized",
        "PodScheduled",
        "Ready",
    ]
    # ...but after the live items that precede a patched one, and in the patch's order.
    result = smp(
        POD,
        {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "New"}]}},
    )
    assert [c["type"] for c in result["status"]["conditions"]] == ["PodScheduled", "Ready", "New"]


def test_smp_primitive_set_lists_dedupe() -> None:
    result = smp({"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["b", "b"]}})
    assert result["metadata"]["finalizers"] == ["a", "b"]
    result = smp({"metadata": {}}, {"metadata": {"finalizers": ["x"]}})
    assert result["metadata"]["finalizers"] == ["x"]


def test_smp_service_account_secrets_merge_but_pull_secrets_replace() -> None:
    account = {"secrets": [{"name": "t1"}], "imagePullSecrets": [{"name": "p1"}]}
    patch = {"secrets": [{"name": "t2"}], "imagePullSecrets": [{"name": "p2"}]}
    assert smp(account, patch) == {
        "secrets": [{"name": "t2"}, {"name": "t1"}],
        "imagePullSecrets": [{"name": "p2"}],
    }


def test_smp_job_pod_template_lists_merge() -> None:
    job = {
        "spec": {
            "template": {
                "metadata": {"finalizers": ["f"]},
                "spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}]}]},
            }
        }
    }
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "2"}]}]}
            }
        }
    }
    result = smp(job, patch)
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "c", "env": [{"name": "A", "value": "2"}]}


def test_smp_missing_merge_key_is_an_error() -> None:
    with pytest.raises(PatchError, match=r"spec\.containers: .*declared merge key: name"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "x"}]}})


def test_smp_mixed_element_types_are_an_error() -> None:
    with pytest.raises(PatchError, match=r"metadata\.finalizers: list element types"):
        strategic_merge_patch(POD, {"metadata": {"finalizers": [1]}})
    with pytest.raises(PatchError, match="lists of lists"):
        strategic_merge_patch(POD, {"metadata": {"finalizers": [["a"]]}})


# -- strategic merge patch: directives ---------------------------------------------------------


def test_patch_replace_on_a_map() -> None:
    target = {"spec": {"selector": {"a": "1", "b": "2"}, "keep": 1}}
    patch = {"spec": {"selector": {"$patch": "replace", "c": "3", "d": None}}}
    assert smp(target, patch) == {"spec": {"selector": {"c": "3"}, "keep": 1}}
    assert smp({"a": 1, "b": 2}, {"$patch": "replace", "c": 3}) == {"c": 3}
    assert smp({"a": 1}, {"$patch": "replace"}) == {}


def test_patch_replace_inside_a_merged_list() -> None:
    patch = {"spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}}
    result = smp(POD, patch)
    assert result["spec"]["containers"] == [{"name": "only", "image": "x"}]
    result = smp(POD, {"metadata": {"finalizers": [{"$patch": "replace"}, "z"]}})
    assert result["metadata"]["finalizers"] == ["z"]
    result = smp(POD, {"spec": {"volumes": [{"$patch": "replace"}]}})
    assert result["spec"]["volumes"] == []


def test_patch_delete_on_elements_by_merge_key() -> None:
    patch = {
        "spec": {
            "containers": [
                {"name": "sidecar", "$patch": "delete"},
                {"name": "app", "env": [{"name": "A", "$patch": "delete"}]},
            ]
        }
    }
    result = smp(POD, patch)
    assert [c["name"] for c in result["spec"]["containers"]] == ["app"]
    assert result["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]
    duplicates = {"l": [{"k": 1}, {"k": 1}, {"k": 2}]}
    keys = {"merge_keys": lambda path: "k" if path == ("l",) else None}
    assert smp(duplicates, {"l": [{"k": 1, "$patch": "delete"}]}, **keys) == {"l": [{"k": 2}]}
    with pytest.raises(PatchError, match="does not contain declared merge key: name"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"$patch": "delete"}]}})


def test_patch_delete_on_a_map_removes_it() -> None:
    target = {"spec": {"securityContext": {"runAsUser": 1}, "other": 1}}
    assert smp(target, {"spec": {"securityContext": {"$patch": "delete"}}}) == {
        "spec": {"other": 1}
    }
    assert smp(target, {"spec": {"absent": {"$patch": "delete"}}}) == target
    assert smp(target, {"$patch": "delete"}) == {}


def test_patch_merge_is_the_explicit_default() -> None:
    target = {"spec": {"a": 1, "b": 2}}
    assert smp(target, {"spec": {"$patch": "merge", "b": 3}}) == {"spec": {"a": 1, "b": 3}}
    patch = {"spec": {"containers": [{"name": "app", "$patch": "merge", "image": "app:3"}]}}
    assert smp(POD, patch)["spec"]["containers"][0]["image"] == "app:3"


def test_unknown_patch_directive_is_an_error() -> None:
    with pytest.raises(PatchError, match="spec: unknown patch type: 'explode'"):
        strategic_merge_patch({"spec": {}}, {"spec": {"$patch": "explode"}})
    with pytest.raises(PatchError, match="unknown patch type"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"name": "a", "$patch": "x"}]}})


def test_delete_from_primitive_list() -> None:
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/one", "zzz"]}}
    assert smp(POD, patch)["metadata"]["finalizers"] == ["b/two"]
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b/two"], "finalizers": ["c"]}}
    assert smp(POD, patch)["metadata"]["finalizers"] == ["c", "a/one"]
    # Works on lists that do not merge too, and never creates the list.
    assert smp({"args": [1, 2, 3]}, {"$deleteFromPrimitiveList/args": [2]}) == {"args": [1, 3]}
    assert smp({}, {"$deleteFromPrimitiveList/args": [2]}) == {}
    with pytest.raises(PatchError, match="invalid patch format of primitive list"):
        strategic_merge_patch({}, {"$deleteFromPrimitiveListX/args": [2]})
    with pytest.raises(PatchError, match="invalid patch format of primitive list"):
        strategic_merge_patch({"args": [1]}, {"$deleteFromPrimitiveList/args": 1})


def test_retain_keys_clears_unlisted_fields() -> None:
    # kubectl switching a volume from emptyDir to a configMap source.
    patch: dict[str, Any] = {
        "spec": {
            "volumes": [
                {"name": "data", "$retainKeys": ["configMap", "name"], "configMap": {"name": "c"}}
            ]
        }
    }
    assert smp(POD, patch)["spec"]["volumes"] == [{"name": "data", "configMap": {"name": "c"}}]
    target = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}
    patch = {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}
    assert smp(target, patch) == {"strategy": {"type": "Recreate"}}
    with pytest.raises(PatchError, match="retainKeys"):
        strategic_merge_patch(target, {"strategy": {"$retainKeys": ["type"], "other": 1}})
    with pytest.raises(PatchError, match="retainKeys"):
        strategic_merge_patch(target, {"strategy": {"$retainKeys": "type"}})


def test_set_element_order_orders_the_merged_list() -> None:
    target = {"l": [{"k": 1}, {"k": 3, "v": 3}, {"k": 4, "v": 4}, {"k": 2, "v": 2}, {"k": 9}]}
    patch = {"$setElementOrder/l": [{"k": 4}, {"k": 2}, {"k": 3}, {"k": 1}]}
    result = smp(target, patch, merge_keys=lambda path: "k" if path == ("l",) else None)
    assert [item["k"] for item in result["l"]] == [4, 2, 3, 1, 9]  # server-only items last
    assert result["l"][0] == {"k": 4, "v": 4}


def test_set_element_order_places_new_items() -> None:
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "log"}, {"name": "sidecar"}],
            "containers": [{"name": "log", "image": "log:1"}],
        }
    }
    result = smp(POD, patch)
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "log", "sidecar"]


def test_set_element_order_with_deletion_follows_the_apiserver() -> None:
    # kube-apiserver's own test case "add map and delete map from merging list": the server-only
    # item stays before the added one because the Go code sees the live list after it shifted.
    target = {"l": [{"k": 1}, {"k": 2, "o": "b"}, {"k": 4, "o": "c"}]}
    patch = {
        "$setElementOrder/l": [{"k": 2}, {"k": 3}],
        "l": [{"k": 3}, {"k": 1, "$patch": "delete"}],
    }
    result = smp(target, patch, merge_keys=lambda path: "k" if path == ("l",) else None)
    assert result == {"l": [{"k": 2, "o": "b"}, {"k": 4, "o": "c"}, {"k": 3}]}


def test_set_element_order_on_primitive_lists() -> None:
    patch = {
        "metadata": {"$setElementOrder/finalizers": ["c", "b/two", "a/one"], "finalizers": ["c"]}
    }
    assert smp(POD, patch)["metadata"]["finalizers"] == ["c", "b/two", "a/one"]
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["b/two", "x"],
            "$deleteFromPrimitiveList/finalizers": ["a/one"],
            "finalizers": ["x"],
        }
    }
    assert smp(POD, patch)["metadata"]["finalizers"] == ["b/two", "x"]


def test_set_element_order_must_agree_with_the_patch_list() -> None:
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"name": "sidecar", "image": "s"}, {"name": "app", "image": "a"}],
        }
    }
    with pytest.raises(PatchError, match=r"spec\.containers: the order in patch list .* doesn't"):
        strategic_merge_patch(POD, patch)
    with pytest.raises(PatchError, match="declared merge key: name"):
        strategic_merge_patch(POD, {"spec": {"$setElementOrder/containers": [{"image": "x"}]}})
    with pytest.raises(PatchError, match="setElementOrder list"):
        strategic_merge_patch(POD, {"spec": {"$setElementOrder/containers": "app"}})


def test_set_element_order_tells_the_merge_key_of_unknown_lists() -> None:
    target = {"spec": {"widgets": [{"id": "a", "v": 1}, {"id": "b", "v": 2}]}}
    patch = {
        "spec": {
            "$setElementOrder/widgets": [{"id": "b"}, {"id": "c"}, {"id": "a"}],
            "widgets": [{"id": "c", "v": 3}],
        }
    }
    assert smp(target, patch) == {
        "spec": {"widgets": [{"id": "b", "v": 2}, {"id": "c", "v": 3}, {"id": "a", "v": 1}]}
    }


def test_directives_and_nulls_never_leak() -> None:
    patch = {
        "spec": {
            "newMap": {"a": None, "b": {"$patch": "replace", "c": 1}, "d": {"$patch": "delete"}},
            "newList": [{"x": None, "y": 1}, {"$patch": "replace"}, {"z": 1, "$patch": "delete"}],
            "containers": [
                {
                    "name": "fresh",
                    "env": [{"name": "E", "value": None}],
                    "$setElementOrder/env": [{"name": "E"}],
                    "resources": {"$retainKeys": ["limits"], "limits": {"cpu": "1"}},
                    "$deleteFromPrimitiveList/args": ["x"],
                    "$unknown": "dropped",
                }
            ],
        },
    }
    result = smp(POD, patch)
    assert result["spec"]["newMap"] == {"b": {"c": 1}}
    assert result["spec"]["newList"] == [{"y": 1}]
    assert result["spec"]["containers"][0] == {
        "name": "fresh",
        "env": [{"name": "E"}],
        "resources": {"limits": {"cpu": "1"}},
    }

    def no_directives(value: Any) -> None:
        if isinstance(value, dict):
            assert not any(key.startswith("$") for key in value), value
            assert None not in value.values()
            for item in value.values():
                no_directives(item)
        elif isinstance(value, list):
            for item in value:
                no_directives(item)

    no_directives(result)


def test_realistic_kubectl_apply_of_a_pod() -> None:
    # What `kubectl apply` sends after the config changed: image bumped, env B removed and C
    # added, a "log" container inserted before the sidecar, a label dropped.
    live = copy.deepcopy(POD)
    live["metadata"]["labels"] = {"app": "web", "old": "x"}
    patch = {
        "metadata": {"labels": {"old": None}},
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "log"}, {"name": "sidecar"}],
            "containers": [
                {
                    "name": "app",
                    "image": "app:2",
                    "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                    "env": [{"name": "C", "value": "3"}, {"name": "B", "$patch": "delete"}],
                },
                {"name": "log", "image": "log:1"},
            ],
        },
    }
    result = smp(live, patch)
    assert result["metadata"]["labels"] == {"app": "web"}
    app, log, sidecar = result["spec"]["containers"]
    assert app["image"] == "app:2"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert app["ports"] == POD["spec"]["containers"][0]["ports"]
    assert log == {"name": "log", "image": "log:1"}
    assert sidecar == {"name": "sidecar", "image": "side:1"}
    assert result["status"] == POD["status"]


# -- the merge-key table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("metadata", "finalizers"), ""),
        (("spec", "template", "metadata", "finalizers"), ""),
        (("metadata", "ownerReferences"), "uid"),
        (("spec", "containers"), "name"),
        (("spec", "initContainers"), "name"),
        (("spec", "ephemeralContainers"), "name"),
        (("spec", "template", "spec", "containers"), "name"),
        (("spec", "containers", "env"), "name"),
        (("spec", "initContainers", "ports"), "containerPort"),
        (("spec", "template", "spec", "containers", "volumeMounts"), "mountPath"),
        (("spec", "ephemeralContainers", "volumeDevices"), "devicePath"),
        (("spec", "volumes"), "name"),
        (("spec", "imagePullSecrets"), "name"),
        (("spec", "hostAliases"), "ip"),
        (("spec", "topologySpreadConstraints"), "topologyKey"),
        (("status", "conditions"), "type"),
        (("secrets",), "name"),
        (("imagePullSecrets",), None),
        (("spec", "containers", "args"), None),
        (("spec", "tolerations"), None),
        (("spec", "finalizers"), None),
        (("status", "containerStatuses"), None),
        (("data", "env"), None),
        ((), None),
    ],
)
def test_default_merge_keys(path: tuple[str, ...], expected: str | None) -> None:
    assert default_merge_keys(path) == expected
    assert DEFAULT_MERGE_KEYS(path) == expected


def test_custom_merge_keys_are_consulted_with_paths_without_indices() -> None:
    seen: list[tuple[str, ...]] = []

    def keys(path: tuple[str, ...]) -> str | None:
        seen.append(path)
        return "id" if path[-1] == "items" else None

    target = {"spec": {"items": [{"id": 1, "sub": {"items": [{"id": "x", "v": 1}]}}]}}
    patch = {"spec": {"items": [{"id": 1, "sub": {"items": [{"id": "x", "v": 2}]}}]}}
    assert smp(target, patch, merge_keys=keys) == patch
    assert seen == [("spec", "items"), ("spec", "items", "sub", "items")]
