"""Protobuf request bodies, decoded into the JSON a JSON client would have sent.

Go clients since Kubernetes 1.32 (kubectl included) send built-in kinds as
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\x00``, then a ``runtime.Unknown``
envelope whose ``typeMeta`` names the kind and whose ``raw`` holds the typed message. The dev
server stores JSON, so :func:`decode_object` turns such a body into exactly the object
kube-apiserver would have decoded from the JSON form: field names, ``omitempty`` and inlined
structs follow the Go struct tags (see :mod:`.descriptors`), and the types that marshal JSON by
hand come out in their JSON form (times as RFC 3339 strings, ``IntOrString`` as a number or a
string, quantities as strings, raw extensions and managed fields as embedded JSON, bytes as
base64). Everything here is pure: bytes in, JSON out, :class:`~.errors.ApiStatus` on bad input.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf import message as pb_message

from .descriptors import Descriptors, Field, Message
from .errors import ApiStatus

__all__ = ["MAGIC", "PROTOBUF", "decode_object", "go_duration", "message_name"]

JSON = dict[str, Any]
PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
_UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
_OMIT = object()
_TYPE_BYTES = 12


def message_name(api_version: str, kind: str) -> str:
    """The protobuf message of a built-in kind: ``batch/v1`` ``Job`` is k8s.io.api.batch.v1.Job.

    Options (``DeleteOptions``) are registered in every group version, as in kube-apiserver.
    """
    if kind == "DeleteOptions":
        return f"{_META}.{kind}"
    group, _, version = api_version.rpartition("/")
    package = group.split(".")[0] if group else "core"
    return f"k8s.io.api.{package}.{version}.{kind}"


def decode_object(data: bytes, descriptors: Descriptors, accepted: list[str]) -> JSON:
    """A protobuf body (magic, ``Unknown`` envelope, typed message) as a JSON object.

    A kind the descriptors do not know gets 415 naming the ``accepted`` media types.
    """
    if not data.startswith(MAGIC):
        raise ApiStatus.bad_request(
            "provided data does not appear to be a protobuf message, expected prefix "
            f"[{' '.join(str(b) for b in MAGIC)}]"
        )
    envelope = _parse(descriptors, _UNKNOWN, data[len(MAGIC) :])
    type_meta = getattr(envelope, "typeMeta")  # noqa: B009 - a dynamic message's field
    api_version, kind = str(type_meta.apiVersion), str(type_meta.kind)
    name = message_name(api_version, kind)
    if not kind or name not in descriptors.messages:
        raise ApiStatus.unsupported_media_type(PROTOBUF, accepted)
    typed = _parse(descriptors, name, bytes(getattr(envelope, "raw")))  # noqa: B009
    body = _message_json(typed, descriptors.messages[name], descriptors)
    return {"kind": kind, "apiVersion": api_version, **body}


def _parse(descriptors: Descriptors, name: str, data: bytes) -> pb_message.Message:
    try:
        return descriptors.message_class(name).FromString(data)
    except pb_message.DecodeError as exc:
        raise ApiStatus.bad_request(f"the protobuf body could not be decoded: {exc}") from exc


# Messages ------------------------------------------------------------------------------------


def _message_json(msg: pb_message.Message, spec: Message, descriptors: Descriptors) -> JSON:
    out: JSON = {}
    for field in spec.fields:
        value = _field_json(msg, field, descriptors)
        if value is _OMIT:
            continue
        if not field.json:  # an embedded struct: its fields are the parent's
            out.update(value)
        else:
            out[field.json] = value
    return out


def _absent(field: Field) -> Any:
    return _OMIT if field.omitempty or field.omitzero else None


def _field_json(msg: pb_message.Message, field: Field, descriptors: Descriptors) -> Any:
    value = getattr(msg, field.name)
    if field.is_map:
        if not value:
            return _absent(field)
        return {key: _value_json(item, field, descriptors) for key, item in value.items()}
    if field.repeated:
        if not value:
            return _absent(field)
        return [_value_json(item, field, descriptors) for item in value]
    present = msg.HasField(field.name)
    if field.message:
        if not present and field.pointer:
            return _absent(field)
        # A struct (not a pointer) is always there in Go, zero when it was not sent.
        if field.omitzero and not field.pointer and _is_zero(value, field.message):
            return _OMIT
        return _value_json(value, field, descriptors)
    if field.pointer:
        return _value_json(value, field, descriptors) if present else _absent(field)
    if field.scalar == _TYPE_BYTES and not present:
        return _absent(field)  # a nil []byte (Go sends an empty one)
    if not value and (field.omitempty or field.omitzero):
        return _OMIT
    return _value_json(value, field, descriptors)


def _value_json(value: Any, field: Field, descriptors: Descriptors) -> Any:
    if field.message:
        special = _SPECIAL.get(field.message)
        if special is not None:
            return special(value)
        return _message_json(value, descriptors.messages[field.message], descriptors)
    if field.scalar == _TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


def _is_zero(value: pb_message.Message, name: str) -> bool:
    if name in (f"{_META}.Time", f"{_META}.MicroTime"):
        return value.ByteSize() == 0
    for descriptor, item in value.ListFields():
        if descriptor.message_type is None:
            if item:
                return False
        elif descriptor.is_repeated or not _is_zero(item, descriptor.message_type.full_name):
            return False
    return True


# Types that marshal JSON by hand in Go ------------------------------------------------------


def _time(value: Any) -> str | None:
    if value.ByteSize() == 0:
        return None  # the zero time
    # Like kube-apiserver: metav1.Time keeps whole seconds only.
    return _utc(int(value.seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_time(value: Any) -> str | None:
    if value.ByteSize() == 0:
        return None
    micros = int(value.nanos) // 1000
    return _utc(int(value.seconds)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{micros:06d}Z"


def _utc(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ApiStatus.bad_request(f"time out of range: {seconds} seconds") from exc


def _int_or_string(value: Any) -> int | str:
    return str(value.strVal) if int(value.type) == 1 else int(value.intVal)


def _quantity(value: Any) -> str:
    return str(value.string) or "0"


def _embedded_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiStatus.bad_request(f"an embedded object is not JSON: {exc}") from exc


def go_duration(nanoseconds: int) -> str:
    """A duration as Go's ``time.Duration.String`` (metav1.Duration's JSON): ``1h2m3.5s``."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    left = abs(nanoseconds)
    if left < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if left >= size:
                return f"{sign}{_decimal(left, size)}{unit}"
    hours, left = divmod(left, 3_600_000_000_000)
    minutes, left = divmod(left, 60_000_000_000)
    head = f"{hours}h{minutes}m" if hours else f"{minutes}m" if minutes else ""
    return f"{sign}{head}{_decimal(left, 1_000_000_000)}s"


def _decimal(value: int, size: int) -> str:
    whole, fraction = divmod(value, size)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(size)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


_SPECIAL: dict[str, Callable[[Any], Any]] = {
    f"{_META}.Time": _time,
    f"{_META}.MicroTime": _micro_time,
    f"{_META}.Duration": lambda value: go_duration(int(value.duration)),
    f"{_META}.FieldsV1": lambda value: _embedded_json(bytes(value.Raw)),
    "k8s.io.apimachinery.pkg.runtime.RawExtension": lambda value: _embedded_json(bytes(value.raw)),
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
    "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity,
}
