"""``--args JSON`` and ``--arg KEY=VALUE``: a function's arguments read per its published schema.

A value typed on a command line has no type of its own: ``--arg id=123`` is the string "123"
for a string argument and the number 123 for an integer one. So each value is read as JSON when
that fits the argument's schema, else as the text itself (and when neither fits, the JSON
reading goes on to the schema check, which names the field). A key the function does not take
is refused: its schema lists its arguments, and a misspelt one would be dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jsonschema

from kontinue.api import ordered_properties

from ._common import CliError, parse_json

__all__ = ["command_line_arguments", "split_pairs"]

JSON = dict[str, Any]


def split_pairs(pairs: Sequence[str], what: str = "--arg") -> list[tuple[str, str]]:
    """``KEY=VALUE`` options as (key, text) pairs; :class:`CliError` for one without ``=``."""
    split = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CliError(f"{what} {pair!r} is not KEY=VALUE")
        split.append((key, raw))
    return split


def parse_args_option(text: str | None) -> JSON:
    """``--args``: a JSON object."""
    if text is None:
        return {}
    parsed = parse_json(text, "--args")
    if not isinstance(parsed, dict):
        raise CliError('--args must be a JSON object, e.g. --args \'{"name": "ana"}\'')
    return parsed


def _open(schema: JSON) -> bool:
    """Whether ``schema`` takes keys it does not list (no properties, or additionalProperties
    allowed); pydantic models list theirs and ignore others."""
    extra = schema.get("additionalProperties")
    return not schema.get("properties") or extra is True or isinstance(extra, dict)


def _read(raw: str, prop: JSON | None, root: JSON) -> Any:
    """``raw`` as JSON when that fits ``prop``, else as text when that fits, else as JSON
    (or text) for the schema check to report."""
    try:
        parsed: Any = json.loads(raw)
        readable = True
    except json.JSONDecodeError:
        parsed, readable = raw, False
    if prop is None:
        return parsed
    validator = jsonschema.Draft202012Validator({**prop, "$defs": root.get("$defs") or {}})
    if readable and validator.is_valid(parsed):
        return parsed
    if validator.is_valid(raw):
        return raw
    return parsed


def command_line_arguments(
    given: JSON, pairs: Sequence[tuple[str, str]], schema: JSON, function: str
) -> JSON:
    """``given`` (from ``--args``) updated with each ``--arg`` read per ``schema`` (the
    function's published argument schema); :class:`CliError` naming a key it does not take."""
    properties = dict(ordered_properties(schema))
    arguments = dict(given)
    if not _open(schema):
        unknown = [k for k in [*given, *(key for key, _ in pairs)] if k not in properties]
        if unknown:
            takes = ", ".join(properties) or "none"
            raise CliError(f"{function} takes no argument {unknown[0]!r} (its arguments: {takes})")
    for key, raw in pairs:
        prop = properties.get(key)
        arguments[key] = _read(raw, prop if isinstance(prop, dict) else None, schema)
    return arguments
