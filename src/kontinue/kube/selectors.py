"""Kubernetes label and field selectors, parsed the way kube-apiserver parses them.

Every ``list`` and ``watch`` the dev server answers, and every selector kontinue builds for the
real cluster, goes through this module. Clients (kubectl, client-go, the Python client) send
selector strings that the real server accepts or rejects by the grammar of
``k8s.io/apimachinery/pkg/labels.Parse`` and ``k8s.io/apimachinery/pkg/fields.ParseSelector``;
anything laxer or stricter here would make the dev server disagree with a real cluster. So this is
a port of that grammar: the same tokens, the same validation of keys and values, the same
canonical text form (requirements sorted by key, set values sorted) and error messages shaped
like the server's.

The module is pure and stdlib-only, so both the dev server and client-side code can use it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kontinue.errors import KontinueError

__all__ = ["FieldSelector", "LabelSelector", "Requirement", "SelectorError"]


class SelectorError(KontinueError, ValueError):
    """A selector that the API server would reject; the message mirrors the server's.

    Also a ``ValueError``, as it was before it joined kontinue's error tree.
    """


# -- Validation of label keys and values (k8s.io/apimachinery/pkg/api/validate/content) --

_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE = re.compile(f"^{_NAME_FMT}$")
_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_NAME_FMT}')"
)
_VALUE_FMT = f"({_NAME_FMT})?"
_VALUE_RE = re.compile(f"^{_VALUE_FMT}$")
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_VALUE_FMT}')"
)
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = f"{_DNS_LABEL_FMT}(\\.{_DNS_LABEL_FMT})*"
_DNS_SUBDOMAIN_RE = re.compile(f"^{_DNS_SUBDOMAIN_FMT}$")
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_DNS_SUBDOMAIN_FMT}')"
)
_MAX_NAME = 63
_MAX_VALUE = 63
_MAX_SUBDOMAIN = 253
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_INT64 = (-(2**63), 2**63 - 1)


def _label_key_errors(key: str) -> list[str]:
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) > 2:
        return [
            f"a valid label key {_NAME_MSG} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > _MAX_SUBDOMAIN:
                errs.append(f"prefix part must be no more than {_MAX_SUBDOMAIN} bytes")
            if not _DNS_SUBDOMAIN_RE.match(prefix):
                errs.append(f"prefix part {_DNS_SUBDOMAIN_MSG}")
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > _MAX_NAME:
        errs.append(f"name part must be no more than {_MAX_NAME} bytes")
    if not _NAME_RE.match(name):
        errs.append(f"name part {_NAME_MSG}")
    return errs


def _label_value_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value.encode()) > _MAX_VALUE:
        errs.append(f"must be no more than {_MAX_VALUE} bytes")
    if not _VALUE_RE.match(value):
        errs.append(_VALUE_MSG)
    return errs


def _invalid(field: str, value: str, errs: list[str]) -> str:
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}: Invalid value: "{quoted}": {"; ".join(errs)}'


def _parse_int64(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``: optional sign and decimal digits, in range."""
    if not _INT_RE.match(text):
        return None
    number = int(text)
    return number if _INT64[0] <= number <= _INT64[1] else None


# -- Label selectors --

_OPERATORS = ("=", "!=", "in", "notin", "exists", "!exists", "gt", "lt")
_SET_OPERATORS = ("in", "notin")
_EMPTY_SET = "for 'in', 'notin' operators, values set can't be empty"
_ONE_VALUE = "exact-match compatibility requires one single value"
_NO_VALUES = "values set must be empty for exists and does not exist"
_ONE_NUMBER = "for 'Gt', 'Lt' operators, exactly one value is required"
_NOT_A_NUMBER = "for 'Gt', 'Lt' operators, the value must be an integer"
_EXPRESSION_OPERATORS = {
    "In": "in",
    "NotIn": "notin",
    "Exists": "exists",
    "DoesNotExist": "!exists",
}


