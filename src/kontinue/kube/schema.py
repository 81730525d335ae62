"""CRD structural schemas (``openAPIV3Schema``) handled the way kube-apiserver handles them.

The embedded API server admits custom resources with these pure functions, in apiserver order:
:func:`prune` drops undeclared fields, :func:`apply_defaults` drops non-nullable nulls and fills
in ``default`` values, and :func:`validate` reports what the OpenAPI validator of kube-apiserver
(kube-openapi, plus the ``x-kubernetes-list-type`` checks) would reject.  :func:`check_structural`
checks a CRD version's schema the way CRD admission does, and :func:`format_invalid_message` builds
the message of a 422 ``Invalid`` Status.  Error texts, field paths and value formatting copy the Go
sources (``field.Error``, kube-openapi, apiextensions-apiserver), quirks included: e.g. errors of
``anyOf``/``oneOf``/``allOf``/``not`` carry the field ``<nil>``, ``maxLength`` reports
``Too long: value is too long``, ``int32``/``int64`` formats are stripped (not enforced) and a
whole-valued float such as ``3.0`` is an integer.

Left out: ``x-kubernetes-validations`` (CEL rules are ignored), validation-ratcheting on update,
ObjectMeta checks of embedded resources, and formats ``uri``/``duration``/``isbn*``/
``creditcard``/``rgbcolor`` (accepted unchecked).  Patterns are Go RE2 run by Python ``re`` after a
light translation; a pattern Python cannot compile is reported as invalid.
"""

from __future__ import annotations

import copy
import datetime
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "FieldError",
    "apply_defaults",
    "check_structural",
    "format_invalid_message",
    "prune",
    "validate",
]

JSON = dict[str, Any]

_REQUIRED, _INVALID, _FORBIDDEN = "FieldValueRequired", "FieldValueInvalid", "FieldValueForbidden"
_TYPE_INVALID, _NOT_SUPPORTED = "FieldValueTypeInvalid", "FieldValueNotSupported"
_DUPLICATE, _TOO_LONG, _TOO_MANY = "FieldValueDuplicate", "FieldValueTooLong", "FieldValueTooMany"
_LABELS = {
    _REQUIRED: "Required value", _INVALID: "Invalid value", _TYPE_INVALID: "Invalid value",
    _NOT_SUPPORTED: "Unsupported value", _FORBIDDEN: "Forbidden", _DUPLICATE: "Duplicate value",
    _TOO_LONG: "Too long", _TOO_MANY: "Too many", "FieldValueNotFound": "Not found",
    "InternalError": "Internal error",
}  # fmt: skip
_NO_VALUE = {_REQUIRED, _FORBIDDEN, _TOO_LONG, "InternalError"}
_META = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class FieldError:
    """One field-level error, the counterpart of Go's ``field.Error``."""

    reason: str
    field: str
    detail: str = ""
    bad_value: object = None

    def body(self) -> str:
        """The message without the ``field: `` prefix (Go's ``ErrorBody``)."""
        label = _LABELS.get(self.reason, self.reason)
        text = label if self.reason in _NO_VALUE else f"{label}: {_go_value(self.bad_value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def message(self) -> str:
        """The message of Go's ``field.Error.Error()``, e.g. ``spec.x: Required value``."""
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict[str, str]:
        """This error as an entry of a Status' ``details.causes``."""
        return {"reason": self.reason, "message": self.body(), "field": self.field}


def format_invalid_message(kind_group: str, name: str, errors: list[FieldError]) -> str:
    """The message of a 422 ``Invalid`` Status, e.g. ``Widget.example.com "w1" is invalid: ...``."""
    messages: list[str] = []
    for error in errors:
        if (text := error.message()) not in messages:
            messages.append(text)
    head = f"{kind_group} {_quote(name)} is invalid"
    if not messages:
        return head
    return f"{head}: {messages[0]}" if len(messages) == 1 else f"{head}: [{', '.join(messages)}]"


# ---------------------------------------------------------------------------------------------
# Go value formatting


