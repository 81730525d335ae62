"""OpenAPI documents of the served kinds: v3 per group version, v2 as one document.

``kubectl explain`` reads them (v3 since kubectl 1.27, v2 before), and ``kubectl apply`` asks
the v3 documents whether the server validates fields itself (a ``fieldValidation`` parameter on
each kind's PATCH operation; then it sends ``fieldValidation=Strict``) and falls back to
validating on the client with the v2 definitions.

Built-in kinds get their schemas from the protobuf descriptors (:mod:`.descriptors`): properties
named and inlined as in JSON, descriptions from the upstream source comments, ``required`` for
fields that are neither ``omitempty`` nor ``+optional``, and the list, map and patch markers as
``x-kubernetes-*`` extensions. Custom kinds get their CRD version's ``openAPIV3Schema`` with
``apiVersion``, ``kind`` and ``metadata`` added, and for v2 the rewrite kube-apiserver makes
(no ``nullable``, ``anyOf``, ``oneOf``, ``allOf``, ``not``; no properties under
``x-kubernetes-preserve-unknown-fields``). Every kind carries ``x-kubernetes-group-version-kind``.
All functions here are pure.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from .descriptors import Descriptors, Field, Message, marker_extensions, parse_markers
from .protobuf import message_name
from .resources import ResourceType

__all__ = [
    "builtin_message",
    "crd_model_name",
    "definition_name",
    "openapi_v2_document",
    "openapi_v3_document",
    "openapi_v3_index",
]

JSON = dict[str, Any]
Ref = Callable[[str], str]
_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
OBJECT_META = f"{_META}.ObjectMeta"
_V2_PREFIX = "#/definitions/"
_V3_PREFIX = "#/components/schemas/"
_TYPE_DESCRIPTIONS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object. "
    "Servers should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    "kind": "Kind is a string value representing the REST resource this object represents. "
    "Servers may infer this from the endpoint the client submits requests to. Cannot be "
    "updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    "metadata": "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}
# Types that marshal JSON by hand in Go: their schemas are not their protobuf fields.
_SPECIAL: dict[str, JSON] = {
    f"{_META}.Time": {"type": "string", "format": "date-time"},
    f"{_META}.MicroTime": {"type": "string", "format": "date-time"},
    f"{_META}.Duration": {"type": "string"},
    f"{_META}.FieldsV1": {"type": "object"},
    "k8s.io.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": {
        "type": "string",
        "format": "int-or-string",
    },
    "k8s.io.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}
# v3 knows "one of these types", v2 does not (kube-openapi's OpenAPIV3OneOfTypes).
_V3_ONE_OF = {
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": [{"type": "integer"}, {"type": "string"}],
    "k8s.io.apimachinery.pkg.api.resource.Quantity": [{"type": "string"}, {"type": "number"}],
}
_SCALARS: dict[int, JSON] = {
    1: {"type": "number", "format": "double"},
    2: {"type": "number", "format": "float"},
    3: {"type": "integer", "format": "int64"},
    4: {"type": "integer", "format": "int64"},
    5: {"type": "integer", "format": "int32"},
    8: {"type": "boolean"},
    9: {"type": "string"},
    12: {"type": "string", "format": "byte"},
    13: {"type": "integer", "format": "int32"},
}


def definition_name(message: str) -> str:
    """The OpenAPI name of a message: ``k8s.io.api.core.v1.Pod`` -> ``io.k8s.api.core.v1.Pod``."""
    if message.startswith("k8s.io."):
        return "io.k8s." + message[len("k8s.io.") :]
    return message


def crd_model_name(group: str, version: str, kind: str) -> str:
    """The OpenAPI name of a custom kind: the group's domain reversed, then version and kind."""
    return ".".join([*reversed(group.split(".")), version, kind])


def builtin_message(rt: ResourceType, version: str) -> str:
    """The protobuf message of a built-in kind."""
    return message_name(rt.api_version(version), rt.kind)


def _gvk(rt: ResourceType, version: str) -> JSON:
    return {"group": rt.group, "kind": rt.kind, "version": version}


# Built-in kinds: schemas from the descriptors ------------------------------------------------