@dataclass(frozen=True)
class Requirement:
    """One condition on one label key.

    ``operator`` is one of ``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!exists``, ``gt`` and
    ``lt`` (``==`` parses as ``=``). ``values`` is sorted and free of duplicates, as in the
    server's canonical form; it is empty for ``exists`` and ``!exists``.
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def create(cls, key: str, operator: str, values: Sequence[str] = ()) -> Requirement:
        """A validated requirement, checked as ``labels.NewRequirement`` checks it."""
        errors: list[str] = []
        key_errs = _label_key_errors(key)
        if key_errs:
            errors.append(_invalid("key", key, key_errs))
        if operator == "==":
            operator = "="
        vals = list(values)
        shown = json.dumps(vals)
        if operator in _SET_OPERATORS:
            if not vals:
                errors.append(f"values: Invalid value: {shown}: {_EMPTY_SET}")
        elif operator in ("=", "!="):
            if len(vals) != 1:
                errors.append(f"values: Invalid value: {shown}: {_ONE_VALUE}")
        elif operator in ("exists", "!exists"):
            if vals:
                errors.append(f"values: Invalid value: {shown}: {_NO_VALUES}")
        elif operator in ("gt", "lt"):
            if len(vals) != 1:
                errors.append(f"values: Invalid value: {shown}: {_ONE_NUMBER}")
            for i, val in enumerate(vals):
                if _parse_int64(val) is None:
                    errors.append(f'values[{i}]: Invalid value: "{val}": {_NOT_A_NUMBER}')
        else:
            errors.append(
                f'operator: Unsupported value: "{operator}": supported values: '
                + ", ".join(f'"{op}"' for op in _OPERATORS)
            )
        for i, val in enumerate(vals):
            value_errs = _label_value_errors(val)
            if value_errs:
                errors.append(_invalid(f"values[{i}][{key}]", val, value_errs))
        if errors:
            raise SelectorError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
        return cls(key, operator, tuple(sorted(set(vals))))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a set of labels satisfies this requirement (``Requirement.Matches``)."""
        op = self.operator
        if op == "exists":
            return self.key in labels
        if op == "!exists":
            return self.key not in labels
        if self.key not in labels:
            return op in ("!=", "notin")
        value = labels[self.key]
        if op in ("=", "in"):
            return value in self.values
        if op in ("!=", "notin"):
            return value not in self.values
        if op in ("gt", "lt") and len(self.values) == 1:
            have, want = _parse_int64(value), _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == "gt" else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == "exists":
            return self.key
        if op == "!exists":
            return "!" + self.key
        joined = ",".join(self.values)
        if op in _SET_OPERATORS:
            return f"{self.key} {op} ({joined})"
        symbol = {"=": "=", "!=": "!=", "gt": ">", "lt": "<"}.get(op, op)
        return f"{self.key}{symbol}{joined}"


# Tokens of the label selector lexer (labels.Lexer): a symbol or keyword is its own kind.
_IDENT, _END = "identifier", "end of string"
_NOT, _OPEN, _CLOSE, _COMMA = "!", "(", ")", ","
_SPECIAL = frozenset("=!(),><")
_SPACE = frozenset(" \t\r\n")
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"
_TOKEN_OPERATORS = {
    **{op: op for op in ("in", "notin", "=", "!=")},
    "==": "=",
    ">": "gt",
    "<": "lt",
}