def _quote(text: str) -> str:
    """Go's ``strconv.Quote``."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _go_float(value: float, json_style: bool = False) -> str:
    """A float as Go prints it: ``%v`` (``1e+06``), or ``encoding/json`` with ``json_style``."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 and not json_style else "0"
    digits_tuple, exponent = Decimal(repr(abs(value))).as_tuple()[1:]
    point = len(digits_tuple) + int(exponent) - 1  # decimal exponent of the first digit
    digits = "".join(map(str, digits_tuple)).rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    # %v switches to %e below 1e-4 and from 1e+06 on, encoding/json below 1e-6 and from 1e21 on
    use_e = (abs(value) < 1e-6 or abs(value) >= 1e21) if json_style else (point < -4 or point >= 6)
    if use_e:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        width = 1 if json_style and point < 0 else 2
        return f"{sign}{mantissa}e{'-' if point < 0 else '+'}{abs(point):0{width}d}"
    if point < 0:
        return f"{sign}0.{'0' * (-point - 1)}{digits}"
    whole, frac = digits[: point + 1].ljust(point + 1, "0"), digits[point + 1 :]
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def _go_sharp(value: object) -> str:
    """Go's ``%#v`` of a decoded JSON value."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, dict):
        inner = ", ".join(f"{_quote(str(k))}:{_go_sharp(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp(v) for v in value) + "}"
    return _go_value(value)


def _go_value(value: object) -> str:
    """A bad value as ``field.Error`` prints it (``"null"`` for nil, quoted strings, ...)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _quote(value)
    return _go_sharp(value) if isinstance(value, (dict, list)) else str(value)


