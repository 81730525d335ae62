"""The official Kubernetes client's models (``kubernetes.client.V1Pod``...) without importing it.

Those models describe themselves: ``openapi_types`` maps each attribute to its type's name
(``"V1ObjectMeta"``, ``"list[V1Container]"``, ``"Dict[str, str]"``, ``"datetime"``) and
``attribute_map`` to its JSON name. Reading those tables is enough to turn a model into the JSON
the API server takes and JSON back into a model, for the generations of the library that are
plain classes and for those that are pydantic models (whose own ``from_dict`` is used: unlike
``model_validate`` it skips fields the library does not know yet, which a newer server sends).

A model's class name also says what it is: ``V1Deployment`` is the ``Deployment`` kind at
version ``v1``, ``EventsV1Event`` the one of the ``events.k8s.io`` group. The group itself is
not in the name of most classes (``V1Job`` is ``batch/v1``); :func:`model_kind` says what the
name tells and the clients ask discovery for the rest, as the seed's typed objects carry their
kind without the caller setting it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["ModelKind", "is_openapi_class", "model_kind", "openapi_json", "read_openapi"]

_MODEL_NAME = re.compile(
    r"(?P<group>[A-Z][a-z0-9]*)?V(?P<version>\d+(?:(?:alpha|beta)\d+)?)(?P<kind>[A-Z]\w*)"
)
_LIST = re.compile(r"(?:list|List)\[(.+)\]")
_DICT = re.compile(r"(?:dict\(str, ?(.+)\)|Dict\[str, ?(.+)\])")
_PLAIN = frozenset({"str", "int", "float", "bool", "object", "bytearray", "bytes"})


@dataclass(frozen=True)
class ModelKind:
    """What a model's class name says: ``kind``, ``version`` and maybe a hint of the group.

    ``group_hint`` is the class name's prefix (``"Events"`` of ``EventsV1Event``, ``"Core"``
    of ``CoreV1Event``), which the library adds only where two groups have the same kind.
    """

    kind: str
    version: str
    group_hint: str | None = None

    def matches_group(self, group: str) -> bool:
        """Whether ``group`` fits the hint (any group without one)."""
        if self.group_hint is None:
            return True
        if self.group_hint == "Core":
            return group == ""
        return group.split(".", 1)[0] == self.group_hint.lower()


def is_openapi_class(cls: Any) -> bool:
    """Whether ``cls`` is a model class of the official client (or one generated alike)."""
    return isinstance(getattr(cls, "openapi_types", None), dict) and isinstance(
        getattr(cls, "attribute_map", None), dict
    )


def model_kind(cls: Any) -> ModelKind | None:
    """The kind and version a model class stands for, if it is a whole Kubernetes object (it
    has ``api_version`` and ``kind`` attributes) named the official client's way."""
    if not is_openapi_class(cls) or not {"api_version", "kind"} <= set(cls.openapi_types):
        return None
    match = _MODEL_NAME.fullmatch(cls.__name__)
    if match is None or match["kind"].endswith("List"):
        return None
    return ModelKind(match["kind"], f"v{match['version']}", match["group"])


def openapi_json(value: Any) -> Any:
    """What the official client sends for one of its models: wire names, no unset fields."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [openapi_json(item) for item in value]
    if isinstance(value, dict):
        return {key: openapi_json(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    kind = type(value)
    if is_openapi_class(kind):
        return {
            kind.attribute_map[attribute]: openapi_json(getattr(value, attribute))
            for attribute in kind.openapi_types
            if getattr(value, attribute) is not None
        }
    return value


def read_openapi(cls: type[Any], data: dict[str, Any]) -> Any:
    """``data`` (an object's JSON) as an instance of the model class ``cls``.

    Fields the model does not have are left out, as the official client's own deserializer
    does; times become ``datetime``s.
    """
    from_dict = getattr(cls, "from_dict", None)
    if callable(from_dict) and hasattr(cls, "model_validate"):
        return from_dict(data)  # pydantic generation: its reader already skips unknown fields
    return _construct(cls, data)


def _construct(cls: type[Any], data: dict[str, Any]) -> Any:
    values = {
        attribute: _read(cls, type_name, data[cls.attribute_map[attribute]])
        for attribute, type_name in cls.openapi_types.items()
        if data.get(cls.attribute_map[attribute]) is not None
    }
    return cls(**values)


def _read(owner: type[Any], type_name: str, value: Any) -> Any:
    """``value`` read as the type named ``type_name`` in ``owner``'s table."""
    if value is None or type_name in _PLAIN:
        return value
    if match := _LIST.fullmatch(type_name):
        if isinstance(value, list):
            return [_read(owner, match[1], item) for item in value]
        return value
    if match := _DICT.fullmatch(type_name):
        inner = match[1] or match[2]
        if isinstance(value, dict):
            return {key: _read(owner, inner, item) for key, item in value.items()}
        return value
    if type_name == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if type_name == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    model = _model_named(owner, type_name)
    if model is None or not isinstance(value, dict):
        return value
    return _construct(model, value)


def _model_named(owner: type[Any], name: str) -> type[Any] | None:
    """The model class ``name`` from ``owner``'s module or its package (the library keeps one
    module per model in ``kubernetes.client.models``), which are loaded already."""
    module_name = owner.__module__
    for candidate in (module_name, module_name.rpartition(".")[0]):
        found = getattr(sys.modules.get(candidate), name, None)
        if isinstance(found, type) and is_openapi_class(found):
            return found
    return None