def description(comment: str) -> str:
    """A source comment as an OpenAPI description: markers (``+optional``) out, lines joined."""
    paragraphs: list[list[str]] = [[]]
    for line in comment.splitlines():
        text = line.strip()
        if text.startswith(("+", "---")):
            continue
        if not text:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(text)
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _extensions(comment: str) -> JSON:
    return marker_extensions(parse_markers(comment))


def _value_schema(field: Field, ref: Ref) -> JSON:
    if field.message:
        return {"$ref": ref(field.message)}
    return dict(_SCALARS.get(field.scalar, {"type": "string"}))


def _field_schema(field: Field, ref: Ref, v3: bool) -> JSON:
    value = _value_schema(field, ref)
    if field.repeated:
        schema: JSON = {"type": "array", "items": value}
    elif field.is_map:
        schema = {"type": "object", "additionalProperties": value}
    elif "$ref" in value and v3:
        schema = {"allOf": [value]}  # as kube-apiserver: siblings of a v3 $ref are ignored
    else:
        schema = value
    text = description(field.comment)
    if text:
        schema["description"] = text
    schema.update(_extensions(field.comment))
    return schema


def _properties(
    message: Message, descriptors: Descriptors, ref: Ref, v3: bool
) -> tuple[JSON, list[str]]:
    properties: JSON = {}
    required: list[str] = []
    for field in message.fields:
        if not field.json:  # an inlined struct: its fields are ours
            inner, inner_required = _properties(
                descriptors.messages[field.message], descriptors, ref, v3
            )
            properties.update(inner)
            required.extend(inner_required)
            continue
        properties[field.json] = _field_schema(field, ref, v3)
        if not field.optional:
            required.append(field.json)
    return properties, required


def message_schema(
    name: str, descriptors: Descriptors, ref: Ref, *, v3: bool, gvks: list[JSON] | None = None
) -> JSON:
    """The OpenAPI schema of one message (a kind when ``gvks`` names it)."""
    message = descriptors.messages[name]
    text = description(message.comment)
    if name in _SPECIAL:
        schema = dict(_SPECIAL[name])
        if v3 and name in _V3_ONE_OF:
            schema = {"oneOf": _V3_ONE_OF[name], **{k: v for k, v in schema.items() if k != "type"}}
        if text:
            schema["description"] = text
        return schema
    properties, required = _properties(message, descriptors, ref, v3)
    schema = {"type": "object", "properties": properties}
    if text:
        schema["description"] = text
    if gvks:
        schema["properties"] = {
            "apiVersion": {"type": "string", "description": _TYPE_DESCRIPTIONS["apiVersion"]},
            "kind": {"type": "string", "description": _TYPE_DESCRIPTIONS["kind"]},
            **properties,
        }
        schema["x-kubernetes-group-version-kind"] = gvks
    if required:
        schema["required"] = required
    markers = parse_markers(message.comment)
    if "structType" in markers:
        schema["x-kubernetes-map-type"] = markers["structType"][0]
    return schema


def referenced(roots: Iterable[str], descriptors: Descriptors) -> list[str]:
    """The messages ``roots`` refer to, directly or not, themselves included (sorted)."""
    seen: set[str] = set()
    todo = [r for r in roots if r in descriptors.messages]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in _SPECIAL:
            todo.extend(f.message for f in descriptors.messages[name].fields if f.message)
    return sorted(seen)


def _schemas(
    kinds: dict[str, list[JSON]], extra: Iterable[str], descriptors: Descriptors, *, v3: bool
) -> JSON:
    prefix = _V3_PREFIX if v3 else _V2_PREFIX

    def ref(message: str) -> str:
        return prefix + definition_name(message)

    return {
        definition_name(name): message_schema(name, descriptors, ref, v3=v3, gvks=kinds.get(name))
        for name in referenced([*kinds, *extra], descriptors)
    }


# Custom kinds: schemas from the CRD ----------------------------------------------------------


