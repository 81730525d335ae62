"""Request bodies decoded within bounds: no alias bombs, nothing nested too deep.

A body passes the size check (3 MiB) before it is decoded, but decoding can still multiply it:
a few hundred bytes of nested YAML aliases expand into billions of nodes once the document is
walked or encoded as JSON, and a document nested a few hundred levels deep makes the recursive
code behind the API (validation, patches, orjson's encoder, which stops at 255 levels) fail.
This module decodes JSON and YAML bodies and refuses both before any other code sees them:

* a YAML document whose aliases would expand it beyond :data:`MAX_EXPANDED_BYTES` (as much as
  a body without aliases may hold) is refused with go-yaml's ``document contains excessive
  aliasing``, and one whose anchor contains itself with ``anchor 'a' value contains itself``,
  the words kube-apiserver answers with;
* any document nested deeper than :data:`MAX_DEPTH` levels is refused (kube-apiserver's own
  limit is 10,000, which Python cannot recurse through; no Kubernetes object comes near 128).

Both checks walk the document without recursion, in time linear in its distinct nodes.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANDED_BYTES",
    "BodyError",
    "check_depth",
    "load_json",
    "load_yaml",
]

#: Deepest nesting of objects and arrays accepted in a body or produced by a patch.
MAX_DEPTH = 128
#: Largest document (estimated as JSON bytes) a YAML body may expand to through its aliases.
MAX_EXPANDED_BYTES = 3 * 1024 * 1024

# libyaml when PyYAML was built with it: it parses several times faster than the pure-Python
# parser (which holds the event loop for seconds on a large body) and caps flow nesting itself.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BodyError(ValueError):
    """A body that decodes but exceeds a bound; the message is the decoder's words."""


def load_json(data: bytes) -> Any:
    """``data`` as JSON (orjson's errors pass through), refused when nested too deep."""
    value = orjson.loads(data)
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH:  # else it cannot be that deep
        check_depth(value)
    return value


def load_yaml(data: bytes | str) -> Any:
    """One YAML document, as :func:`yaml.safe_load` but within the bounds of this module.

    Mapping keys that are not strings become strings (``1: a`` is ``{"1": "a"}``), as
    kube-apiserver converts YAML to JSON.
    """
    loader = _Loader(data)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, data)
        return _string_keys(loader.construct_document(node))
    except RecursionError:  # the pure-Python composer, without libyaml's own nesting limit
        raise BodyError(f"yaml: exceeded max depth of {MAX_DEPTH}") from None
    finally:
        loader.dispose()


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`BodyError` when objects and arrays in ``value`` nest deeper than ``limit``."""
    containers = (dict, list)
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, containers) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise BodyError(f"exceeded max depth of {limit}")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, containers))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_graph(root: yaml.Node, data: bytes | str) -> None:
    """Refuse a node graph that contains itself, nests too deep or expands too far.

    Aliases make the composed document a graph in which one node has several parents. Each
    distinct node is visited once (post-order, with an explicit stack); its expanded size and
    depth are computed from its children's, so a bomb is measured without being expanded.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            if isinstance(node, yaml.ScalarNode):
                size[key] = len(node.value) + 3  # quotes and a separator
                depth[key] = 0
            else:
                size[key] = 2 + sum(size[id(child)] for child in children)
                depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if size[key] > MAX_EXPANDED_BYTES:
                raise BodyError("yaml: document contains excessive aliasing")
            if depth[key] > MAX_DEPTH:
                raise BodyError(f"yaml: exceeded max depth of {MAX_DEPTH}")
            continue
        if key in size:
            continue
        if key in on_path:
            raise BodyError(f"yaml: anchor '{_recursive_anchor(data)}' value contains itself")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))


def _recursive_anchor(data: bytes | str) -> str:
    """The name of the first anchor used inside its own value (for the error message)."""
    open_anchors: list[str | None] = []
    for event in yaml.parse(data, Loader=_Loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_anchors.append(event.anchor)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            open_anchors.pop()
        elif isinstance(event, yaml.AliasEvent) and event.anchor in open_anchors:
            return str(event.anchor)
    return ""


def _string_keys(value: Any) -> Any:
    """``value`` with every mapping key a string, spelled as in JSON (``true``, ``1``, ``2.5``);
    a ``null`` key is refused, as upstream."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if any(not isinstance(key, str) for key in item):
                converted = {_key_text(key, child): child for key, child in item.items()}
                item.clear()
                item.update(converted)
            stack.extend(item.values())
        elif isinstance(item, list):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item)
    return value


def _key_text(key: Any, value: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None:  # kube-apiserver refuses it, in Go's words
        shown = orjson.dumps(value).decode() if isinstance(value, str) else "..."
        raise BodyError(f"unsupported map key of type: %!s(<nil>), key: <nil>, value: {shown}")
    if isinstance(key, (bool, int, float)):
        return orjson.dumps(key).decode()
    return str(key)
