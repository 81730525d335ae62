"""kontinue.kube.validating: custom resources checked locally against their CRD's schema."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from kontinue.kube import AsyncKubeClient, Invalid, KubeClient, KubeSettings
from kontinue.kube.schema import FieldError
from kontinue.kube.validating import SyncValidator, Validator

from .crd_fixtures import GROUP, VERSION, WIDGET_CRD, widget

FAST = KubeSettings(qps=0)


@pytest.fixture
async def validator(kubeconfig: str, namespace: str, widget_crd: str) -> AsyncIterator[Validator]:
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as client:
        yield Validator(client)


@pytest.fixture
def kube(kubeconfig: str, namespace: str, widget_crd: str) -> Iterator[KubeClient]:
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client:
        yield client


def reasons(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.reason, e.field) for e in errors]


async def test_a_valid_widget_passes(validator: Validator) -> None:
    obj = widget("w", size=3, tags=["a"], extra={"any": {"thing": 1}})
    assert await validator.validate(obj) == []


async def test_schema_errors_match_what_the_server_rejects(
    validator: Validator, kube: KubeClient
) -> None:
    bad = widget("w-bad", size=500, color="pink")
    errors = await validator.validate(bad)
    assert sorted(reasons(errors)) == [
        ("FieldValueInvalid", "spec.size"),
        ("FieldValueNotSupported", "spec.color"),
    ]
    with pytest.raises(Invalid) as rejected:
        kube.create(bad)
    assert sorted(rejected.value.causes, key=str) == sorted((e.cause() for e in errors), key=str)


async def test_defaults_and_required_fields(validator: Validator) -> None:
    missing = widget("w")
    del missing["spec"]["size"]
    errors = await validator.validate(missing)
    assert reasons(errors) == [("FieldValueRequired", "spec.size")]
    assert errors[0].message() == "spec.size: Required value"
    original = widget("w", size=1)
    snapshot = copy.deepcopy(original)
    assert await validator.validate(original) == []
    assert original == snapshot  # defaults were applied to a copy


async def test_unknown_fields_are_errors_like_strict_field_validation(
    validator: Validator,
) -> None:
    obj = widget("w", size=1, bogus=True)
    obj["spec"]["tags"] = ["ok"]
    obj["surprise"] = {"x": 1}
    errors = await validator.validate(obj)
    assert reasons(errors) == [
        ("FieldValueForbidden", "spec.bogus"),
        ("FieldValueForbidden", "surprise"),
    ]
    assert errors[0].message() == "spec.bogus: Forbidden: field not declared in schema"


async def test_builtin_kinds_are_accepted(validator: Validator) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "anything": ["goes"],
    }
    assert await validator.validate(configmap) == []
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}}
    assert await validator.validate(job) == []
    # A dotted group that holds no CRD: discovery decides.
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}}
    assert await validator.validate(lease) == []


async def test_things_that_are_not_objects_name_what_is_missing(validator: Validator) -> None:
    assert reasons(await validator.validate({})) == [
        ("FieldValueRequired", "apiVersion"),
        ("FieldValueRequired", "kind"),
        ("FieldValueRequired", "metadata.name"),
    ]
    no_name = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {}}
    assert reasons(await validator.validate(no_name)) == [("FieldValueRequired", "metadata.name")]
    generated = {**widget("x"), "metadata": {"generateName": "w-"}}
    assert await validator.validate(generated) == []
    with pytest.raises(TypeError):
        await validator.validate(["not", "an", "object"])


async def test_kinds_the_server_does_not_know_are_errors(validator: Validator) -> None:
    gizmo = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Gizmo", "metadata": {"name": "g"}}
    assert reasons(await validator.validate(gizmo)) == [("FieldValueNotFound", "kind")]
    wrong_version = {**widget("w"), "apiVersion": f"{GROUP}/v9"}
    errors = await validator.validate(wrong_version)
    assert reasons(errors) == [("FieldValueNotSupported", "apiVersion")]
    assert f'supported values: "{GROUP}/{VERSION}"' in errors[0].message()
    for api_version, kind in (("nowhere.example.com/v1", "Thing"), ("v1", "Gadget")):
        unknown = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "t"}}
        assert reasons(await validator.validate(unknown)) == [("FieldValueNotFound", "kind")]


async def test_schemas_are_cached_until_invalidated(
    validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_list = validator.client.list

    async def counting_list(kind: str, **kw: Any) -> list[Any]:
        calls.append(kind)
        return await real_list(kind, **kw)

    monkeypatch.setattr(validator.client, "list", counting_list)
    for size in (1, 2, 3):
        assert await validator.validate(widget("w", size=size)) == []
    assert calls == ["customresourcedefinitions"]
    validator.invalidate()
    assert await validator.validate(widget("w")) == []
    assert len(calls) == 2


async def test_a_kind_created_after_a_miss_is_found(validator: Validator) -> None:
    group = f"v{uuid.uuid4().hex[:8]}.tests.kontinue.cloud"
    gadget = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    assert reasons(await validator.validate(gadget)) == [("FieldValueNotFound", "kind")]
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = f"gadgets.{group}"
    crd["spec"]["group"] = group
    crd["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"}
    client = validator.client
    await client.create(crd)
    try:
        errors = await validator.validate({**gadget, "spec": {"size": -1}})
        assert reasons(errors) == [("FieldValueInvalid", "spec.size")]
    finally:
        await client.delete("customresourcedefinitions", crd["metadata"]["name"])


def test_sync_validator(kube: KubeClient) -> None:
    validator = SyncValidator(kube)
    assert validator.validate(widget("w", size=3)) == []
    assert reasons(validator.validate(widget("w", size=-1))) == [("FieldValueInvalid", "spec.size")]
    assert validator.validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}) == []
    assert reasons(validator.validate({"kind": "Pod"})) == [
        ("FieldValueRequired", "apiVersion"),
        ("FieldValueRequired", "metadata.name"),
    ]
    validator.invalidate()
    assert validator.validate(widget("w", size=3)) == []