def crd_schema(rt: ResourceType, version: str, *, v3: bool) -> JSON:
    """The schema of a custom kind at ``version``, as kube-apiserver publishes it."""
    source = rt.schemas.get(version)
    gvk = {"x-kubernetes-group-version-kind": [_gvk(rt, version)]}
    if not source:
        return {"type": "object", **gvk}
    if not v3 and source.get("x-kubernetes-preserve-unknown-fields"):
        # kubectl's v2 validation would refuse every field it is not told about.
        return {"type": "object", **gvk}
    schema = copy.deepcopy(source) if v3 else _to_v2(copy.deepcopy(source))
    prefix = _V3_PREFIX if v3 else _V2_PREFIX
    metadata_ref = {"$ref": prefix + definition_name(OBJECT_META)}
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": _TYPE_DESCRIPTIONS["apiVersion"]}
    properties["kind"] = {"type": "string", "description": _TYPE_DESCRIPTIONS["kind"]}
    properties["metadata"] = {
        **({"allOf": [metadata_ref]} if v3 else metadata_ref),
        "description": _TYPE_DESCRIPTIONS["metadata"],
    }
    schema.update(gvk)
    return schema


def _to_v2(schema: JSON) -> JSON:
    """What OpenAPI v2 (and kubectl's validation of it) can take of a structural schema."""
    for key in ("allOf", "oneOf", "anyOf", "not"):
        schema.pop(key, None)
    if schema.pop("nullable", False):
        for key in ("type", "items", "properties"):
            schema.pop(key, None)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        schema.pop("items", None)
        schema.pop("properties", None)
        if schema.get("type") == "object":
            del schema["type"]
    if schema.get("type") == "array" and "items" not in schema:
        del schema["type"]
    properties = schema.get("properties") or {}
    nullable = {name for name, sub in properties.items() if sub.get("nullable")}
    for name, sub in properties.items():
        properties[name] = _to_v2(sub)
    if nullable and "required" in schema:
        schema["required"] = [r for r in schema["required"] if r not in nullable]
        if not schema["required"]:
            del schema["required"]
    if isinstance(schema.get("items"), dict):
        schema["items"] = _to_v2(schema["items"])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        if extra.get("nullable"):
            schema.pop("required", None)
        schema["additionalProperties"] = _to_v2(extra)
    return schema


# Documents -----------------------------------------------------------------------------------


def _group_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


_WRITE_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation")
_QUERY_DESCRIPTIONS = {
    "dryRun": "When present, indicates that modifications should not be persisted.",
    "fieldManager": "A name associated with the actor or entity that is making these changes.",
    "fieldValidation": "How the server treats unknown and duplicate fields: Ignore, Warn "
    "(the default) or Strict.",
    "force": "Force is going to force Apply requests.",
    "labelSelector": "A selector to restrict the list of returned objects by their labels.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields.",
    "limit": "The maximum number of items to return in a list call.",
    "continue": "The continue token of the previous list call, for the next page.",
    "resourceVersion": "Which resourceVersion to list or watch from.",
    "watch": "Watch for changes instead of listing.",
    "propagationPolicy": "Whether and how garbage collection will be performed.",
}


def _query(*names: str) -> list[JSON]:
    return [
        {
            "name": name,
            "in": "query",
            "description": _QUERY_DESCRIPTIONS[name],
            "schema": {"type": "boolean" if name in ("force", "watch") else "string"},
        }
        for name in names
    ]


def _operation(rt: ResourceType, version: str, action: str, schema_ref: str) -> JSON:
    queries = {
        "list": ("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"),
        "post": _WRITE_PARAMETERS,
        "put": _WRITE_PARAMETERS,
        "patch": (*_WRITE_PARAMETERS, "force"),
        "delete": ("dryRun", "propagationPolicy"),
        "get": (),
    }[action]
    content = {"application/json": {"schema": {"$ref": schema_ref}}}
    operation: JSON = {
        "operationId": f"{action}{rt.kind}",
        "parameters": _query(*queries),
        "responses": {"200": {"description": "OK", "content": content}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt, version),
    }
    if action in ("post", "put"):
        operation["requestBody"] = {"content": content, "required": True}
    if action == "patch":
        types = ["application/json-patch+json", "application/merge-patch+json"]
        if not rt.is_custom:
            types.append("application/strategic-merge-patch+json")
        types.append("application/apply-patch+yaml")
        operation["requestBody"] = {
            "content": {t: {"schema": {"type": "object"}} for t in types},
            "required": True,
        }
    return operation


