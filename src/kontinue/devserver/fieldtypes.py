"""The shape of objects as field management sees it: structured-merge-diff's schema, in Python.

Server-side apply and ``managedFields`` need to know, for every node of an object, whether it is
a struct with named fields, a map of arbitrary keys, a list and how its items are identified, or
a scalar; and whether a map or list is *atomic* (owned and replaced as a whole) or *granular*
(each key or item owned on its own). kube-apiserver derives this from the OpenAPI documents
(``kube-openapi``'s ``schemaconv``); the rules it applies are reproduced here:

- a list is atomic unless ``x-kubernetes-list-type`` says ``set`` (items identified by value) or
  ``map`` (by ``x-kubernetes-list-map-keys``); without a list type, a strategic-merge
  ``patchStrategy: merge`` makes it a map keyed by ``patchMergeKey`` (a set without one);
- a struct or map is granular unless ``x-kubernetes-map-type: atomic`` (``+structType=atomic`` of
  Go types such as ``OwnerReference``, ``LabelSelector``, ``ObjectReference``);
- a node without a type (``x-kubernetes-preserve-unknown-fields``, ``x-kubernetes-int-or-string``)
  is *deduced* from its value: maps are granular, lists atomic.

Built-in kinds get their types from the protobuf descriptors the dev server ships (their source
comments carry the ``+listType``/``+listMapKey``/``+patchMergeKey``/``+structType`` markers),
custom resources from their CRD version's structural schema, with ``metadata`` typed as
``ObjectMeta``. CustomResourceDefinitions themselves, which have no descriptors here, get a
hand-written type (:data:`CRD_TYPE`).

:func:`builtin_zero` is the object a create is compared with: what Go's encoding of an empty
struct of the kind shows (structs, and non-``omitempty`` nil lists and maps as ``null``), since
that decides which maps a creator owns as a whole (FieldsV1's ``"."``).
"""

from __future__ import annotations

import functools
from typing import Any, Final

import orjson

from .descriptors import Field, Message, descriptors, marker_extensions, parse_markers

__all__ = [
    "ATOMIC",
    "BOOLEAN_TYPE",
    "CRD_TYPE",
    "CRD_ZERO",
    "DEDUCED",
    "KEYED",
    "LIST",
    "MAP",
    "NUMERIC_TYPE",
    "SCALAR",
    "SCALAR_TYPE",
    "SET",
    "STRING_TYPE",
    "Type",
    "builtin_type",
    "builtin_zero",
    "custom_type",
]

JSON = dict[str, Any]

# Facets: what a node may be (an untyped node may be any of them).
SCALAR: Final = 1
MAP: Final = 2
LIST: Final = 4

# How a list's items are identified.
ATOMIC: Final = "atomic"  # not at all: the list is one value
SET: Final = "set"  # by their (scalar) value
KEYED: Final = "map"  # by the values of their key fields


class Type:
    """One node's type: which facets it has and, per facet, how its children are typed."""

    __slots__ = (
        "defaults",
        "elements",
        "facets",
        "fields",
        "items",
        "keys",
        "list_kind",
        "map_atomic",
        "scalar",
    )

    def __init__(
        self,
        facets: int,
        *,
        fields: dict[str, Type] | None = None,
        elements: Type | None = None,
        map_atomic: bool = False,
        items: Type | None = None,
        list_kind: str = ATOMIC,
        keys: tuple[str, ...] = (),
        defaults: JSON | None = None,
        scalar: str = "untyped",
    ) -> None:
        self.facets = facets
        self.scalar = scalar  # numeric | string | boolean | untyped
        self.fields: dict[str, Type] = fields if fields is not None else {}
        self.elements = elements  # the type of undeclared keys (None: none are declared)
        self.map_atomic = map_atomic
        self.items = items
        self.list_kind = list_kind
        self.keys = keys
        self.defaults: JSON = defaults if defaults is not None else {}

    def field(self, name: str) -> Type:
        """The type of the map key ``name`` (an undeclared key of a struct is deduced)."""
        found = self.fields.get(name)
        if found is not None:
            return found
        return self.elements if self.elements is not None else DEDUCED

    def facet(self, value: Any) -> int:
        """The facet ``value`` is handled as (the declared one when its kind does not match)."""
        facets = self.facets
        if isinstance(value, dict):
            if facets & MAP:
                return MAP
        elif isinstance(value, list):
            if facets & LIST:
                return LIST
        elif value is not None and facets & SCALAR:
            return SCALAR
        if facets & MAP:
            return MAP
        return SCALAR if facets & SCALAR else LIST

    def with_map_atomic(self, atomic: bool) -> Type:
        """This type with its map facet's relationship overridden (a field's ``mapType``)."""
        if atomic == self.map_atomic:
            return self
        copy = Type(self.facets)
        for slot in Type.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.map_atomic = atomic
        return copy


