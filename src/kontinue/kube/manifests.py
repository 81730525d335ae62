"""Manifests (what ``kubectl apply -f`` reads) into objects, without I/O.

:func:`load_manifests` splits YAML documents (``---``) or JSON objects into Kubernetes objects
and unpacks ``List`` documents; ``AsyncKubeClient.parse_manifests`` (and the blocking client's)
adds what needs the server: checking each kind through discovery and building typed objects.
Times stay strings, as the API server reads them (plain YAML would make ``datetime``s of them).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = ["declared_kind", "load_manifests"]

JSON = dict[str, Any]

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader, with timestamps left as the strings they are in Kubernetes objects."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rule) for tag, rule in rules if tag != "tag:yaml.org,2002:timestamp"]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_manifests(text: str | bytes) -> list[tuple[int, JSON]]:
    """The objects of a manifest as ``(document number, object)``, in order.

    ``text`` is YAML (documents separated by ``---``; JSON is YAML too) or a stream of JSON
    objects. Empty documents are skipped; a ``List`` (or ``ConfigMapList``...) gives its items.
    Raises :class:`ValueError` naming the document for one that is not an object or lacks
    ``apiVersion`` or ``kind``.
    """
    source = text.decode() if isinstance(text, bytes) else text
    documents = _json_documents(source) if source.lstrip().startswith("{") else None
    if documents is None:
        try:
            documents = list(yaml.load_all(source, Loader=_Loader))
        except yaml.YAMLError as exc:
            raise ValueError(f"the manifest is not valid YAML: {exc}") from exc
    objects: list[tuple[int, JSON]] = []
    for number, document in enumerate(documents, 1):
        if document is None:
            continue
        for obj in _unpack(number, document):
            objects.append((number, obj))
    return objects


def declared_kind(cls: type[Any]) -> tuple[str, str] | None:
    """``(apiVersion, kind)`` a pydantic model class declares through the defaults of its
    ``api_version`` (or ``apiVersion``) and ``kind`` fields, if it does."""
    fields = getattr(cls, "model_fields", None)
    if not isinstance(fields, dict):
        return None
    version_field = fields.get("api_version") or fields.get("apiVersion")
    kind_field = fields.get("kind")
    api_version = getattr(version_field, "default", None)
    kind = getattr(kind_field, "default", None)
    if isinstance(api_version, str) and isinstance(kind, str) and api_version and kind:
        return api_version, kind
    return None


def _json_documents(source: str) -> list[Any] | None:
    """Whitespace-separated JSON values, or None when ``source`` is not that (then it is read
    as YAML, which also gives the better error message)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    at = 0
    while True:
        while at < len(source) and source[at].isspace():
            at += 1
        if at == len(source):
            return documents
        try:
            value, at = decoder.raw_decode(source, at)
        except ValueError:
            return None
        documents.append(value)


def _unpack(number: int, document: Any) -> list[JSON]:
    if not isinstance(document, dict):
        raise ValueError(
            f"document {number} of the manifest is a {type(document).__name__}, not an object"
        )
    kind, api_version = document.get("kind"), document.get("apiVersion")
    missing = [name for name, value in (("apiVersion", api_version), ("kind", kind)) if not value]
    if missing:
        raise ValueError(
            f"document {number} of the manifest has no {' or '.join(missing)} "
            "(every object needs apiVersion and kind)"
        )
    items = document.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        item_kind = kind.removesuffix("List")
        unpacked = []
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"an item of the {kind} in document {number} is not an object")
            if item_kind:
                item = {"apiVersion": api_version, "kind": item_kind, **item}
            unpacked.extend(_unpack(number, item))
        return unpacked
    return [document]
