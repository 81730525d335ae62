"""Validation of a custom resource against its schema, like kube-openapi's SchemaValidator.

Error order, texts and counts follow the Go code so that ``anyOf``/``oneOf`` pick the same
"best" branch errors as apiserver; the ``x-kubernetes-list-type`` checks come afterwards.
"""

from __future__ import annotations

import math
from typing import Any

from ._errors import (
    _DUPLICATE,
    _INVALID,
    _NOT_SUPPORTED,
    _REQUIRED,
    _TOO_LONG,
    _TOO_MANY,
    _TYPE_INVALID,
    JSON,
    FieldError,
    JsonValue,
    _go_json,
    _go_value,
    _quote,
)
from ._formats import _FORMAT_CHECKS, _compile, _format, _types
from ._pruning import _sub
from ._unchanged import KEPT, NOTHING, Unchanged, below


def validate(obj: JSON, schema: JSON, unchanged: Unchanged = NOTHING) -> list[FieldError]:
    """Validate ``obj`` like kube-apiserver validates a custom resource against its schema.

    What an update leaves ``unchanged`` is not checked again (as apiserver's validation
    ratcheting lets an unchanged value stand): an update costs what it changes, not what the
    object holds. Inside ``anyOf``/``oneOf``/``allOf``/``not`` everything is checked, since the
    branch errors depend on full counts.

    Implements type (``3.0`` is an integer, ``3.5`` is not), nullable, enum, required, properties,
    additionalProperties, items, minimum/maximum (with boolean exclusiveMinimum/Maximum),
    multipleOf, minLength/maxLength, pattern, format, minItems/maxItems, uniqueItems,
    minProperties/maxProperties, allOf/anyOf/oneOf/not, ``x-kubernetes-int-or-string`` and the
    ``x-kubernetes-list-type`` set/map uniqueness checks.  ``x-kubernetes-validations`` (CEL) is
    ignored.  Root ``metadata`` is only checked against the ``name``/``generateName`` schemas (the
    server validates the rest).  Errors come in a stable order: per node type, junctors, string,
    format, number, array, enum, object checks, with children in document order; the list-type
    errors follow the schema errors, as in apiserver.
    """
    root = schema
    props = schema.get("properties")
    if isinstance(props, dict) and isinstance(props.get("metadata"), dict):
        meta = props["metadata"]
        names = {k: v for k, v in (meta.get("properties") or {}).items() if k in _META_NAMES}
        reduced: JSON = {k: v for k, v in (("type", meta.get("type")), ("properties", names)) if v}
        root = {**schema, "properties": {**props, "metadata": reduced}}
    errors = _Validator(None).node(obj, root, "", unchanged.root)[0]
    _list_errors(obj, schema, "", errors, unchanged.root)
    return errors


_META_NAMES = ("name", "generateName")


def validate_status(obj: JSON, schema: JSON, unchanged: Unchanged = NOTHING) -> list[FieldError]:
    """Validate a write of the status subresource as kube-apiserver does: ``obj["status"]``
    against the status schema alone, its errors' fields rooted at ``status`` but their messages
    relative to it (``phase in body must be of type string`` for ``status.phase``)."""
    status_schema = (schema.get("properties") or {}).get("status")
    errors: list[FieldError] = []
    if isinstance(status_schema, dict) and "status" in obj:
        root = unchanged.root
        kept = root.get("status") if isinstance(root, dict) else root
        errors = _Validator("status").node(obj["status"], status_schema, "", kept)[0]
    _list_errors(obj, schema, "", errors, unchanged.root)
    return errors


