"""Structural checks of a CRD version's schema, as CRD admission runs them.

A schema must be structural for pruning and defaulting to be well defined, so apiserver rejects
a CRD whose schema is not; the error fields and texts copy apiextensions-apiserver.
"""

from __future__ import annotations

import copy
from typing import Any

from ._errors import _FORBIDDEN, _INVALID, _NOT_SUPPORTED, _REQUIRED, JSON, FieldError, _quote
from ._formats import _compile
from ._pruning import _META, _has_default, _prune, _sub
from ._validation import _META_NAMES, _json_equal, _Validator

_OPENAPI_TYPES = ("array", "boolean", "integer", "number", "object", "string")
_ROOT, _ITEM, _FIELD = "at the root", "for specified array items", "for specified object fields"
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def _e(reason: str, field: str, detail: str, value: object = "") -> FieldError:
    return FieldError(reason, field, detail, value)


def check_structural(schema: JSON, *, path: str = "openAPIV3Schema") -> list[FieldError]:
    """Check a CRD version's ``openAPIV3Schema`` the way CRD admission does.

    ``path`` roots the error fields, e.g. ``spec.versions[0].schema.openAPIV3Schema``.  Checked:
    the generic rules (valid types, no ``$ref``/``id``/``definitions``/``dependencies``/
    ``patternProperties``/``additionalItems``/items arrays, no ``uniqueItems: true``, properties and
    additionalProperties mutually exclusive, preserve-unknown-fields true or unset, list-type and
    map-type rules, no defaults in top-level metadata, root not nullable); structurality (a type on
    every specified node unless int-or-string or preserve-unknown-fields, items on arrays, object
    at the root, no additionalProperties at the root, metadata limited to name/generateName,
    embedded-resource rules, only value validations inside allOf/anyOf/oneOf/not and only for
    fields specified outside them, valid patterns); and, for a structural schema, that every
    default is pruned and validates against its node.
    """
    errors: list[FieldError] = []
    if schema.get("nullable") is True:
        errors.append(_e(_FORBIDDEN, f"{path}.nullable", "nullable cannot be true at the root"))
    errors += _generic(schema, path, True, "", False)
    structural = _structural(schema, path, _ROOT) + _completeness(schema, schema, path, path)
    if structural:
        return errors + sorted(structural, key=FieldError.message)
    return errors + _defaults(schema, path, True)


def _children(s: JSON, path: str) -> list[tuple[JSON, str, str]]:
    """(schema, path, kind) of the junctor sub-schemas of ``s``."""
    out = [(s["not"], f"{path}.not", "not")] if isinstance(s.get("not"), dict) else []
    for key in ("allOf", "oneOf", "anyOf"):
        subs = s.get(key)
        for i, sub in enumerate(subs if isinstance(subs, list) else []):
            if isinstance(sub, dict):
                out.append((sub, f"{path}.{key}[{i}]", key))
    return out