SCALAR_TYPE: Final = Type(SCALAR)  # any scalar (times, quantities, int-or-string, ...)
NUMERIC_TYPE: Final = Type(SCALAR, scalar="numeric")
STRING_TYPE: Final = Type(SCALAR, scalar="string")
BOOLEAN_TYPE: Final = Type(SCALAR, scalar="boolean")
# An untyped atomic node (RawExtension, the items of a deduced list).
UNTYPED: Final = Type(SCALAR | MAP | LIST, map_atomic=True)
UNTYPED.elements = UNTYPED
UNTYPED.items = UNTYPED
#: A node whose kind is deduced from its value: granular maps, atomic lists.
DEDUCED: Final = Type(SCALAR | MAP | LIST, items=UNTYPED)
DEDUCED.elements = DEDUCED


def _list_type(items: Type, extensions: dict[str, Any]) -> Type:
    """A list type from ``x-kubernetes-*`` extensions (``getListElementRelationship``)."""
    list_type = extensions.get("x-kubernetes-list-type")
    if list_type is not None:
        if list_type == "set":
            return Type(LIST, items=items, list_kind=SET)
        if list_type == "map":
            keys = extensions.get("x-kubernetes-list-map-keys") or []
            return Type(LIST, items=items, list_kind=KEYED, keys=tuple(str(k) for k in keys))
        return Type(LIST, items=items)
    strategy = extensions.get("x-kubernetes-patch-strategy")
    if strategy in ("merge", "merge,retainKeys"):
        key = extensions.get("x-kubernetes-patch-merge-key")
        if key:
            return Type(LIST, items=items, list_kind=KEYED, keys=(str(key),))
        return Type(LIST, items=items, list_kind=SET)
    return Type(LIST, items=items)


# Built-in kinds ------------------------------------------------------------------------------

_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
OBJECT_META: Final = f"{_META}.ObjectMeta"
# Go types that marshal themselves: scalars, with the value Go shows for their zero.
_SCALAR_MESSAGES: dict[str, Any] = {
    f"{_META}.Time": None,
    f"{_META}.MicroTime": None,
    f"{_META}.Duration": "0s",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": 0,
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "0",
}
_RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"
_FIELDS_V1 = f"{_META}.FieldsV1"
_BOOL, _STRING, _BYTES = 8, 9, 12  # FieldDescriptorProto types


def _flat_fields(message: Message) -> list[Field]:
    """A message's fields with inlined (embedded) structs' fields in their place."""
    out: list[Field] = []
    for field in message.fields:
        if field.json:
            out.append(field)
        elif field.message in descriptors().messages:
            out.extend(_flat_fields(descriptors().messages[field.message]))
    return out


_BUILTIN_TYPES: dict[str, Type] = {}