class _Validator:
    """kube-openapi's SchemaValidator; ``prefix`` is the field path the errors are rooted at."""

    def __init__(self, prefix: str | None) -> None:
        self.prefix = prefix

    def err(self, reason: str, name: str, detail: str = "", value: object = "") -> FieldError:
        name = "" if name == "." else name.removeprefix(".")
        field = f"{self.prefix}.{name}" if self.prefix and name else name or self.prefix or "<nil>"
        return FieldError(reason, field, detail, value)

    def plain(self, detail: str) -> FieldError:
        return FieldError(_INVALID, self.prefix or "<nil>", detail, "")

    def type_err(self, path: str, expected: str, actual: str) -> FieldError:
        detail = f"{path} in body must be of type {expected}: {_quote(actual)}"
        return self.err(_TYPE_INVALID, path, detail, actual)

    def node(self, v: Any, s: JSON, path: str, kept: Any = None) -> tuple[list[FieldError], int]:
        """Errors of ``v`` at ``path`` against ``s`` and a count of the checks that ran
        (none when an update ``kept`` it: see :func:`validate`)."""
        if kept is KEPT:
            return [], 0
        errors: list[FieldError] = []
        types, fmt, enum = _types(s), _format(s), s.get("enum")
        if v is None:
            if types and not s.get("nullable"):
                errors.append(self.type_err(path, ",".join(types), "null"))
            if isinstance(enum, list) and enum:
                errors.append(self.err(_NOT_SUPPORTED, path, _supported(enum), None))
            return errors, 1
        kind = _json_type(v)
        count = 2
        if types or fmt:
            float_int = kind == "number" and "integer" in types and _is_json_int(v)
            ok = kind in types or float_int or (kind == "integer" and "number" in types)
            go_fmt = {"integer": "int64", "number": "float64"}.get(kind, "")
            if fmt and not isinstance(v, (str, list)) and not (ok or go_fmt == fmt):
                errors.append(self.type_err(path, fmt, go_fmt))
            elif fmt and isinstance(v, (str, list)) and not {"integer", "number"} & set(types):
                pass
            elif types and not ok:
                errors.append(self.type_err(path, ",".join(types), kind))
        junctor_errors, junctor_count = self.junctors(v, s, path)
        errors += junctor_errors
        count += junctor_count
        if isinstance(v, str):
            errors += self.string(v, s, path, fmt)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            errors += self.number(v, s, path)
        elif isinstance(v, list):
            items = s.get("items")
            for i, item in enumerate(v):
                if isinstance(items, dict):
                    item_errors, item_count = self.node(item, items, f"{path}[{i}]", below(kept, i))
                    errors += item_errors
                    count += item_count
            errors += self.array(v, s, path)
        if isinstance(enum, list) and enum and not any(_json_equal(v, e) for e in enum):
            errors.append(self.err(_NOT_SUPPORTED, path, _supported(enum), v))
        if isinstance(v, dict):
            object_errors, object_count = self.object(v, s, path, kept)
            errors += object_errors
            count += object_count
        return errors, count

    def junctors(self, v: Any, s: JSON, path: str) -> tuple[list[FieldError], int]:
        if not ("anyOf" in s or "oneOf" in s or "allOf" in s or "not" in s):
            return [], 0  # the common case: no combinators, nothing to format
        errors: list[FieldError] = []
        count, quoted = 0, _quote(path)
        any_of, one_of, all_of = (_schemas(s.get(key)) for key in ("anyOf", "oneOf", "allOf"))
        if any_of:
            best: tuple[list[FieldError], int] | None = None
            for sub in any_of:
                result = self.node(v, sub, path)
                count += result[1]
                if not result[0]:
                    break
                if best is None or result[1] > best[1]:
                    best = result
            else:
                errors.append(self.plain(f"{quoted} must validate at least one schema (anyOf)"))
                errors += best[0] if best else []
        if one_of:
            valid, best = 0, None
            for sub in one_of:
                result = self.node(v, sub, path)
                count += result[1]
                if not result[0]:
                    valid, best = valid + 1, None
                elif valid == 0 and (best is None or result[1] > best[1]):
                    best = result
            if valid != 1:
                found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                msg = f"{quoted} must validate one and only one schema (oneOf). {found}"
                errors += [self.plain(msg), *(best[0] if best else [])]
        if all_of:
            valid = 0
            for sub in all_of:
                sub_errors, sub_count = self.node(v, sub, path)
                count += sub_count
                valid += not sub_errors
                errors += sub_errors
            if valid != len(all_of):
                none = ". None validated" if valid == 0 else ""
                errors.append(self.plain(f"{quoted} must validate all the schemas (allOf){none}"))
        if isinstance(s.get("not"), dict) and not self.node(v, s["not"], path)[0]:
            errors.append(self.plain(f"{quoted} must not validate the schema (not)"))
        return errors, count

    def string(self, v: str, s: JSON, path: str, fmt: str) -> list[FieldError]:
        errors: list[FieldError] = []
        pattern = s.get("pattern")
        if isinstance(s.get("maxLength"), int) and len(v) > s["maxLength"]:
            errors.append(self.err(_TOO_LONG, path, "value is too long", v))
        elif isinstance(s.get("minLength"), int) and len(v) < s["minLength"]:
            detail = f"{path} in body should be at least {s['minLength']} chars long"
            errors.append(self.err(_INVALID, path, detail, v))
        elif isinstance(pattern, str) and pattern:
            rx = _compile(pattern)
            if isinstance(rx, str):
                detail = f"{path} in body should match '{pattern}, but pattern is invalid: {rx}'"
                errors.append(self.err(_INVALID, path, detail, v))
            elif not rx.search(v):
                detail = f"{path} in body should match '{pattern}'"
                errors.append(self.err(_INVALID, path, detail, v))
        check = _FORMAT_CHECKS.get(fmt.replace("-", ""))
        if check is not None and not check(v):
            detail = f"{path} in body must be of type {fmt}: {_quote(v)}"
            errors.append(self.err(_TYPE_INVALID, path, detail, v))
        return errors

    def number(self, v: float, s: JSON, path: str) -> list[FieldError]:
        errors: list[FieldError] = []
        as_int = isinstance(v, int)
        factor = s.get("multipleOf")
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            if as_int and int(factor) != 0:
                bound: float = int(factor)
                bad = bound < 0 or v % int(factor) != 0
            else:
                bound = float(factor)
                mult = (1 / bound * v if bound < 1 else v / bound) if bound else math.inf
                bad = bound < 0 or not _is_json_int(mult)
            shown = _go_value(bound)
            if bound < 0:
                msg = f"factor MultipleOf declared for {path} must be positive: {shown}"
                errors.append(self.err(_INVALID, path, msg, bound))
            elif bad:
                detail = f"{path} in body should be a multiple of {shown}"
                errors.append(self.err(_INVALID, path, detail, v))
        for key, word, sign in (("minimum", "greater", -1), ("maximum", "less", 1)):
            limit = s.get(key)
            if not isinstance(limit, (int, float)) or isinstance(limit, bool):
                continue
            exclusive = s.get("exclusiveM" + key[1:]) is True
            bound = int(limit) if as_int else float(limit)
            if sign * (v - bound) > 0 or (exclusive and v == bound):
                relation = f"{word} than" if exclusive else f"{word} than or equal to"
                detail = f"{path} in body should be {relation} {_go_value(bound)}"
                errors.append(self.err(_INVALID, path, detail, v))
        return errors

    def array(self, v: list[Any], s: JSON, path: str) -> list[FieldError]:
        errors: list[FieldError] = []
        if isinstance(s.get("minItems"), int) and len(v) < s["minItems"]:
            detail = f"{path} in body should have at least {s['minItems']} items"
            errors.append(self.err(_INVALID, path, detail, len(v)))
        if isinstance(s.get("maxItems"), int) and len(v) > s["maxItems"]:
            errors.append(self.err(_TOO_MANY, path, "has too many items", len(v)))
        if s.get("uniqueItems") is True and _non_unique(v):
            detail = f"{path} in body shouldn't contain duplicates"
            errors.append(self.err(_INVALID, path, detail, ""))
        return errors

    def object(self, v: JSON, s: JSON, path: str, kept: Any) -> tuple[list[FieldError], int]:
        count = 1
        if isinstance(s.get("minProperties"), int) and len(v) < s["minProperties"]:
            detail = f"{path} in body should have at least {s['minProperties']} properties"
            return [self.err(_INVALID, path, detail, len(v))], count
        if isinstance(s.get("maxProperties"), int) and len(v) > s["maxProperties"]:
            return [self.err(_TOO_MANY, path, "has too many items", len(v))], count
        errors: list[FieldError] = []
        props, extra = s.get("properties") or {}, s.get("additionalProperties")
        if extra is False:
            for k in v:
                if k not in props:
                    detail = f"{path}.{k} in body is a forbidden property"
                    errors.append(self.err(_INVALID, path, detail, k))
        for k, item in v.items():
            sub = props.get(k) if k in props else _sub(extra)
            if isinstance(sub, dict):
                child = f"{path}.{k}" if path or k not in props else k
                sub_errors, sub_count = self.node(item, sub, child, below(kept, k))
                errors += sub_errors
                count += sub_count
        for k in s.get("required") or []:
            if k not in v:
                errors.append(self.err(_REQUIRED, f"{path}.{k}", "", ""))
        return errors, count


