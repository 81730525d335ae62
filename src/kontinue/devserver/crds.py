"""CustomResourceDefinitions: their validation, their status, and the resources they define.

Creating a CRD makes its resource servable at once (discovery included); the CRD is marked
``NamesAccepted`` and ``Established`` the way the apiextensions controllers would, and carries the
cleanup finalizer so deleting it first deletes its objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kontinue.clock import format_time
from kontinue.kube.schema import FieldError, check_structural

from .resources import CUSTOM_VERBS, ResourceType
from .validation import DNS1123_LABEL, name_errors

__all__ = ["CLEANUP_FINALIZER", "admit_crd", "resource_type_from_crd", "version_priority"]

JSON = dict[str, Any]
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key for Kubernetes version order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other."""
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def _required(field: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", field, detail)


def _invalid(field: str, value: object, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", field, detail, value)


def admit_crd(obj: JSON, old: JSON | None, now: datetime) -> list[FieldError]:
    """Default and validate a CRD in place; on success its status is filled in."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [_required("spec")]
    errors: list[FieldError] = []
    group = spec.get("group") or ""
    names = spec.get("names")
    if not group:
        errors.append(_required("spec.group"))
    elif "." not in group:
        errors.append(_invalid("spec.group", group, "should be a domain with at least one dot"))
    if not isinstance(names, dict):
        errors.append(_required("spec.names"))
        return errors
    plural, kind = names.get("plural") or "", names.get("kind") or ""
    if not plural:
        errors.append(_required("spec.names.plural"))
    else:
        errors += [
            _invalid("spec.names.plural", plural, p) for p in name_errors(plural, DNS1123_LABEL)
        ]
    if not kind:
        errors.append(_required("spec.names.kind"))
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", f"{kind}List")
    name = obj["metadata"].get("name", "")
    if plural and group and name != f"{plural}.{group}":
        errors.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        errors.append(
            FieldError(
                "FieldValueNotSupported",
                "spec.scope",
                'supported values: "Cluster", "Namespaced"',
                scope,
            )
        )
    spec.setdefault("conversion", {"strategy": "None"})
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        errors.append(
            _required("spec.versions", "must have exactly one version marked as storage version")
        )
        return errors
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        errors.append(
            _invalid(
                "spec.versions",
                [v.get("name") for v in storage] if storage else None,
                "must have exactly one version marked as storage version",
            )
        )
    seen: set[str] = set()
    schemas = [
        (v.get("schema") or {}).get("openAPIV3Schema") for v in versions if isinstance(v, dict)
    ]
    # identical schemas are validated once, where the internal API version keeps them
    shared = len(schemas) == len(versions) and all(x == schemas[0] for x in schemas)
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(version, dict):
            errors.append(_invalid(path, version, "must be an object"))
            continue
        vname = version.get("name") or ""
        if not vname:
            errors.append(_required(f"{path}.name"))
        elif vname in seen:
            errors.append(FieldError("FieldValueDuplicate", f"{path}.name", "", vname))
        seen.add(vname)
        for flag in ("served", "storage"):
            if not isinstance(version.get(flag), bool):
                errors.append(_required(f"{path}.{flag}"))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            errors.append(_required(f"{path}.schema.openAPIV3Schema"))
        else:
            where = (
                "spec.validation.openAPIV3Schema" if shared else f"{path}.schema.openAPIV3Schema"
            )
            if not shared or i == 0:
                errors += check_structural(schema, path=where)
        for j, column in enumerate(version.get("additionalPrinterColumns") or []):
            cpath = f"{path}.additionalPrinterColumns[{j}]"
            for key in ("name", "type", "jsonPath"):
                if not column.get(key):
                    errors.append(_required(f"{cpath}.{key}"))
    if old is not None:
        old_spec = old.get("spec", {})
        if old_spec.get("group") != group:
            errors.append(_invalid("spec.group", group, "field is immutable"))
        if old_spec.get("names", {}).get("plural") != plural:
            errors.append(_invalid("spec.names.plural", plural, "field is immutable"))
    if errors:
        return errors
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if old is None and CLEANUP_FINALIZER not in finalizers:
        finalizers.append(CLEANUP_FINALIZER)
    _set_status(obj, old, now)
    return []


def _set_status(obj: JSON, old: JSON | None, now: datetime) -> None:
    spec = obj["spec"]
    status = (old or {}).get("status") or {}
    stamp = format_time(now)
    previous = {c.get("type"): c for c in status.get("conditions") or []}

    def condition(kind: str, reason: str, message: str) -> JSON:
        before = previous.get(kind)
        since = before["lastTransitionTime"] if before and before.get("status") == "True" else stamp
        return {
            "type": kind,
            "status": "True",
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }

    stored = list(status.get("storedVersions") or [])
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    if storage not in stored:
        stored.append(storage)
    obj["status"] = {
        "acceptedNames": dict(spec["names"]),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted"
            ),
        ],
        "storedVersions": stored,
    }


def resource_type_from_crd(crd: JSON) -> ResourceType:
    """The REST resource a (valid) CRD defines."""
    spec = crd["spec"]
    names = spec["names"]
    versions = [v for v in spec["versions"] if v.get("served")]
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    served = sorted((v["name"] for v in versions), key=version_priority)
    subresources = spec_subresources(versions)
    return ResourceType(
        group=spec["group"],
        version=storage,
        plural=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        kind=names["kind"],
        namespaced=spec["scope"] == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=subresources,
        has_generation=True,
        served_versions=tuple(served),
        schemas={v["name"]: v["schema"]["openAPIV3Schema"] for v in spec["versions"]},
        printer_columns={
            v["name"]: list(v.get("additionalPrinterColumns") or []) for v in spec["versions"]
        },
        is_custom=True,
        crd_name=crd["metadata"]["name"],
        verbs=CUSTOM_VERBS,
        field_selectors=_selectable_fields(versions),
    )


def _selectable_fields(versions: list[JSON]) -> dict[str, Callable[[JSON], str]]:
    """The ``selectableFields`` of the served versions (simple ``.a.b`` JSONPaths), as field
    selector getters named without the leading dot."""
    out: dict[str, Callable[[JSON], str]] = {}
    for version in versions:
        for selectable in version.get("selectableFields") or []:
            path = str(selectable.get("jsonPath") or "").lstrip(".")
            if path:
                out[path] = _field_getter(tuple(path.split(".")))
    return out


def _field_getter(keys: tuple[str, ...]) -> Callable[[JSON], str]:
    def get(obj: JSON) -> str:
        value: Any = obj
        for key in keys:
            if not isinstance(value, dict):
                return ""
            value = value.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


def spec_subresources(versions: list[JSON]) -> tuple[str, ...]:
    found: list[str] = []
    for version in versions:
        for name in version.get("subresources") or {}:
            if name in ("status", "scale") and name not in found:
                found.append(name)
    return tuple(n for n in found if n == "status")
