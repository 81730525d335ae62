"""Field errors as kube-apiserver reports them, down to Go's formatting of the bad values.

Tests and clients compare these messages with a real cluster's, so ``FieldError`` copies Go's
``field.Error`` and the helpers here copy ``strconv.Quote``, ``%v``/``%#v`` and ``json.Marshal``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


class _Omitted:
    """The bad value of an error that shows none (Go's ``field.OmitValueType``)."""

    def __repr__(self) -> str:
        return "OMITTED"


OMITTED: Any = _Omitted()
"""Pass as ``bad_value`` for ``Invalid value: <detail>`` without the value."""


class JsonValue:
    """A bad value that ``field.Error`` shows as JSON (apiserver marshals the map-list keys of a
    duplicate entry before reporting them)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return _go_json(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonValue) and other.value == self.value

    def __hash__(self) -> int:
        return hash(_go_json(self.value))


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
        omitted = self.reason in _NO_VALUE or self.bad_value is OMITTED
        text = label if omitted else f"{label}: {_go_value(self.bad_value)}"
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
