"""``kontinue execute --interactive``: ask for each argument of a function.

The questions come from the Function's JSON Schema: each top-level property is asked with its
description, its default (Enter keeps it) and its choices; the answer is read as the property's
type and checked against the property's schema (type, enum, minimum, pattern...), and asked
again until it fits. Prompts go to stderr, so ``-o name`` or ``-o json`` output stays clean.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from kontinue.api import ordered_properties

from ._common import CliError

__all__ = ["prompt_arguments"]

JSON = dict[str, Any]

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_OMIT = object()


def _resolve(prop: JSON, root: JSON) -> JSON:
    """``prop`` with a local ``$ref`` replaced by its target (sibling keywords win)."""
    ref = prop.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return prop
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    resolved = dict(target) if isinstance(target, dict) else {}
    resolved.update({k: v for k, v in prop.items() if k != "$ref"})
    return resolved


def _variants(prop: JSON, root: JSON) -> list[JSON]:
    """The alternatives of an ``anyOf``/``oneOf`` property (the property itself otherwise)."""
    options = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(options, list):
        return [_resolve(o, root) for o in options if isinstance(o, dict)]
    return [prop]


def _types(prop: JSON, root: JSON) -> list[str]:
    found: list[str] = []
    for variant in _variants(prop, root):
        kind = variant.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
        found += [k for k in kinds if k not in found]
        if "enum" in variant and not kinds:
            found += [_json_type(v) for v in variant["enum"] if _json_type(v) not in found]
    return found


def _choices(prop: JSON, root: JSON) -> list[Any] | None:
    choices: list[Any] = []
    for variant in _variants(prop, root):
        if "enum" in variant:
            choices += list(variant["enum"])
        elif "const" in variant:
            choices.append(variant["const"])
        elif variant.get("type") == "null":
            choices.append(None)
        else:
            return None
    return choices or None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _parse(text: str, types: list[str]) -> Any:
    """The answer ``text`` read as the first of ``types`` it fits (strings last)."""
    if not types:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    lowered = text.strip().lower()
    for kind in ("null", "boolean", "integer", "number", "array", "object"):
        if kind not in types:
            continue
        if kind == "null" and lowered in ("null", "none"):
            return None
        if kind == "boolean" and lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        if kind == "integer":
            try:
                return int(text)
            except ValueError:
                pass
        if kind == "number":
            try:
                number = float(text)
            except ValueError:
                continue
            return int(number) if number.is_integer() and "." not in text else number
        if kind in ("array", "object"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                continue
            if _json_type(value) == kind:
                return value
    if "string" in types:
        return text
    raise ValueError(f"expected {' or '.join(types)}")


def _describe(key: str, prop: JSON, root: JSON, required: bool) -> str:
    types = _types(prop, root)
    kind = " or ".join(t for t in types if t != "null") or "any JSON"
    header = f"[bold]{escape(key)}[/bold] [dim]({kind}{', required' if required else ''})[/dim]"
    description = prop.get("description")
    if description:
        header += f": {escape(str(description))}"
    choices = _choices(prop, root)
    if choices is not None:
        header += "\n  choices: " + escape(", ".join(_show(c) for c in choices))
    if "default" in prop:
        header += f"\n  default: {escape(_show(prop['default']))} [dim](Enter keeps it)[/dim]"
    return header


def _ask_one(key: str, prop: JSON, root: JSON, required: bool, console: Console) -> Any:
    console.print(_describe(key, prop, root, required))
    validator = jsonschema.Draft202012Validator({**prop, "$defs": root.get("$defs") or {}})
    types = _types(prop, root)
    choices = _choices(prop, root)
    while True:
        try:
            text = Prompt.ask(f"  {escape(key)}", console=console, default="", show_default=False)
        except EOFError:
            console.print()  # the error goes on a line of its own
            raise CliError(f"--interactive: the input ended before {key!r} was given") from None
        if text == "":
            if "default" in prop or not required:
                return _OMIT
            console.print("  [red]a value is required[/red]")
            continue
        try:
            if choices is not None:
                matching = [c for c in choices if _show(c) == text.strip()]
                if not matching:
                    raise ValueError("choose one of " + ", ".join(_show(c) for c in choices))
                value = matching[0]
            else:
                value = _parse(text, types)
        except ValueError as problem:
            console.print(f"  [red]{escape(str(problem))}[/red]")
            continue
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            console.print(f"  [red]{escape(errors[0].message)}[/red]")
            continue
        return value


def prompt_arguments(schema: JSON, given: JSON, console: Console) -> JSON:
    """``given`` completed with an answer for every other top-level property of ``schema``."""
    arguments = dict(given)
    required = set(schema.get("required") or [])
    properties = dict(ordered_properties(schema))
    asked = [k for k in properties if k not in given]
    if not asked:
        return arguments
    for key in asked:
        prop = properties[key]
        prop = _resolve(prop, schema) if isinstance(prop, dict) else {}
        value = _ask_one(key, prop, schema, key in required, console)
        if value is not _OMIT:
            arguments[key] = value
    return arguments
