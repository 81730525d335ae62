"""Forms generated from JSON Schemas: a function's arguments, a suspension's resume data.

:func:`form_fields` turns a schema into fields a template renders as plain HTML inputs, with the
browser's own constraints (``required``, ``min``, ``pattern``...) so most mistakes are caught
before the form is sent, even without JavaScript. :func:`read_form` turns the submitted fields
back into a JSON value and checks it against the whole schema, naming each field that does not
fit; the page then shows the form again with those messages and what was typed.

Each field is named by its path (``args.target.replicas``). Objects with properties become
groups of fields; enums become choices; booleans a checkbox (a choice of true, false or unset
when the schema gives no default); arrays, free-form objects and unions of several types a JSON
text area. An empty input leaves the property out, so the function's default applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from kontinue.api import ordered_properties

__all__ = ["FormField", "FormProblem", "form_fields", "read_form", "schema_problems"]

JSON = dict[str, Any]
_OMIT: Any = object()


@dataclass
class FormField:
    """One input (or a group of them, for a nested object)."""

    path: str
    """The input's name: the property path under the form's prefix, dot-separated."""
    key: str
    label: str
    widget: str
    """text, integer, number, checkbox, tristate, select, json or group."""
    required: bool = False
    description: str = ""
    text: str = ""
    """The value shown in the input (the default, or what was submitted)."""
    checked: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    """(submitted value, label) pairs of a select; values are JSON texts."""
    attrs: dict[str, str] = field(default_factory=dict)
    """HTML constraint attributes: min, max, step, minlength, maxlength, pattern."""
    children: list[FormField] = field(default_factory=list)
    error: str = ""
    type_name: str = ""
    """What the field takes, for people: 'string', 'integer ≥ 1', 'JSON array'..."""


@dataclass(frozen=True)
class FormProblem:
    """A field whose submitted value does not fit (``(root)`` for the whole value)."""

    path: str
    message: str


def _resolve(prop: Any, root: JSON) -> JSON:
    if not isinstance(prop, dict):
        return {}
    ref = prop.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return prop
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    resolved = dict(_resolve(target, root)) if isinstance(target, dict) else {}
    resolved.update({k: v for k, v in prop.items() if k != "$ref"})
    return resolved


def _variants(prop: JSON, root: JSON) -> tuple[list[JSON], bool]:
    """The non-null alternatives of a property, and whether null is allowed."""
    options = prop.get("anyOf") or prop.get("oneOf")
    if not isinstance(options, list):
        kind = prop.get("type")
        if isinstance(kind, list):
            others = [k for k in kind if k != "null"]
            return [{**prop, "type": k} for k in others], "null" in kind
        return [prop], False
    resolved = [_resolve(o, root) for o in options]
    nullable = any(v.get("type") == "null" for v in resolved)
    kept = [v for v in resolved if v.get("type") != "null"]
    merged = [{**{k: w for k, w in prop.items() if k not in ("anyOf", "oneOf")}, **v} for v in kept]
    return merged, nullable


def _choices(variants: list[JSON]) -> list[Any] | None:
    found: list[Any] = []
    for variant in variants:
        if "enum" in variant and isinstance(variant["enum"], list):
            found += variant["enum"]
        elif "const" in variant:
            found.append(variant["const"])
        else:
            return None
    return found or None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _constraints(prop: JSON) -> tuple[dict[str, str], str]:
    attrs: dict[str, str] = {}
    notes: list[str] = []
    for keyword, attr, sign in (
        ("minimum", "min", "≥"),
        ("maximum", "max", "≤"),
        ("minLength", "minlength", "length ≥"),
        ("maxLength", "maxlength", "length ≤"),
    ):
        if keyword in prop:
            attrs[attr] = str(prop[keyword])
            notes.append(f"{sign} {prop[keyword]}")
    for keyword, attr, sign, step in (
        ("exclusiveMinimum", "min", ">", 1),
        ("exclusiveMaximum", "max", "<", -1),
    ):
        value = prop.get(keyword)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if prop.get("type") == "integer":
                attrs[attr] = str(int(value) + step)
            notes.append(f"{sign} {value}")
    pattern = prop.get("pattern")
    if isinstance(pattern, str):
        # JSON Schema searches for the pattern, HTML matches the whole value against it.
        head = "" if pattern.startswith("^") else ".*"
        tail = "" if pattern.endswith("$") and not pattern.endswith("\\$") else ".*"
        attrs["pattern"] = f"{head}(?:{pattern}){tail}" if head or tail else pattern
        notes.append(f"matching {pattern}")
    return attrs, ", ".join(notes)


def form_fields(
    schema: JSON | None,
    prefix: str,
    submitted: Mapping[str, str] | None = None,
    problems: list[FormProblem] | None = None,
) -> list[FormField]:
    """The fields of an object ``schema`` under ``prefix``; ``submitted`` texts (by path) and
    ``problems`` come from a previous :func:`read_form`, to show the form again."""
    root = schema or {}
    errors = {p.path: p.message for p in problems or []}
    return _object_fields(_resolve(root, root), root, prefix, submitted or {}, errors)


def _object_fields(
    node: JSON, root: JSON, prefix: str, submitted: Mapping[str, str], errors: dict[str, str]
) -> list[FormField]:
    required = set(node.get("required") or [])
    fields = []
    for key, prop in ordered_properties(node):
        path = f"{prefix}.{key}" if prefix else key
        fields.append(
            _field(key, path, _resolve(prop, root), root, key in required, submitted, errors)
        )
    return fields


def _field(
    key: str,
    path: str,
    prop: JSON,
    root: JSON,
    required: bool,
    submitted: Mapping[str, str],
    errors: dict[str, str],
) -> FormField:
    variants, nullable = _variants(prop, root)
    has_default = "default" in prop
    made = FormField(
        path=path,
        key=key,
        label=str(prop.get("title") or key),
        widget="json",
        required=required and not has_default,
        description=str(prop.get("description") or ""),
        text=submitted.get(path, _text(prop.get("default"))),
        error=errors.get(path, ""),
    )
    choices = _choices(variants)
    if choices is not None:
        made.widget = "select"
        made.choices = [(json.dumps(c), _text(c) if c is not None else "(none)") for c in choices]
        if nullable or not made.required:
            shown = f"(default: {_text(prop['default'])})" if has_default else "(not set)"
            made.choices.insert(0, ("", shown))
        chosen = submitted.get(path)
        made.text = (
            chosen if chosen is not None else (json.dumps(prop["default"]) if has_default else "")
        )
        made.type_name = "one of " + ", ".join(label for _, label in made.choices if _)
        return made
    kind = variants[0].get("type") if len(variants) == 1 else None
    only = variants[0] if len(variants) == 1 else {}
    if kind == "object" and isinstance(only.get("properties"), dict) and only["properties"]:
        made.widget = "group"
        made.children = _object_fields(only, root, path, submitted, errors)
        made.type_name = "object"
        if not made.required:  # its fields count only once one of them is given
            _optional(made.children, submitted)
        return made
    if kind == "boolean":
        if (made.required or has_default) and not nullable:
            made.widget = "checkbox"
            given = submitted.get(path)
            made.checked = given == "true" if given is not None else prop.get("default") is True
        else:
            made.widget = "tristate"
            made.choices = [("", "(not set)"), ("true", "true"), ("false", "false")]
        made.type_name = "boolean"
        return made
    if kind in ("integer", "number"):
        made.widget = kind
        made.attrs, notes = _constraints(only)
        made.attrs["step"] = "1" if kind == "integer" else "any"
        made.type_name = f"{kind} {notes}".strip()
        return made
    if kind == "string":
        made.widget = "text"
        made.attrs, notes = _constraints(only)
        fmt = only.get("format")
        made.type_name = " ".join(x for x in ("string", str(fmt or ""), notes) if x)
        return made
    made.type_name = f"JSON {kind}" if isinstance(kind, str) else "JSON"
    return made


def _optional(fields: list[FormField], submitted: Mapping[str, str]) -> None:
    """Fields of an optional object: none required, and defaults shown without being sent
    (else every submission would give the object)."""
    for each in fields:
        each.required = False
        _optional(each.children, submitted)
        if each.path in submitted:
            continue
        if each.widget in ("text", "integer", "number") and each.text:
            each.attrs["placeholder"] = each.text
            each.text = ""
        elif each.widget == "select":
            each.text = ""
        elif each.widget == "checkbox":
            each.widget = "tristate"
            each.choices = [("", "(not set)"), ("true", "true"), ("false", "false")]


# Reading a submitted form -------------------------------------------------------------------


def _parse(text: str, kind: str | None) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    return json.loads(text)


def read_form(
    schema: JSON | None, prefix: str, get_all: Callable[[str], list[str]]
) -> tuple[Any, list[FormProblem]]:
    """The JSON value of the submitted form for ``schema`` (fields under ``prefix``; ``get_all``
    gives every submitted value of a name) and the problems found: unreadable inputs first,
    then whatever the schema rejects, each named by its field path."""
    root = schema or {}
    problems: list[FormProblem] = []
    value = _read_object(_resolve(root, root), root, prefix, get_all, problems)
    if value is _OMIT:
        value = {}
    if not problems:
        problems = schema_problems(root, value, prefix)
    return value, problems


def _read_object(
    node: JSON,
    root: JSON,
    prefix: str,
    get_all: Callable[[str], list[str]],
    problems: list[FormProblem],
) -> Any:
    value: JSON = {}
    for key, prop in ordered_properties(node):
        path = f"{prefix}.{key}" if prefix else key
        read = _read_field(path, _resolve(prop, root), root, get_all, problems)
        if read is not _OMIT:
            value[key] = read
    return value if value else _OMIT


def _read_field(
    path: str,
    prop: JSON,
    root: JSON,
    get_all: Callable[[str], list[str]],
    problems: list[FormProblem],
) -> Any:
    variants, _ = _variants(prop, root)
    given = get_all(path)
    text = given[-1] if given else ""
    if _choices(variants) is not None:
        if text == "":
            return _OMIT
        return json.loads(text)
    kind = variants[0].get("type") if len(variants) == 1 else None
    only = variants[0] if len(variants) == 1 else {}
    if kind == "object" and isinstance(only.get("properties"), dict) and only["properties"]:
        return _read_object(only, root, path, get_all, problems)
    if kind == "boolean":
        # A checkbox sends a hidden "false" and, when ticked, "true" after it.
        return _OMIT if text == "" else text == "true"
    if kind == "string":
        return _OMIT if text == "" else text
    if text.strip() == "":
        return _OMIT
    try:
        return _parse(text.strip(), kind if isinstance(kind, str) else None)
    except ValueError:
        expected = {"integer": "a whole number", "number": "a number"}.get(str(kind), "valid JSON")
        problems.append(FormProblem(path, f"{text!r} is not {expected}"))
        return _OMIT


def schema_problems(schema: JSON, value: Any, prefix: str = "") -> list[FormProblem]:
    """Where ``value`` violates ``schema``, each named by its field path under ``prefix``."""
    if not schema:
        return []
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        parts = [str(p) for p in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next(
                (name for name in error.validator_value if name not in error.instance), None
            )
            if missing is not None:
                parts.append(str(missing))
        where = ".".join([prefix, *parts] if prefix else parts) or "(root)"
        found.append(FormProblem(where, error.message))
    return found