def _lex(text: str) -> list[tuple[str, str]]:
    """Split a label selector into ``(kind, literal)`` pairs, ending with ``_END``."""
    text = text.split("\x00", 1)[0]  # the Go lexer reads bytes and stops at a NUL byte
    items: list[tuple[str, str]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _SPACE:
            pos += 1
        if pos >= len(text):
            items.append((_END, ""))
            return items
        if text[pos] in _SPECIAL:  # longest match: "==" and "!=" are the only 2-char symbols
            two = text[pos : pos + 2]
            symbol = two if two in ("==", "!=") else text[pos]
            items.append((symbol, symbol))
            pos += len(symbol)
            continue
        start = pos
        while pos < len(text) and text[pos] not in _SPECIAL and text[pos] not in _SPACE:
            pos += 1
        word = text[start:pos]
        items.append((word if word in ("in", "notin") else _IDENT, word))


class _LabelParser:
    """The recursive-descent parser of ``labels.Parse``, over the lexed tokens."""

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        if values and tok in ("in", "notin"):
            tok = _IDENT
        return tok, lit

    def take(self, values: bool = True) -> tuple[str, str]:
        item = self.peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _END:
                return requirements
            if tok not in (_IDENT, _NOT):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            tok, lit = self.take()
            if tok == _END:
                return requirements
            if tok != _COMMA:
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok, lit = self.peek()
            if tok not in (_IDENT, _NOT):
                raise SelectorError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        operator = ""
        tok, key = self.take()
        if tok == _NOT:
            operator = "!exists"
            tok, key = self.take()
        if tok != _IDENT:
            raise SelectorError(f"found '{key}', expected: identifier")
        key_errs = _label_key_errors(key)
        if key_errs:
            raise SelectorError(_invalid("<nil>", key, key_errs))
        if operator == "!exists":
            return Requirement.create(key, operator)
        if self.peek()[0] in (_END, _COMMA):
            return Requirement.create(key, "exists")
        tok, lit = self.take(values=False)
        if tok not in _TOKEN_OPERATORS:
            raise SelectorError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        operator = _TOKEN_OPERATORS[tok]
        values = self.set_values() if operator in _SET_OPERATORS else self.exact_value()
        return Requirement.create(key, operator, sorted(values))

    def set_values(self) -> set[str]:
        tok, lit = self.take()
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == _CLOSE:
            self.take()
            return {""}
        if tok not in (_IDENT, _COMMA):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.take()[0] != _CLOSE:
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == _CLOSE:
                    return values
                if tok2 != _COMMA:
                    raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == _COMMA:
                if not values:
                    values.add("")  # "(,"
                tok2, _ = self.peek()
                if tok2 in (_CLOSE, _COMMA):
                    values.add("")  # ",)" and ",,"
                    if tok2 == _CLOSE:
                        return values
            else:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, _ = self.peek()
        if tok in (_END, _COMMA):
            return {""}
        tok, lit = self.take()
        if tok == _IDENT:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of label requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse the ``labelSelector`` query parameter syntax, e.g. ``app=web,tier in (a,b)``.

        Raises :class:`SelectorError` with the server's message for anything it would reject.
        """
        requirements = _LabelParser(text).parse()
        return cls(tuple(sorted(requirements, key=lambda r: r.key)))

    @classmethod
    def from_match(
        cls,
        match_labels: Mapping[str, str] | None,
        match_expressions: Sequence[Mapping[str, Any]] | None,
    ) -> LabelSelector:
        """Convert a ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``).

        Operators are ``In``, ``NotIn``, ``Exists`` and ``DoesNotExist``, as in
        ``metav1.LabelSelectorAsSelector``.
        """
        requirements: list[Requirement] = []
        for key, value in (match_labels or {}).items():
            requirements.append(Requirement.create(key, "=", [value]))
        for expr in match_expressions or ():
            raw_op = expr.get("operator")
            operator = _EXPRESSION_OPERATORS.get(raw_op) if isinstance(raw_op, str) else None
            if operator is None:
                raise SelectorError(f'"{raw_op}" is not a valid label selector operator')
            expr_key = expr.get("key")
            if not isinstance(expr_key, str):
                raise SelectorError(f"invalid label selector expression key: {expr_key!r}")
            values = expr.get("values") or []
            if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
                raise SelectorError(f"invalid values for label selector key {expr_key!r}")
            requirements.append(Requirement.create(expr_key, operator, values))
        return cls(tuple(sorted(requirements, key=lambda r: r.key)))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether every requirement holds for ``labels`` (``None`` means no labels)."""
        labels = labels or {}
        return all(req.matches(labels) for req in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(req) for req in self.requirements)


# -- Field selectors --


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not backslash-escaped (``fields.splitTerms``)."""
    if not text:
        return []
    terms: list[str] = []
    start, escaped = 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """Split at the first operator; ``!=`` and ``==`` win over ``=`` at the same position."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(value: str) -> str:
    """``fields.UnescapeValue``: only ``\\\\``, ``\\,`` and ``\\=`` are valid escapes."""
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: '{char}'")
        else:
            out.append(char)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of ``field=value`` / ``field!=value`` terms over an object's field set.

    The server computes each object's field set (``metadata.name``, ``status.phase`` and so on);
    a field missing from that set compares as the empty string, as in ``fields.Set.Get``.
    """

    requirements: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse a ``fieldSelector`` query parameter, e.g. ``metadata.name=x,status.phase!=Done``.

        Values may escape ``\\``, ``,`` and ``=`` with a backslash. Terms are sorted, like the
        server does, and no whitespace is trimmed.
        """
        requirements: list[tuple[str, str, str]] = []
        for term in sorted(_split_terms(text)):
            if not term:
                continue
            split = _split_term(term)
            if split is None:
                raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
            field, op, raw = split
            value = _unescape(raw)
            if not field and not value:
                continue  # the server's Transform drops a term that is empty on both sides
            requirements.append((field, "!=" if op == "!=" else "=", value))
        return cls(tuple(requirements))

    def fields(self) -> set[str]:
        """The field names the selector refers to."""
        return {field for field, _, _ in self.requirements}

    def matches(self, values: Mapping[str, str]) -> bool:
        """Whether the object's field set satisfies every term."""
        for field, op, want in self.requirements:
            have = values.get(field, "")
            if (have == want) != (op == "="):
                return False
        return True

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(f"{field}{op}{_escape(value)}" for field, op, value in self.requirements)