def _go_json(value: Any) -> str:
    """Go's ``json.Marshal`` of a decoded JSON value (sorted keys, HTML-safe strings)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return _go_float(value, json_style=True)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(ch, esc)
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if isinstance(value, dict):
        items = (f"{_go_json(str(k))}:{_go_json(value[k])}" for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    return json.dumps(value)


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


# ---------------------------------------------------------------------------------------------
# Pruning and defaulting


def _render(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def prune(obj: JSON, schema: JSON) -> list[str]:
    """Remove (in place) the fields ``schema`` does not declare; return their sorted paths.

    ``x-kubernetes-preserve-unknown-fields: true`` keeps unknown fields at its node (declared ones
    are still pruned below it), ``additionalProperties`` keeps every key (a boolean one prunes the
    values' own fields), and ``x-kubernetes-embedded-resource`` keeps ``apiVersion``, ``kind`` and
    ``metadata``.  At the root those three are always kept; metadata is not pruned here.
    """
    removed: list[str] = []
    _prune(obj, {**schema, "x-kubernetes-embedded-resource": True}, [], removed)
    return sorted(removed)


def _prune(x: Any, s: JSON | None, path: list[str | int], removed: list[str]) -> None:
    if s is not None and s.get("x-kubernetes-preserve-unknown-fields") is True:
        _skip_prune(x, s, path, removed)
    elif isinstance(x, dict):
        if s is None:
            removed.extend(_render([*path, k]) for k in x)
            x.clear()
            return
        props, extra = s.get("properties") or {}, s.get("additionalProperties")
        for k in list(x):
            if s.get("x-kubernetes-embedded-resource") and k in _META:
                continue
            if k in props or extra is not None:
                _prune(x[k], props[k] if k in props else _sub(extra), [*path, k], removed)
            else:
                if k not in _META or path:
                    removed.append(_render([*path, k]))
                del x[k]
    elif isinstance(x, list):
        for i, item in enumerate(x):
            _prune(item, _sub(s.get("items")) if s else None, [*path, i], removed)


def _skip_prune(x: Any, s: JSON, path: list[str | int], removed: list[str]) -> None:
    props, extra = s.get("properties") or {}, s.get("additionalProperties")
    if isinstance(x, dict):
        for k in x:
            if s.get("x-kubernetes-embedded-resource") and k in _META:
                continue
            if k in props or extra is not None:
                _prune(x[k], props[k] if k in props else _sub(extra), [*path, k], removed)
    elif isinstance(x, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(x):
            _skip_prune(item, s["items"], [*path, i], removed)


def _sub(schema: Any) -> JSON | None:
    return schema if isinstance(schema, dict) else None


def _field_schema(s: JSON | None, key: str) -> JSON | None:
    if s is None:
        return None
    props = s.get("properties") or {}
    return _sub(props[key]) if key in props else _sub(s.get("additionalProperties"))


def apply_defaults(obj: JSON, schema: JSON) -> None:
    """Drop non-nullable nulls without a default, then apply ``default`` values, in place.

    An absent field, or a non-nullable null, gets a deep copy of its default; defaulting recurses
    into objects (properties and additionalProperties) and array items.  A nullable null is kept.
    """
    _prune_nulls(obj, schema)
    _default(obj, schema)


def _prune_nulls(x: Any, s: JSON | None) -> None:
    if isinstance(x, dict):
        for k in list(x):
            sub = _field_schema(s, k)
            if (
                x[k] is None
                and sub is not None
                and not sub.get("nullable")
                and not _has_default(sub)
            ):
                del x[k]
            else:
                _prune_nulls(x[k], sub)
    elif isinstance(x, list):
        for item in x:
            _prune_nulls(item, _sub(s.get("items")) if s else None)


def _has_default(s: JSON) -> bool:
    return s.get("default") is not None


def _default(x: Any, s: JSON | None) -> None:
    if s is None:
        return
    if isinstance(x, dict):
        props = s.get("properties") or {}
        for k, prop in props.items():
            if not isinstance(prop, dict) or not _has_default(prop):
                continue
            if k not in x or (x[k] is None and not prop.get("nullable")):
                x[k] = copy.deepcopy(prop["default"])
        extra = s.get("additionalProperties")
        for k in list(x):
            if k in props:
                _default(x[k], _sub(props[k]))
            elif extra is not None:
                sub = _sub(extra)
                if x[k] is None and sub is not None and not sub.get("nullable"):
                    x[k] = copy.deepcopy(sub.get("default"))
                _default(x[k], sub)
    elif isinstance(x, list):
        items = _sub(s.get("items"))
        for i in range(len(x)):
            if x[i] is None and items is not None and not items.get("nullable"):
                x[i] = copy.deepcopy(items.get("default"))
            _default(x[i], items)


# ---------------------------------------------------------------------------------------------
# Formats and patterns

_SUPPORTED_FORMATS = {
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3",
    "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor",
    "byte", "password", "date", "duration", "datetime",
}  # fmt: skip
_LETTER = r"[^\W_]"
_HOSTNAME = re.compile(
    rf"^(?:{_LETTER}(?:-?{_LETTER}{{0,62}})?|(?:{_LETTER}(?:(?:{_LETTER}|-){{0,61}}{_LETTER})?\.)+"
    rf"{_LETTER}(?:-?{_LETTER}){{1,62}})\Z"
)
_DATE_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z")


def _matches(pattern: str) -> Callable[[str], bool]:
    rx = re.compile(pattern)
    return lambda s: rx.search(s) is not None


def _is_date(s: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", s):
        return False
    try:
        datetime.date(int(s[:4]), int(s[5:7]), int(s[8:]))
    except ValueError:
        return False
    return True


def _is_date_time(s: str) -> bool:
    parts = s.lower().split("t")
    m = _DATE_TIME.search(parts[1]) if len(s) >= 4 and len(parts) >= 2 else None
    return m is not None and _is_date(parts[0]) and m[1] <= "23" and m[2] <= "59" and m[3] <= "59"


def _is_ip(s: str, v4: bool) -> bool:
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", s):  # Go's sloppy parser allows leading zeros
        return v4 and all(int(p) <= 255 for p in s.split("."))
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return "%" not in s and ("." in s if v4 else ":" in s)


def _is_cidr(s: str) -> bool:
    address, _, bits = s.partition("/")
    if not bits.isdigit() or not (_is_ip(address, True) or _is_ip(address, False)):
        return False
    return int(bits) <= (32 if re.fullmatch(r"[0-9.]+", address) else 128)


def _is_mac(s: str) -> bool:
    for sep, width, counts in ((":", 2, (6, 8, 20)), ("-", 2, (6, 8, 20)), (".", 4, (3, 4, 10))):
        parts = s.split(sep)
        if len(parts) in counts and all(re.fullmatch(f"[0-9a-fA-F]{{{width}}}", p) for p in parts):
            return True
    return False


def _is_email(s: str) -> bool:
    if s.endswith(">") and "<" in s:
        s = s[s.rindex("<") + 1 : -1]
    return re.fullmatch(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+", s) is not None


def _uuid(version: str) -> Callable[[str], bool]:
    third, fourth = (f"{version}[0-9a-f]{{3}}", "[89ab][0-9a-f]{3}") if version else ("", "")
    return _matches(
        f"(?i)^[0-9a-f]{{8}}-?[0-9a-f]{{4}}-?{third or '[0-9a-f]{4}'}-?"
        f"{fourth or '[0-9a-f]{4}'}-?[0-9a-f]{{12}}\\Z"
    )


_FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "datetime": _is_date_time,
    "date": _is_date,
    "byte": _matches(
        r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})\Z"
    ),
    "uuid": _uuid(""),
    "uuid3": _uuid("3"),
    "uuid4": _uuid("4"),
    "uuid5": _uuid("5"),
    "email": _is_email,
    "ipv4": lambda s: _is_ip(s, True),
    "ipv6": lambda s: _is_ip(s, False),
    "cidr": _is_cidr,
    "mac": _is_mac,
    "hostname": lambda s: bool(_HOSTNAME.search(s)) and max(map(len, s.split("."))) <= 63,
    "hexcolor": _matches(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z"),
    "ssn": _matches(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}\Z"),
    "bsonobjectid": _matches(r"^[0-9a-fA-F]{24}\Z"),
}
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}  # fmt: skip
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str] | str:
    """Compile a Go RE2 pattern with Python's ``re``; return an error text when invalid."""
    if bad := _NOT_RE2.search(pattern):
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{bad.group()}`"
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        posix = re.match(r"\[:([a-z]+):\]", pattern[i:]) if in_class else None
        if c == "\\" and i + 1 < len(pattern):
            out.append("\\Z" if pattern[i + 1] == "z" else pattern[i : i + 2])
            i += 2
            continue
        if posix and posix[1] in _POSIX_CLASSES:
            out.append(_POSIX_CLASSES[posix[1]])
            i += len(posix[0])
            continue
        if in_class and c == "]":
            in_class = False
        elif not in_class and c == "[":
            in_class = True
            lead = re.match(r"\[\^?\]?", pattern[i:])
            out.append(lead[0] if lead else c)
            i += len(lead[0]) if lead else 1
            continue
        out.append("\\Z" if c == "$" and not in_class and not multiline else c)
        i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as exc:
        return f"error parsing regexp: {exc}"


def _format(schema: JSON) -> str:
    """The schema's format after apiserver strips the formats it does not support."""
    fmt = schema.get("format")
    return fmt if isinstance(fmt, str) and fmt.replace("-", "") in _SUPPORTED_FORMATS else ""


def _types(schema: JSON) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) and kind else []


# ---------------------------------------------------------------------------------------------
# Validation


def validate(obj: JSON, schema: JSON) -> list[FieldError]:
    """Validate ``obj`` like kube-apiserver validates a custom resource against its schema.

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
    errors = _Validator(None).node(obj, root, "")[0]
    _list_errors(obj, schema, "", errors)
    return errors


_META_NAMES = ("name", "generateName")


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

    def node(self, v: Any, s: JSON, path: str) -> tuple[list[FieldError], int]:
        """Errors of ``v`` at ``path`` against ``s`` and a count of the checks that ran."""
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
                    item_errors, item_count = self.node(item, items, f"{path}[{i}]")
                    errors += item_errors
                    count += item_count
            errors += self.array(v, s, path)
        if isinstance(enum, list) and enum and not any(_json_equal(v, e) for e in enum):
            errors.append(self.err(_NOT_SUPPORTED, path, _supported(enum), v))
        if isinstance(v, dict):
            object_errors, object_count = self.object(v, s, path)
            errors += object_errors
            count += object_count
        return errors, count

    def junctors(self, v: Any, s: JSON, path: str) -> tuple[list[FieldError], int]:
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

    def object(self, v: JSON, s: JSON, path: str) -> tuple[list[FieldError], int]:
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
                sub_errors, sub_count = self.node(item, sub, child)
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


def _list_errors(x: Any, s: Any, path: str, out: list[FieldError]) -> None:
    """apiextensions' ``ValidateListSetsAndMaps``: set members and map keys must be unique."""
    if not isinstance(s, dict):
        return
    if isinstance(x, dict):
        props = s.get("properties") or {}
        for k, v in x.items():
            if isinstance(s.get("additionalProperties"), dict):
                _list_errors(v, s["additionalProperties"], f"{path}[{k}]", out)
            if k in props:
                _list_errors(v, props[k], f"{path}.{k}" if path else k, out)
    elif isinstance(x, list):
        if s.get("x-kubernetes-list-type") == "set":
            out += [FieldError(_DUPLICATE, f"{path}[{i}]", "", x[i]) for i in _non_unique(x)]
        elif s.get("x-kubernetes-list-type") == "map":
            out += _list_map_errors(x, s.get("x-kubernetes-list-map-keys") or [], path)
        for i, item in enumerate(x):
            _list_errors(item, s.get("items"), f"{path}[{i}]", out)


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
    return [FieldError(_DUPLICATE, f"{path}[{i}]", "", shown[i]) for i in _non_unique(values)]


# ---------------------------------------------------------------------------------------------
# Structural schema checks

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
        _prune(pruned, s, [], [])
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
