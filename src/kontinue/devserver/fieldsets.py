"""Sets of field paths, in the encoding of ``managedFields`` (``fieldsType: FieldsV1``).

A path is a tuple of *path elements*, each spelled as FieldsV1 spells it: ``f:name`` for a field
or map key, ``k:{"name":"x"}`` for the item of a keyed list (its key fields, sorted, as Go's
``encoding/json`` writes them), ``v:"x"`` for the item of a set, ``i:0`` for an index. A *tree*
is a set of paths as FieldsV1 nests them: a dict from element to sub-tree, in which a path is a
member when its node is empty (``{}``) or holds ``"."``. Trees are kept canonical: ``"."`` first,
then the elements in structured-merge-diff's order (fields, keys, values, indices; each by value),
a member without children as ``{}``, no empty non-member nodes.

The functions here change trees in place along one path (:func:`tree_insert`,
:func:`tree_discard`), which is what keeps an update's cost proportional to what it changed, and
convert between trees and Python sets of paths for the set algebra of server-side apply.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import orjson

from kontinue.kube.schema._errors import _go_float, _go_json, _quote

from .fieldtypes import KEYED, SET, Type

__all__ = [
    "Malformed",
    "Path",
    "item_element",
    "path_string",
    "tree_discard",
    "tree_from_paths",
    "tree_insert",
    "tree_paths",
    "tree_unmark",
    "valid_tree",
]

Path = tuple[str, ...]
Tree = dict[str, Any]


class Malformed(ValueError):
    """An object field management cannot walk (a list item without its keys, ...)."""


# Path elements -------------------------------------------------------------------------------


def item_element(item: Any, list_type: Type) -> str:
    """The element of a keyed list's or a set's item (raises :class:`Malformed`)."""
    if list_type.list_kind == KEYED:
        if not isinstance(item, dict):
            raise Malformed("associative list with keys may not have non-map elements")
        defaults = list_type.items.defaults if list_type.items is not None else {}
        key: dict[str, Any] = {}
        for name in list_type.keys:
            if name in item:
                key[name] = item[name]
            elif defaults.get(name) is not None:
                key[name] = defaults[name]
        if not key:
            raise Malformed(
                "associative list with keys has an element that omits all key fields "
                f"{_go_strings(list_type.keys)} (and doesn't have default values for any key "
                "fields)"
            )
        return "k:" + _go_json(key)
    if list_type.list_kind == SET:
        if isinstance(item, dict):
            raise Malformed("associative list without keys has an element that's a map type")
        if isinstance(item, list):
            raise Malformed("not supported: associative list with lists as elements")
        if item is None:
            raise Malformed("associative list without keys has an element that's an explicit null")
        return "v:" + _go_json(item)
    raise Malformed("invalid indexing of non-associative list")


def _go_strings(values: Iterable[str]) -> str:
    return "[" + " ".join(_quote(v) for v in values) + "]"


def _value_order(value: Any) -> tuple[Any, ...]:
    """structured-merge-diff's order of values: numbers, strings, booleans, lists, maps, null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_order(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_order(value[k])) for k in sorted(value)))
    return (5,)


@functools.lru_cache(maxsize=65536)
def element_order(element: str) -> tuple[Any, ...]:
    """The sort key of an element (``"."`` first)."""
    if element == ".":
        return (-1,)
    kind, _, rest = element.partition(":")
    if kind == "f":
        return (0, rest)
    try:
        if kind == "k":
            fields = orjson.loads(rest)
            return (1, tuple((k, _value_order(fields[k])) for k in sorted(fields)))
        if kind == "v":
            return (2, _value_order(orjson.loads(rest)))
        if kind == "i":
            return (3, int(rest))
    except (orjson.JSONDecodeError, TypeError, ValueError):
        pass
    return (4, element)