def _schemas(value: Any) -> list[JSON]:
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def _supported(enum: list[Any]) -> str:
    values = [e if isinstance(e, str) else _go_json(e) for e in enum]
    return "supported values: " + ", ".join(_quote(x) for x in values)


_UNSPECIFIED = object()


def _set_key(x: Any) -> object:
    if x is _UNSPECIFIED:
        return ("unspecified",)
    if isinstance(x, (dict, list)):
        return ("compound", _go_json(x))
    return (_json_type(x), x)


def _non_unique(values: list[Any]) -> list[int]:
    """Indices of the second appearance of each repeated value (Go's ``validateListSet``)."""
    seen: dict[object, int] = {}
    out: list[int] = []
    for i, x in enumerate(values):
        key = _set_key(x)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            out.append(i)
    return out


def _list_errors(x: Any, s: Any, path: str, out: list[FieldError], kept: Any = None) -> None:
    """apiextensions' ``ValidateListSetsAndMaps``: set members and map keys must be unique."""
    if not isinstance(s, dict) or kept is KEPT:
        return
    if isinstance(x, dict):
        props = s.get("properties") or {}
        for k, v in x.items():
            if isinstance(s.get("additionalProperties"), dict):
                _list_errors(v, s["additionalProperties"], f"{path}[{k}]", out, below(kept, k))
            if k in props:
                _list_errors(v, props[k], f"{path}.{k}" if path else k, out, below(kept, k))
    elif isinstance(x, list):
        if s.get("x-kubernetes-list-type") == "set":
            out += [FieldError(_DUPLICATE, f"{path}[{i}]", "", x[i]) for i in _non_unique(x)]
        elif s.get("x-kubernetes-list-type") == "map":
            out += _list_map_errors(x, s.get("x-kubernetes-list-map-keys") or [], path)
        for i, item in enumerate(x):
            _list_errors(item, s.get("items"), f"{path}[{i}]", out, below(kept, i))


