"""The protobuf schemas of the built-in kinds, read from the descriptor file in this package.

``kubernetes.binpb`` is a ``FileDescriptorSet`` that ``scripts/generate_protobuf.py`` builds from
the upstream ``generated.proto`` files: the kinds the dev server serves and the messages they
refer to, their source comments, and (in each field's ``json_name``) the field's JSON form from
the Go struct tag, e.g. ``name,omitempty`` or ``,inline``, with ``,pointer`` when the Go field is
a pointer. This module turns that into plain :class:`Message` / :class:`Field` records, which
both the protobuf decoder and the OpenAPI documents walk, and message classes from the
``protobuf`` library for the wire format.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

__all__ = [
    "DESCRIPTOR_FILE",
    "Descriptors",
    "Field",
    "Message",
    "descriptors",
    "marker_extensions",
    "parse_markers",
]

DESCRIPTOR_FILE = "kubernetes.binpb"
_T = descriptor_pb2.FieldDescriptorProto
_MESSAGE_TYPE, _FIELD = 4, 2  # descriptor.proto field numbers used in source paths


@dataclass(frozen=True)
class Field:
    """One field of a message, with its wire and JSON forms."""

    name: str  # the protobuf field name (an attribute of the decoded message)
    number: int
    json: str  # the JSON name; "" for an inlined (embedded) struct
    omitempty: bool
    omitzero: bool
    pointer: bool  # a pointer in Go: present means set, even to a zero value
    repeated: bool
    scalar: int  # FieldDescriptorProto.Type of a scalar (or of a map's values)
    message: str  # full name of the message type (of a map's values), "" for scalars
    is_map: bool
    comment: str

    @property
    def optional(self) -> bool:
        """Whether the field may be left out (OpenAPI's ``required`` lists the others)."""
        return self.omitempty or self.omitzero or "+optional" in self.comment.split()


@dataclass(frozen=True)
class Message:
    """One message: a kind, or a struct a kind refers to."""

    name: str  # full protobuf name, e.g. k8s.io.api.core.v1.Pod
    fields: tuple[Field, ...]
    comment: str


def _parse_json_name(json_name: str) -> tuple[str, set[str]]:
    name, *options = json_name.split(",")
    return name, set(options)


class Descriptors:
    """The messages of one descriptor set, and a protobuf message class for each."""

    def __init__(self, data: bytes) -> None:
        files = descriptor_pb2.FileDescriptorSet.FromString(data)
        self._pool = descriptor_pool.DescriptorPool()
        self.messages: dict[str, Message] = {}
        entries: dict[str, descriptor_pb2.DescriptorProto] = {}
        for file in files.file:
            for proto in file.message_type:
                for nested in proto.nested_type:
                    if nested.options.map_entry:
                        entries[f"{file.package}.{proto.name}.{nested.name}"] = nested
        for file in files.file:
            comments = {
                tuple(location.path): location.leading_comments.strip()
                for location in file.source_code_info.location
            }
            for index, proto in enumerate(file.message_type):
                fields = tuple(
                    self._field(proto_field, entries, comments.get((4, index, 2, position), ""))
                    for position, proto_field in enumerate(proto.field)
                )
                name = f"{file.package}.{proto.name}"
                self.messages[name] = Message(name, fields, comments.get((4, index), ""))
            bare = descriptor_pb2.FileDescriptorProto()
            bare.CopyFrom(file)
            bare.ClearField("source_code_info")
            self._pool.Add(bare)

    @staticmethod
    def _field(
        proto: descriptor_pb2.FieldDescriptorProto,
        entries: dict[str, descriptor_pb2.DescriptorProto],
        comment: str,
    ) -> Field:
        json, options = _parse_json_name(proto.json_name)
        type_name = proto.type_name.lstrip(".")
        entry = entries.get(type_name)
        scalar, message_name = proto.type, type_name
        if entry is not None:  # a map: describe its values
            value = entry.field[1]
            scalar, message_name = value.type, value.type_name.lstrip(".")
        if scalar != _T.TYPE_MESSAGE:
            message_name = ""
        return Field(
            name=proto.name,
            number=proto.number,
            json=json,
            omitempty="omitempty" in options,
            omitzero="omitzero" in options,
            pointer="pointer" in options,
            repeated=proto.label == _T.LABEL_REPEATED and entry is None,
            scalar=scalar,
            message=message_name,
            is_map=entry is not None,
            comment=comment,
        )

    @functools.cache  # noqa: B019 - one instance per process (see descriptors())
    def message_class(self, name: str) -> type[message.Message]:
        """The protobuf class that parses messages ``name`` (a full name)."""
        return message_factory.GetMessageClass(self._pool.FindMessageTypeByName(name))


@functools.cache
def descriptors() -> Descriptors:
    """The built-in kinds' descriptors shipped with the dev server (loaded once)."""
    data = importlib.resources.files(__package__).joinpath(DESCRIPTOR_FILE).read_bytes()
    return Descriptors(data)


def parse_markers(comment: str) -> dict[str, list[str]]:
    """The ``+key=value`` markers of a Go doc comment (``+listType=map``), by key."""
    found: dict[str, list[str]] = {}
    for line in comment.splitlines():
        text = line.strip()
        if text.startswith("+") and "=" in text:
            key, _, value = text[1:].partition("=")
            found.setdefault(key, []).append(value)
    return found


def marker_extensions(found: dict[str, list[str]]) -> dict[str, Any]:
    """The OpenAPI ``x-kubernetes-*`` extensions the markers stand for."""
    out: dict[str, Any] = {}
    if "listType" in found:
        out["x-kubernetes-list-type"] = found["listType"][0]
    if "listMapKey" in found:
        out["x-kubernetes-list-map-keys"] = found["listMapKey"]
    if "mapType" in found:
        out["x-kubernetes-map-type"] = found["mapType"][0]
    if "patchMergeKey" in found:
        out["x-kubernetes-patch-merge-key"] = found["patchMergeKey"][0]
    if "patchStrategy" in found:
        out["x-kubernetes-patch-strategy"] = found["patchStrategy"][0]
    return out
