"""String formats and patterns: kube-openapi's format checkers and Go RE2 run by Python ``re``.

Formats apiserver does not support are stripped (not enforced); patterns get a light translation
from RE2 syntax, and one Python cannot compile is reported as invalid rather than ignored.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from collections.abc import Callable

from ._errors import JSON

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