def _list_map_errors(x: list[Any], keys: list[str], path: str) -> list[FieldError]:
    for i, item in enumerate(x):
        if item is not None and not isinstance(item, dict):
            msg = "must be an object for an array of list-type map"
            return [FieldError(_INVALID, f"{path}[{i}]", msg, item)]
    if len(x) <= 1:
        return []
    values: list[Any]
    shown: list[Any]
    if len(keys) == 1:
        values = [e.get(keys[0], _UNSPECIFIED) if e is not None else _UNSPECIFIED for e in x]
        shown = [{} if v is _UNSPECIFIED else {keys[0]: v} for v in values]
    else:
        values = shown = [{k: e[k] for k in keys if k in e} if e is not None else {} for e in x]
    return [
        FieldError(_DUPLICATE, f"{path}[{i}]", "", JsonValue(shown[i])) for i in _non_unique(values)
    ]


# JSON values typed and compared the way go-openapi does it


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "array" if isinstance(value, list) else "object"


def _is_json_int(value: float) -> bool:
    """go-openapi's ``swag.IsFloat64AJSONInteger``."""
    if math.isnan(value) or math.isinf(value) or abs(value) > 2**53 - 1:
        return False
    whole = float(int(value))
    if value == whole:
        return True
    diff = abs(value - whole)
    if whole == 0 or diff < 5e-324:
        return False
    return diff / (abs(value) + abs(whole)) < 1e-9


def _json_equal(a: Any, b: Any) -> bool:
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, number) and isinstance(b, number):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)