def _value_string(value: Any) -> str:
    """``value.ToString`` of structured-merge-diff (strings quoted as Go's ``%q``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ",".join(_value_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{k}={_value_string(v)}" for k, v in value.items())
    return str(value)


def element_string(element: str) -> str:
    """An element as a path string shows it: ``.name``, ``[name="x"]``, ``[="x"]``, ``[0]``."""
    kind, _, rest = element.partition(":")
    if kind == "f":
        return "." + rest
    if kind == "k":
        fields = orjson.loads(rest)
        return "[" + ",".join(f"{k}={_value_string(fields[k])}" for k in sorted(fields)) + "]"
    if kind == "v":
        return f"[={_value_string(orjson.loads(rest))}]"
    return f"[{rest}]"


def path_string(path: Path) -> str:
    """A path as kube-apiserver prints it in conflicts, e.g. ``.spec.ports[name="http"].port``."""
    return "".join(element_string(e) for e in path)


# Trees ---------------------------------------------------------------------------------------


def _put(node: Tree, element: str, child: Tree) -> None:
    """Add ``element`` to ``node``, keeping the elements in order."""
    if node:
        last = next(reversed(node))
        if element_order(last) > element_order(element):
            node[element] = child
            items = sorted(node.items(), key=lambda kv: element_order(kv[0]))
            node.clear()
            node.update(items)
            return
    node[element] = child


def _mark(parent: Tree, element: str, node: Tree) -> Tree:
    """Make ``node`` (``parent[element]``, which has children) a member: ``"."`` goes first."""
    if "." in node:
        return node
    marked: Tree = {".": {}}
    marked.update(node)
    parent[element] = marked
    return marked


def tree_insert(tree: Tree, path: Path) -> None:
    """Make ``path`` a member of ``tree``."""
    node = tree
    last = len(path) - 1
    for depth, element in enumerate(path):
        child = node.get(element)
        if child is None:
            child = {}
            _put(node, element, child)
            if depth < last:  # a new node on the way: not a member itself
                node = child
                continue
            return
        if depth == last:
            if child:
                _mark(node, element, child)
            return
        if not child:  # a member leaf gets children: it stays a member
            child = {".": {}}
            node[element] = child
        node = child


def tree_discard(tree: Tree, path: Path) -> bool:
    """Remove ``path`` and everything under it from ``tree``; whether anything was there."""
    nodes = _nodes(tree, path)
    if nodes is None:
        return False
    del nodes[-1][path[-1]]
    _tidy(nodes, path)
    return True


def tree_unmark(tree: Tree, path: Path) -> None:
    """Remove ``path`` itself (not what is under it) from the members of ``tree``."""
    nodes = _nodes(tree, path)
    if nodes is None:
        return
    node = nodes[-1]
    child = node[path[-1]]
    if not child:
        del node[path[-1]]
        _tidy(nodes, path)
    elif "." in child:
        del child["."]


def _nodes(tree: Tree, path: Path) -> list[Tree] | None:
    """The nodes along ``path`` to its parent, or None when ``path`` is not in ``tree``."""
    nodes = [tree]
    node = tree
    for element in path[:-1]:
        child = node.get(element)
        if child is None:
            return None
        nodes.append(child)
        node = child
    return nodes if path[-1] in node else None


def _tidy(nodes: list[Tree], path: Path) -> None:
    """Drop the nodes along ``path`` that a removal left empty (a member stays, as ``{}``)."""
    for depth in range(len(path) - 2, -1, -1):
        child, parent = nodes[depth + 1], nodes[depth]
        if not child:  # was a non-member with that one child
            del parent[path[depth]]
        elif len(child) == 1 and "." in child:  # a member without children left
            parent[path[depth]] = {}
            break
        else:
            break


def tree_paths(tree: Tree, prefix: Path = ()) -> set[Path]:
    """The members of ``tree``."""
    out: set[Path] = set()
    for element, child in tree.items():
        if element == ".":
            continue
        path = (*prefix, element)
        if not child or "." in child:
            out.add(path)
        if child:
            out |= tree_paths(child, path)
    return out


def tree_from_paths(paths: Iterable[Path]) -> Tree:
    """The canonical tree of a set of paths."""
    root: Tree = {}
    members: set[Path] = set()
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        members.add(path)
    return _canonical(root, (), members)


def _canonical(node: Tree, prefix: Path, members: set[Path]) -> Tree:
    out: Tree = {}
    for element in sorted(node, key=element_order):
        path = (*prefix, element)
        child = _canonical(node[element], path, members)
        if child and path in members:
            child = {".": {}, **child}
        out[element] = child
    return out


def valid_tree(tree: Any) -> bool:
    """Whether ``tree`` is FieldsV1 that kube-apiserver would decode."""
    if not isinstance(tree, dict):
        return False
    for element, child in tree.items():
        if element == ".":
            if child != {}:
                return False
            continue
        kind, sep, _ = element.partition(":")
        if not sep or kind not in ("f", "k", "v", "i") or not valid_tree(child):
            return False
    return True


def canonical_tree(tree: Tree) -> Tree:
    """``tree`` in canonical form (for FieldsV1 a client wrote)."""
    return tree_from_paths(tree_paths(tree))