def _paths(rt: ResourceType, version: str, schema_ref: str) -> JSON:
    base = "/" + _group_path(rt.group, version)
    scope = f"{base}/namespaces/{{namespace}}" if rt.namespaced else base
    collection = f"{scope}/{rt.plural}"
    scope_parameters = (
        [{"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}]
        if rt.namespaced
        else []
    )
    name_parameter = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    item_parameters = [name_parameter, *scope_parameters]

    def op(action: str) -> JSON:
        return _operation(rt, version, action, schema_ref)

    paths = {
        collection: {"get": op("list"), "post": op("post"), "parameters": scope_parameters},
        f"{collection}/{{name}}": {
            "get": op("get"),
            "put": op("put"),
            "patch": op("patch"),
            "delete": op("delete"),
            "parameters": item_parameters,
        },
    }
    if rt.has_status:
        paths[f"{collection}/{{name}}/status"] = {
            "get": op("get"),
            "put": op("put"),
            "patch": op("patch"),
            "parameters": item_parameters,
        }
    return paths


def _info(kubernetes_version: str) -> JSON:
    return {"title": "Kubernetes (kontinue dev server)", "version": kubernetes_version}


@functools.cache
def _builtin_v3_schemas(descriptors: Descriptors, kinds_key: tuple[tuple[str, str], ...]) -> JSON:
    kinds: dict[str, list[JSON]] = {}
    for message, gvk in kinds_key:
        kinds.setdefault(message, []).append(orjson.loads(gvk))
    return _schemas(kinds, [], descriptors, v3=True)


def openapi_v3_document(
    types: list[ResourceType],
    group: str,
    version: str,
    descriptors: Descriptors,
    kubernetes_version: str,
) -> JSON:
    """``GET /openapi/v3/api/v1`` or ``/openapi/v3/apis/{group}/{version}``: ``types`` are the
    resources of that group version."""
    builtin = [
        (builtin_message(rt, version), orjson.dumps(_gvk(rt, version)).decode())
        for rt in types
        if not rt.is_custom and builtin_message(rt, version) in descriptors.messages
    ]
    schemas = dict(_builtin_v3_schemas(descriptors, tuple(sorted(set(builtin)))))
    paths: JSON = {}
    for rt in types:
        if rt.is_custom or builtin_message(rt, version) not in descriptors.messages:
            name = crd_model_name(rt.group, version, rt.kind)
            schemas[name] = crd_schema(rt, version, v3=True)
            if rt.is_custom:
                schemas.update(_builtin_v3_schemas(descriptors, ((OBJECT_META, "[]"),)))
            else:  # a built-in kind without descriptors (CustomResourceDefinition)
                schemas[name]["x-kubernetes-preserve-unknown-fields"] = True
        else:
            name = definition_name(builtin_message(rt, version))
        paths.update(_paths(rt, version, _V3_PREFIX + name))
    return {
        "openapi": "3.0.0",
        "info": _info(kubernetes_version),
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def openapi_v3_index(documents: dict[tuple[str, str], bytes]) -> JSON:
    """``GET /openapi/v3``: where each group version's document is, with a hash of its bytes."""
    paths = {}
    for (group, version), data in sorted(documents.items()):
        path = _group_path(group, version)
        digest = hashlib.sha512(data).hexdigest().upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def openapi_v2_document(
    types: list[ResourceType], descriptors: Descriptors, kubernetes_version: str
) -> JSON:
    """``GET /openapi/v2``: the definitions of every served kind (``paths`` left empty)."""
    kinds: dict[str, list[JSON]] = {}
    definitions: JSON = {}
    for rt in types:
        for version in rt.served_versions:
            message = builtin_message(rt, version)
            if not rt.is_custom and message in descriptors.messages:
                kinds.setdefault(message, []).append(_gvk(rt, version))
            elif rt.is_custom:
                name = crd_model_name(rt.group, version, rt.kind)
                definitions[name] = crd_schema(rt, version, v3=False)
    definitions.update(_schemas(kinds, [OBJECT_META], descriptors, v3=False))
    return {
        "swagger": "2.0",
        "info": _info(kubernetes_version),
        "paths": {},
        "definitions": dict(sorted(definitions.items())),
    }