def _generic(s: JSON, path: str, root: bool, no_default: str, in_meta: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    kind, props, extra = s.get("type"), s.get("properties") or {}, s.get("additionalProperties")
    items, list_type = s.get("items"), s.get("x-kubernetes-list-type")
    if kind and kind not in _OPENAPI_TYPES:
        detail = "supported values: " + ", ".join(_quote(t) for t in _OPENAPI_TYPES)
        errors.append(_e(_NOT_SUPPORTED, f"{path}.type", detail, kind))
    if s.get("default") is not None and no_default:
        errors.append(_e(_FORBIDDEN, f"{path}.default", f"must not be set {no_default}"))
    for key in ("id", "additionalItems", "patternProperties", "definitions", "dependencies"):
        if not _zero(s.get(key)):
            errors.append(_e(_FORBIDDEN, f"{path}.{key}", f"{key} is not supported"))
    if s.get("$ref") is not None:
        errors.append(_e(_FORBIDDEN, f"{path}.$ref", "$ref is not supported"))
    if kind == "null":
        msg = "type cannot be set to null, use nullable as an alternative"
        errors.append(_e(_FORBIDDEN, f"{path}.type", msg))
    if isinstance(items, list):
        msg = "items must be a schema object and not an array"
        errors.append(_e(_FORBIDDEN, f"{path}.items", msg))
    if in_meta and s.get("x-kubernetes-embedded-resource"):
        msg = "must not be used inside of resource meta"
        errors.append(_e(_FORBIDDEN, f"{path}.x-kubernetes-embedded-resource", msg))
    if s.get("uniqueItems") is True:
        msg = "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        errors.append(_e(_FORBIDDEN, f"{path}.uniqueItems", msg))
    if props and (extra is False or isinstance(extra, dict)):
        msg = "additionalProperties and properties are mutual exclusive"
        errors.append(_e(_FORBIDDEN, f"{path}.additionalProperties", msg))
    if isinstance(extra, dict):
        reason = no_default
        if in_meta and not reason:
            reason = "inside additionalProperties applying to object metadata"
        errors += _generic(extra, f"{path}.additionalProperties", False, reason, in_meta)
    for k, sub in props.items():
        if not isinstance(sub, dict):
            continue
        meta = (root or bool(s.get("x-kubernetes-embedded-resource"))) and k in _META
        reason = f"in top-level {k}" if root and meta else no_default
        errors += _generic(sub, f"{path}.properties[{k}]", False, reason, in_meta or meta)
    for sub, sub_path, _ in _children(s, path):
        errors += _generic(sub, sub_path, False, no_default, in_meta)
    if isinstance(items, dict):
        errors += _generic(items, f"{path}.items", False, no_default, in_meta)
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        field = f"{path}.x-kubernetes-preserve-unknown-fields"
        errors.append(_e(_INVALID, field, "must be true or undefined", False))
    if (map_type := s.get("x-kubernetes-map-type")) is not None:
        if kind != "object":
            msg = "must be object if x-kubernetes-map-type is specified"
            errors.append(_e(_INVALID if kind else _REQUIRED, f"{path}.type", msg, kind))
        if map_type not in ("atomic", "granular"):
            detail = 'supported values: "atomic", "granular"'
            errors.append(_e(_NOT_SUPPORTED, f"{path}.x-kubernetes-map-type", detail, map_type))
    return errors + _list_type_rules(s, path, kind, items, list_type)


def _list_type_rules(s: JSON, path: str, kind: Any, items: Any, lt: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    keys = s.get("x-kubernetes-list-map-keys") or []
    item = items if isinstance(items, dict) else {}
    item_props = item.get("properties") or {}
    if lt is not None and kind != "array":
        msg = "must be array if x-kubernetes-list-type is specified"
        errors.append(_e(_INVALID if kind else _REQUIRED, f"{path}.type", msg, kind))
    elif lt == "set" and item.get("type") in ("array", "object"):
        key = "x-kubernetes-list-type" if item["type"] == "array" else "x-kubernetes-map-type"
        if item.get(key, "atomic" if key.endswith("list-type") else None) != "atomic":
            msg = "must be atomic as item of a list with x-kubernetes-list-type=set"
            value = item.get("x-kubernetes-list-type")  # sic: apiserver shows the list type
            errors.append(_e(_INVALID, f"{path}.items.{key}", msg, value))
    if lt is not None and lt not in ("atomic", "set", "map"):
        detail = 'supported values: "atomic", "set", "map"'
        errors.append(_e(_NOT_SUPPORTED, f"{path}.x-kubernetes-list-type", detail, lt))
    if keys and lt != "map":
        msg = "must be map if x-kubernetes-list-map-keys is non-empty"
        errors.append(_e(_INVALID if lt else _REQUIRED, f"{path}.x-kubernetes-list-type", msg, lt))
    if lt == "map":
        if not keys:
            msg = "must not be empty if x-kubernetes-list-type is map"
            errors.append(_e(_REQUIRED, f"{path}.x-kubernetes-list-map-keys", msg))
        if items is None:
            msg = "must have a schema if x-kubernetes-list-type is map"
            errors.append(_e(_REQUIRED, f"{path}.items", msg))
        elif item.get("type") != "object":
            msg = "must be object if parent array's x-kubernetes-list-type is map"
            errors.append(_e(_INVALID, f"{path}.items.type", msg, item.get("type", "")))
        else:
            for i, k in enumerate(keys):
                if k not in item_props:
                    msg = "entries must all be names of item properties"
                    errors.append(_e(_INVALID, f"{path}.x-kubernetes-list-map-keys", msg, keys))
                elif item_props[k].get("type") in ("array", "object"):
                    msg = "must be a scalar type if parent array's x-kubernetes-list-type is map"
                    field = f"{path}.items.properties[{k}].type"
                    errors.append(_e(_INVALID, field, msg, "object"))
                if k in keys[:i]:
                    msg = "must not contain duplicate entries"
                    errors.append(_e(_INVALID, f"{path}.x-kubernetes-list-map-keys", msg, keys))
    if lt in ("set", "map") and item.get("nullable") is True:
        msg = f"cannot be nullable when x-kubernetes-list-type is {lt}"
        errors.append(_e(_FORBIDDEN, f"{path}.items.nullable", msg))
    for k in keys if lt == "map" else []:
        prop = item_props.get(k)
        required = k in (item.get("required") or [])
        if isinstance(prop, dict) and not required and not _has_default(prop):
            msg = (
                "this property is in x-kubernetes-list-map-keys, "
                "so it must have a default or be a required property"
            )
            errors.append(_e(_REQUIRED, f"{path}.items.properties[{k}].default", msg))
        if isinstance(prop, dict) and prop.get("nullable") is True:
            msg = "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"
            errors.append(_e(_FORBIDDEN, f"{path}.items.properties[{k}].nullable", msg))
    return errors


def _structural(s: JSON, path: str, level: str) -> list[FieldError]:
    errors: list[FieldError] = []
    kind, props, items = s.get("type") or "", s.get("properties") or {}, s.get("items")
    extra = s.get("additionalProperties")
    int_or_string = s.get("x-kubernetes-int-or-string") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = s.get("x-kubernetes-embedded-resource") is True
    if kind == "array" and items is None:
        errors.append(_e(_REQUIRED, f"{path}.items", "must be specified"))
    if isinstance(items, dict):
        errors += _structural(items, f"{path}.items", _ITEM)
    for k, sub in props.items():
        if isinstance(sub, dict):
            errors += _structural(sub, f"{path}.properties[{k}]", _FIELD)
    if extra is not None and level == _ROOT:
        msg = "must not be used at the root"
        errors.append(_e(_FORBIDDEN, f"{path}.additionalProperties", msg))
    if isinstance(extra, dict):
        errors += _structural(extra, f"{path}.additionalProperties", _FIELD)
    for key, on in (("preserve-unknown-fields", preserve), ("embedded-resource", embedded)):
        if int_or_string and on:
            msg = "must be false if x-kubernetes-int-or-string is true"
            errors.append(_e(_INVALID, f"{path}.x-kubernetes-{key}", msg, True))
    any_of, all_of = s.get("anyOf"), s.get("allOf")
    first = all_of[0] if isinstance(all_of, list) and all_of else None
    skip_first = isinstance(first, dict) and _is_ios(first.get("anyOf"))
    for sub, sub_path, key in _children(s, path):
        if key == "anyOf" and _is_ios(any_of):
            continue  # the int-or-string idiom: anyOf [{type: integer}, {type: string}]
        if key == "allOf" and sub_path.endswith("allOf[0]") and skip_first:
            sub = {k: v for k, v in sub.items() if k != "anyOf"}
        errors += _nested(sub, sub_path, level)
    errors += _pattern_error(s, path)
    if embedded and kind != "object":
        msg = "must be object if x-kubernetes-embedded-resource is true"
        errors.append(_e(_INVALID if kind else _REQUIRED, f"{path}.type", msg, kind))
    elif not kind and not int_or_string and not preserve:
        errors.append(_e(_REQUIRED, f"{path}.type", f"must not be empty {level}"))
    if embedded and extra is not None:
        msg = "must not be used if x-kubernetes-embedded-resource is set"
        errors.append(_e(_FORBIDDEN, f"{path}.additionalProperties", msg))
    if level == _ROOT and kind and kind != "object":
        errors.append(_e(_INVALID, f"{path}.type", "must be object at the root", kind))
    for k in ("kind", "apiVersion") if level == _ROOT or embedded else ():
        if k in props and props[k].get("type") != "string":
            field = f"{path}.properties[{k}].type"
            errors.append(_e(_INVALID, field, "must be string", props[k].get("type", "")))
    if isinstance(props.get("metadata"), dict):
        errors += _metadata(props["metadata"], level == _ROOT or embedded, level, path)
    if embedded and not preserve and not props:
        msg = (
            "must not be empty if x-kubernetes-embedded-resource is true "
            "without x-kubernetes-preserve-unknown-fields"
        )
        errors.append(_e(_REQUIRED, f"{path}.properties", msg))
    return errors


def _is_ios(any_of: Any) -> bool:
    return isinstance(any_of, list) and any_of == _INT_OR_STRING


def _pattern_error(s: JSON, path: str) -> list[FieldError]:
    pattern = s.get("pattern")
    if isinstance(pattern, str) and pattern and isinstance(err := _compile(pattern), str):
        msg = f"must be a valid regular expression, but isn't: {err}"
        return [_e(_INVALID, f"{path}.pattern", msg, pattern)]
    return []


def _metadata(m: JSON, check: bool, level: str, path: str) -> list[FieldError]:
    path = f"{path}.properties[metadata]"
    errors: list[FieldError] = []
    if check and m.get("type") != "object":
        errors.append(_e(_INVALID, f"{path}.type", "must be object", m.get("type", "")))
    if level == _ROOT:
        rest = {k: v for k, v in m.items() if k not in ("type", "default") and not _zero(v)}
        if set(rest.get("properties") or {}) <= set(_META_NAMES):
            rest.pop("properties", None)
        if rest:
            msg = (
                "must not specify anything other than name and generateName, "
                "but metadata is implicitly specified"
            )
            errors.append(_e(_FORBIDDEN, path, msg))
    return errors


def _zero(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


_NESTED_FORBIDDEN = (
    ("type", "must be empty"), ("additionalProperties", "must be undefined"),
    ("default", "must be undefined"), ("title", "must be empty"), ("description", "must be empty"),
    ("nullable", "must be false"), ("externalDocs", "must be undefined"),
    ("x-kubernetes-preserve-unknown-fields", "must be false"),
    ("x-kubernetes-embedded-resource", "must be false"),
    ("x-kubernetes-int-or-string", "must be false"),
    ("x-kubernetes-list-map-keys", "must be empty"),
    ("x-kubernetes-list-type", "must be undefined"),
    ("x-kubernetes-map-type", "must be undefined"), ("x-kubernetes-validations", "must be empty"),
)  # fmt: skip


def _nested(v: JSON, path: str, level: str) -> list[FieldError]:
    """A schema under a logic junctor may only hold value validations."""
    errors: list[FieldError] = []
    for sub, sub_path, _ in _children(v, path):
        errors += _nested(sub, sub_path, level)
    errors += _pattern_error(v, path)
    if isinstance(v.get("items"), dict):
        errors += _nested(v["items"], f"{path}.items", level)
    for k, sub in (v.get("properties") or {}).items():
        if isinstance(sub, dict):
            errors += _nested(sub, f"{path}.properties[{k}]", _FIELD)
    for key, rule in _NESTED_FORBIDDEN:
        if not _zero(v.get(key)):
            errors.append(_e(_FORBIDDEN, f"{path}.{key}", f"{rule} to be structural"))
    if "metadata" in (v.get("properties") or {}):
        msg = "must not be specified in a nested context"
        errors.append(_e(_FORBIDDEN, f"{path}.properties[metadata]", msg))
    return errors


def _completeness(v: JSON, s: JSON | None, s_path: str, v_path: str) -> list[FieldError]:
    """Fields constrained under the root's junctors must be specified structurally too."""
    errors: list[FieldError] = []
    for sub, sub_path, _ in _children(v, v_path):
        errors += _nested_completeness(sub, s, s_path, sub_path)
    return errors


def _nested_completeness(v: JSON, s: JSON | None, s_path: str, v_path: str) -> list[FieldError]:
    if s is None:
        return [_e(_REQUIRED, s_path, f"because it is defined in {v_path}")]
    errors = _completeness(v, s, s_path, v_path)
    if isinstance(v.get("items"), dict):
        items = _sub(s.get("items"))
        errors += _nested_completeness(v["items"], items, f"{s_path}.items", f"{v_path}.items")
    s_props = s.get("properties") or {}
    for k, sub in (v.get("properties") or {}).items():
        field, where = f"{s_path}.properties[{k}]", f"{v_path}.properties[{k}]"
        if k in s_props:
            errors += _nested_completeness(sub, s_props[k], field, where)
        else:
            errors.append(_e(_REQUIRED, field, f"because it is defined in {where}"))
    return errors


def _defaults(s: JSON, path: str, root: bool) -> list[FieldError]:
    """Every default must be pruned and valid against its node (metadata defaults are skipped)."""
    errors: list[FieldError] = []
    default = s.get("default")
    if default is not None and not root:
        pruned = copy.deepcopy(default)
        _prune(pruned, s, [], [], None)
        if not _json_equal(pruned, default):
            errors.append(_e(_INVALID, f"{path}.default", "must not have unknown fields", default))
        errors += _Validator(f"{path}.default").node(default, s, "")[0]
    if isinstance(s.get("items"), dict):
        errors += _defaults(s["items"], f"{path}.items", False)
    embedded = root or s.get("x-kubernetes-embedded-resource") is True
    for k, sub in (s.get("properties") or {}).items():
        if isinstance(sub, dict) and not (embedded and k in _META):
            errors += _defaults(sub, f"{path}.properties[{k}]", False)
    return errors
