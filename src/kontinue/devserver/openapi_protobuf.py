"""OpenAPI v2 in protobuf, the form kubectl up to 1.26 asks ``/openapi/v2`` for.

The messages are gnostic's ``openapi.v2`` (``OpenAPIv2.proto``, in the descriptor file of
:mod:`.descriptors`). Values that may be any JSON (defaults, enums, examples, ``x-`` extensions)
travel as YAML text; JSON is YAML, so they are written as JSON.
"""

from __future__ import annotations

from typing import Any

import orjson

from .descriptors import Descriptors

__all__ = ["encode_openapi_v2"]

JSON = dict[str, Any]
_PACKAGE = "openapi.v2"
_STRINGS = {"format": "format", "title": "title", "description": "description"}
_STRINGS |= {"pattern": "pattern", "discriminator": "discriminator", "$ref": "_ref"}
_NUMBERS = {"multipleOf": "multiple_of", "maximum": "maximum", "minimum": "minimum"}
_INTEGERS = {"maxLength": "max_length", "minLength": "min_length", "maxItems": "max_items"}
_INTEGERS |= {"minItems": "min_items", "maxProperties": "max_properties"}
_INTEGERS |= {"minProperties": "min_properties"}
_BOOLEANS = {"exclusiveMaximum": "exclusive_maximum", "exclusiveMinimum": "exclusive_minimum"}
_BOOLEANS |= {"uniqueItems": "unique_items", "readOnly": "read_only"}


def encode_openapi_v2(doc: JSON, descriptors: Descriptors) -> bytes:
    """An OpenAPI v2 document (``swagger``, ``info``, ``definitions``) as gnostic protobuf."""
    document: Any = descriptors.message_class(f"{_PACKAGE}.Document")()
    document.swagger = doc.get("swagger", "2.0")
    info = doc.get("info", {})
    document.info.title = info.get("title", "")
    document.info.version = info.get("version", "")
    document.paths.SetInParent()
    for name, schema in doc.get("definitions", {}).items():
        entry = document.definitions.additional_properties.add()
        entry.name = name
        _schema(entry.value, schema)
    return bytes(document.SerializeToString())


def _yaml(target: Any, value: Any) -> None:
    target.yaml = orjson.dumps(value).decode() + "\n"


def _schema(target: Any, schema: JSON) -> None:
    for key, value in schema.items():
        if key in _STRINGS:
            setattr(target, _STRINGS[key], str(value))
        elif key in _NUMBERS:
            setattr(target, _NUMBERS[key], float(value))
        elif key in _INTEGERS:
            setattr(target, _INTEGERS[key], int(value))
        elif key in _BOOLEANS:
            setattr(target, _BOOLEANS[key], bool(value))
        elif key == "required":
            target.required.extend(value)
        elif key == "type":
            target.type.value.extend([value] if isinstance(value, str) else value)
        elif key == "enum":
            for item in value:
                _yaml(target.enum.add(), item)
        elif key in ("default", "example"):
            _yaml(getattr(target, key), value)
        elif key == "properties":
            target.properties.SetInParent()
            for name, sub in value.items():
                entry = target.properties.additional_properties.add()
                entry.name = name
                _schema(entry.value, sub)
        elif key == "items":
            for sub in value if isinstance(value, list) else [value]:
                _schema(target.items.schema.add(), sub)
        elif key == "allOf":
            for sub in value:
                _schema(target.all_of.add(), sub)
        elif key == "additionalProperties":
            if isinstance(value, bool):
                target.additional_properties.boolean = value
            else:
                _schema(target.additional_properties.schema, value)
        elif key.startswith("x-"):
            extension = target.vendor_extension.add()
            extension.name = key
            _yaml(extension.value, value)
