"""Durations as Kubernetes users write them: ``30s``, ``5m``, ``1h30m``, ``7d``, ``500ms``.

Resources store durations as strings, like ``metav1.Duration``, with two differences: a day unit
(``d``, 24 hours, because TTLs are counted in days) and no units below a microsecond (Python's
``timedelta`` cannot hold them).  Go's ``time.Duration.String()`` forms such as ``1h0m0s`` or
``1m30.5s`` parse too.  In Python a duration is a :class:`~datetime.timedelta`; a model field also
accepts seconds as a number.  The CRD schema checks the same grammar with :data:`DURATION_PATTERN`,
so a string the model accepts is one the API server accepts; the server is laxer only about
fractions finer than a microsecond and durations too long for a ``timedelta``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["DURATION_PATTERN", "Duration", "format_duration", "parse_duration"]

_MICROSECONDS = {
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
}
_UNITS_TEXT = "d, h, m, s, ms or us"

DURATION_PATTERN = r"^(0|([0-9]+(\.[0-9]+)?(d|h|ms|m|s|us))+)$"
"""The RE2 pattern of a duration string in the CRD schemas (same grammar as the parser)."""

_STRING = re.compile(DURATION_PATTERN)
_COMPONENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)(d|h|ms|m|s|us)")


def _invalid(value: object, why: str) -> ValueError:
    return ValueError(
        f"invalid duration {value!r}: {why}; "
        f"write a number and a unit ({_UNITS_TEXT}), e.g. '30s', '5m', '1h30m', '7d', '500ms'"
    )


def parse_duration(value: object) -> timedelta:
    """A :class:`timedelta` from a duration string, a number of seconds, or a timedelta.

    Raises :class:`ValueError` naming the value and the accepted units for anything else,
    including negative durations (no field of ours has a use for them).
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise _invalid(value, "a boolean is not a duration")
    elif isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise _invalid(value, "not a finite number of seconds")
        try:
            result = timedelta(seconds=value)
        except OverflowError as exc:
            raise _invalid(value, "too long") from exc
    elif isinstance(value, str):
        result = _parse_string(value)
    else:
        raise _invalid(value, f"a {type(value).__name__} is not a duration")
    if result < timedelta(0):
        raise _invalid(value, "durations cannot be negative")
    return result


def _parse_string(text: str) -> timedelta:
    if not _STRING.fullmatch(text):
        if text.startswith("-"):
            raise _invalid(text, "durations cannot be negative")
        why = "no unit" if re.fullmatch(r"[0-9.]+", text) else "not a duration"
        raise _invalid(text, why)
    total = sum(
        (Decimal(number) * _MICROSECONDS[unit] for number, unit in _COMPONENT.findall(text)),
        Decimal(0),
    )
    if total != total.to_integral_value():
        raise _invalid(text, "finer than a microsecond")
    try:
        return timedelta(microseconds=int(total))
    except OverflowError as exc:
        raise _invalid(text, "too long") from exc


def format_duration(value: timedelta) -> str:
    """The most compact exact string for ``value``: ``1m30s``, ``1d``, ``1s500ms``, ``0s``.

    Units run from days down to microseconds, each used at most once, so the result parses back
    to the same ``timedelta``.
    """
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError(f"cannot format the negative duration {value!r}")
    if micros == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _MICROSECONDS.items():
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
"""A non-negative ``timedelta`` that reads and writes duration strings such as ``1h30m``.

Accepts a ``timedelta``, seconds as ``int``/``float``, or a string of ``<number><unit>`` parts
(units ``d``, ``h``, ``m``, ``s``, ``ms``, ``us``); JSON output is :func:`format_duration`.
"""