def builtin_type(message: str) -> Type:
    """The type of a protobuf message (a kind or a struct it refers to)."""
    found = _BUILTIN_TYPES.get(message)
    if found is not None:
        return found
    if message in _SCALAR_MESSAGES:
        return SCALAR_TYPE
    if message == _RAW_EXTENSION:
        return UNTYPED
    spec = descriptors().messages.get(message)
    if spec is None or message == _FIELDS_V1:
        return DEDUCED
    markers = parse_markers(spec.comment)
    struct = Type(MAP, map_atomic=markers.get("structType", [""])[0] == "atomic")
    _BUILTIN_TYPES[message] = struct  # before its fields: types may refer to themselves
    for field in _flat_fields(spec):
        field_markers = parse_markers(field.comment)
        struct.fields[field.json] = _field_type(field, field_markers)
        if "default" in field_markers:
            try:
                struct.defaults[field.json] = orjson.loads(field_markers["default"][0])
            except orjson.JSONDecodeError:
                struct.defaults[field.json] = field_markers["default"][0]
    return struct


def _scalar_type(proto_type: int) -> Type:
    if proto_type == _BOOL:
        return BOOLEAN_TYPE
    if proto_type in (_STRING, _BYTES):
        return STRING_TYPE
    return NUMERIC_TYPE


def _field_type(field: Field, markers: dict[str, list[str]]) -> Type:
    value = builtin_type(field.message) if field.message else _scalar_type(field.scalar)
    if field.repeated:
        return _list_type(value, marker_extensions(markers))
    if field.is_map:
        return Type(MAP, elements=value, map_atomic=markers.get("mapType", [""])[0] == "atomic")
    if "mapType" in markers and field.message:
        return value.with_map_atomic(markers["mapType"][0] == "atomic")
    return value


@functools.cache
def builtin_zero(message: str) -> JSON:
    """What Go's encoding shows of an empty struct ``message`` (a create starts from it)."""
    out: JSON = {}
    spec = descriptors().messages.get(message)
    if spec is None:
        return out
    for field in _flat_fields(spec):
        if field.omitzero:
            continue
        if field.repeated or field.is_map:
            if not field.omitempty:
                out[field.json] = None
        elif field.message:
            if field.pointer:
                if not field.omitempty:
                    out[field.json] = None
            elif field.message in _SCALAR_MESSAGES:  # structs: never "empty", even omitempty
                out[field.json] = _SCALAR_MESSAGES[field.message]
            elif field.message == _RAW_EXTENSION:
                out[field.json] = None
            else:  # a struct is never "empty" to encoding/json
                out[field.json] = builtin_zero(field.message)
        elif not field.omitempty:
            if field.pointer:
                out[field.json] = None
            elif field.scalar == _BOOL:
                out[field.json] = False
            elif field.scalar in (_STRING, _BYTES):
                out[field.json] = ""
            else:
                out[field.json] = 0
    return out


# Custom resources ----------------------------------------------------------------------------


def _schema_type(schema: Any, preserve: bool) -> Type:
    """The type of a structural schema node (``schemaconv``'s ``parseSchema``)."""
    if not isinstance(schema, dict):
        return DEDUCED
    preserve = preserve or schema.get("x-kubernetes-preserve-unknown-fields") is True
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return NUMERIC_TYPE
    if kind == "boolean":
        return BOOLEAN_TYPE
    if kind == "string":
        return STRING_TYPE if schema.get("format") in (None, "", "byte") else SCALAR_TYPE
    if kind == "object":
        return _object_type(schema, preserve, MAP)
    if kind == "array":
        return _array_type(schema, preserve, LIST)
    if kind:
        return SCALAR_TYPE
    untyped = _object_type(schema, preserve, SCALAR | MAP | LIST)
    listed = _array_type(schema, preserve, LIST)
    untyped.items, untyped.list_kind, untyped.keys = listed.items, listed.list_kind, listed.keys
    return untyped


