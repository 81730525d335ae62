"""Validation of object metadata, following kube-apiserver's rules and messages.

Names, labels, annotations, finalizers and owner references are checked the same way for every
kind, built-in or custom, so code that works here does not fail on a real cluster over a name.
"""

from __future__ import annotations

import re
from typing import Any

from kontinue.kube.schema import FieldError

__all__ = [
    "DNS1123_LABEL",
    "DNS1123_SUBDOMAIN",
    "validate_metadata",
    "validate_name",
]

JSON = dict[str, Any]

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

DNS1123_LABEL = "label"
DNS1123_SUBDOMAIN = "subdomain"

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_QUALIFIED_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_MAX_ANNOTATIONS = 256 * 1024


def _invalid(field: str, value: object, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", field, detail, value)


def name_errors(name: str, rule: str) -> list[str]:
    """Why ``name`` is not a valid DNS-1123 label or subdomain (empty when it is)."""
    problems: list[str] = []
    if rule == DNS1123_LABEL:
        if len(name) > 63:
            problems.append("must be no more than 63 characters")
        if not _LABEL_RE.match(name):
            problems.append(_LABEL_MSG)
    else:
        if len(name) > 253:
            problems.append("must be no more than 253 characters")
        if not _SUBDOMAIN_RE.match(name):
            problems.append(_SUBDOMAIN_MSG)
    return problems


def validate_name(name: str, rule: str, field: str = "metadata.name") -> list[FieldError]:
    return [_invalid(field, name, p) for p in name_errors(name, rule)]


def qualified_name_errors(value: str) -> list[str]:
    """Errors for a qualified name such as a label key or a finalizer (``prefix/name``)."""
    problems: list[str] = []
    prefix, _, name = value.rpartition("/")
    if "/" in prefix:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    if value.endswith("/") or (not name):
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME_RE.match(name):
        problems.append(_QUALIFIED_MSG)
    if prefix or value.startswith("/"):
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems.extend(f"prefix part {p}" for p in name_errors(prefix, DNS1123_SUBDOMAIN))
    return problems


_STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def validate_metadata(
    obj: JSON,
    *,
    name_rule: str,
    namespaced: bool,
    max_name: int | None = None,
    core_finalizers: bool = False,
) -> list[FieldError]:
    """Check ``metadata`` of a new or updated object (name, labels, annotations, ...)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [FieldError("FieldValueRequired", "metadata", "", None)]
    errors: list[FieldError] = []
    name = meta.get("name")
    if not name:
        if meta.get("generateName"):
            pass  # filled in before validation; kept for completeness
        else:
            errors.append(
                FieldError(
                    "FieldValueRequired", "metadata.name", "name or generateName is required"
                )
            )
    elif not isinstance(name, str):
        errors.append(_invalid("metadata.name", name, "must be a string"))
    else:
        errors += validate_name(name, name_rule)
        if max_name is not None and len(name) > max_name:
            errors.append(
                _invalid("metadata.name", name, f"must be no more than {max_name} characters")
            )
    if not namespaced and meta.get("namespace"):
        errors.append(
            FieldError(
                "FieldValueForbidden",
                "metadata.namespace",
                "not allowed on this type",
                meta.get("namespace"),
            )
        )
    errors += _validate_string_map(meta.get("labels"), "metadata.labels", labels=True)
    errors += _validate_string_map(meta.get("annotations"), "metadata.annotations", labels=False)
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        if not isinstance(finalizers, list):
            errors.append(_invalid("metadata.finalizers", finalizers, "must be a list"))
        else:
            for i, fin in enumerate(finalizers):
                problems = (
                    ["must be a string"] if not isinstance(fin, str) else qualified_name_errors(fin)
                )
                errors += [_invalid("metadata.finalizers", fin, p) for p in problems]
                # the core group's kinds also want a domain-qualified name
                if (
                    core_finalizers
                    and isinstance(fin, str)
                    and "/" not in fin
                    and fin not in _STANDARD_FINALIZERS
                ):
                    errors.append(
                        _invalid(
                            f"metadata.finalizers[{i}]",
                            fin,
                            "name is neither a standard finalizer name nor is it fully qualified",
                        )
                    )
    refs = meta.get("ownerReferences")
    if refs is not None:
        if not isinstance(refs, list):
            errors.append(_invalid("metadata.ownerReferences", refs, "must be a list"))
        else:
            controllers = 0
            for i, ref in enumerate(refs):
                path = f"metadata.ownerReferences[{i}]"
                if not isinstance(ref, dict):
                    errors.append(_invalid(path, ref, "must be an object"))
                    continue
                for key in ("apiVersion", "kind", "name", "uid"):
                    if not ref.get(key):
                        errors.append(FieldError("FieldValueRequired", f"{path}.{key}", ""))
                controllers += 1 if ref.get("controller") else 0
            if controllers > 1:
                errors.append(
                    _invalid(
                        "metadata.ownerReferences",
                        refs,
                        "Only one reference can have Controller set to true",
                    )
                )
    return errors


def _validate_string_map(value: Any, path: str, *, labels: bool) -> list[FieldError]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_invalid(path, value, "must be a map of string keys to string values")]
    errors: list[FieldError] = []
    total = 0
    for key, val in value.items():
        errors += [_invalid(path, key, p) for p in qualified_name_errors(key)]
        if not isinstance(val, str):
            errors.append(_invalid(f"{path}[{key}]", val, "must be a string"))
            continue
        total += len(key) + len(val)
        if labels:  # upstream names the map itself for a bad value too
            if len(val) > 63:
                errors.append(_invalid(path, val, "must be no more than 63 bytes"))
            elif not _LABEL_VALUE_RE.match(val):
                errors.append(_invalid(path, val, _LABEL_VALUE_MSG))
    if not labels and total > _MAX_ANNOTATIONS:
        errors.append(
            FieldError(
                "FieldValueTooLong",
                path,
                f"Too long: must have at most {_MAX_ANNOTATIONS} bytes",
            )
        )
    return errors