def _object_type(schema: JSON, preserve: bool, facets: int) -> Type:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    extra = schema.get("additionalProperties")
    elements: Type | None
    if isinstance(extra, dict):
        elements = _schema_type(extra, preserve)
    elif extra is True or (extra is None and (preserve or not properties)):
        elements = DEDUCED
    else:
        elements = None
    out = Type(
        facets,
        fields={name: _schema_type(sub, preserve) for name, sub in properties.items()},
        elements=elements,
        map_atomic=schema.get("x-kubernetes-map-type") == "atomic",
        defaults={
            name: sub["default"]
            for name, sub in properties.items()
            if isinstance(sub, dict) and "default" in sub
        },
    )
    if schema.get("x-kubernetes-embedded-resource"):
        out.fields.setdefault("apiVersion", STRING_TYPE)
        out.fields.setdefault("kind", STRING_TYPE)
        out.fields["metadata"] = builtin_type(OBJECT_META)
    return out


def _array_type(schema: JSON, preserve: bool, facets: int) -> Type:
    items = schema.get("items")
    item_type = _schema_type(items, preserve) if isinstance(items, dict) else UNTYPED
    out = _list_type(item_type, schema)
    out.facets = facets
    return out


_CUSTOM_TYPES: dict[int, tuple[JSON, Type]] = {}


def custom_type(schema: JSON | None) -> Type:
    """The type of a custom resource whose version has the structural ``schema``."""
    key = id(schema)
    cached = _CUSTOM_TYPES.get(key)
    if cached is not None and cached[0] is schema:
        return cached[1]
    root = _schema_type(schema, False) if schema else Type(MAP, elements=DEDUCED)
    if not root.facets & MAP:
        root = Type(MAP, elements=DEDUCED)
    root.fields = {
        **root.fields,
        "apiVersion": STRING_TYPE,
        "kind": STRING_TYPE,
        "metadata": builtin_type(OBJECT_META),
    }
    if len(_CUSTOM_TYPES) > 512:  # schemas of deleted or changed CRDs
        _CUSTOM_TYPES.clear()
    _CUSTOM_TYPES[key] = (schema or {}, root)  # the schema is kept: its id stays unique
    return root


# CustomResourceDefinitions -------------------------------------------------------------------


def _struct(fields: dict[str, Type], **kw: Any) -> Type:
    return Type(MAP, fields=fields, **kw)


def _atomic_list(items: Type = STRING_TYPE) -> Type:
    return Type(LIST, items=items)


def _crd_type() -> Type:
    names = _struct(
        {
            name: _atomic_list() if name in ("shortNames", "categories") else STRING_TYPE
            for name in ("plural", "singular", "shortNames", "kind", "listKind", "categories")
        }
    )
    condition = _struct(
        dict.fromkeys(("type", "status", "reason", "message"), STRING_TYPE)
        | {"lastTransitionTime": SCALAR_TYPE, "observedGeneration": NUMERIC_TYPE}
    )
    webhook = _struct(
        {
            "clientConfig": _struct({}, elements=DEDUCED),
            "conversionReviewVersions": _atomic_list(),
        }
    )
    return _struct(
        {
            "apiVersion": STRING_TYPE,
            "kind": STRING_TYPE,
            "metadata": builtin_type(OBJECT_META),
            "spec": _struct(
                {
                    "group": STRING_TYPE,
                    "names": names,
                    "scope": STRING_TYPE,
                    "versions": _atomic_list(DEDUCED),
                    "conversion": _struct({"strategy": STRING_TYPE, "webhook": webhook}),
                    "preserveUnknownFields": BOOLEAN_TYPE,
                }
            ),
            "status": _struct(
                {
                    "conditions": Type(LIST, items=condition, list_kind=KEYED, keys=("type",)),
                    "acceptedNames": names,
                    "storedVersions": _atomic_list(),
                }
            ),
        }
    )


#: The type of apiextensions.k8s.io/v1 CustomResourceDefinition.
CRD_TYPE: Final = _crd_type()
#: Go's encoding of an empty CustomResourceDefinition.
CRD_ZERO: Final[JSON] = {
    "metadata": {},
    "spec": {"group": "", "names": {"plural": "", "kind": ""}, "scope": "", "versions": None},
    "status": {
        "conditions": None,
        "acceptedNames": {"plural": "", "kind": ""},
        "storedVersions": None,
    },
}
