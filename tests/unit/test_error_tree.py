"""The error tree documented in ``kontinue.errors`` is the real one, and names every exception.

The module's docstring lists the tree (indented under each class's direct base) and the public
exceptions kept outside it on purpose. Adding an exported exception without placing it there,
or moving one in the code and not in the list, fails here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass

import kontinue
import kontinue.errors
from kontinue.errors import KontinueError

_ENTRY = re.compile(r"^    (?P<indent> *)(?P<name>[A-Za-z]\w*) +(?P<module>kontinue[\w.]*)\b")


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    depth: int
    parent: str | None  # the documented base; None at the root and outside the tree
    in_tree: bool

    def resolve(self) -> type[BaseException]:
        module = importlib.import_module(self.module)
        assert self.name in module.__all__, f"{self.module} does not export {self.name}"
        found = getattr(module, self.name)
        assert inspect.isclass(found) and issubclass(found, BaseException), self
        return found


def documented() -> list[Entry]:
    """The entries of the two literal blocks of the docstring: the tree, then the others."""
    doc = kontinue.errors.__doc__ or ""
    blocks = re.split(r"::\n\n", doc)[1:]
    assert len(blocks) == 2, "expected the tree and the list of exceptions outside it"
    entries: list[Entry] = []
    for index, block in enumerate(blocks):
        stack: list[str] = []
        for line in block.split("\n\n")[0].splitlines():
            match = _ENTRY.match(line)
            assert match, f"not an entry: {line!r}"
            depth = len(match["indent"]) // 2
            del stack[depth:]
            parent = stack[-1] if stack else None
            entries.append(Entry(match["name"], match["module"], depth, parent, index == 0))
            stack.append(match["name"])
    return entries


def public_exceptions() -> set[type[BaseException]]:
    """Exception classes in the ``__all__`` of a public module (no ``_`` in its path)."""
    found: set[type[BaseException]] = set()
    for info in pkgutil.walk_packages(kontinue.__path__, "kontinue."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if inspect.isclass(value) and issubclass(value, BaseException):
                found.add(value)
    return found


def test_the_documented_tree_is_the_class_tree() -> None:
    entries = documented()
    tree = [entry for entry in entries if entry.in_tree]
    assert tree[0].name == "KontinueError" and tree[0].depth == 0
    assert all(entry.depth > 0 for entry in tree[1:]), "one root"
    classes = {entry.name: entry.resolve() for entry in tree}
    for entry in tree[1:]:
        assert entry.parent is not None
        assert classes[entry.parent] in classes[entry.name].__bases__, entry


def test_the_exceptions_outside_the_tree_are_outside_it() -> None:
    for entry in documented():
        if not entry.in_tree:
            assert entry.depth == 0, entry
            assert not issubclass(entry.resolve(), KontinueError), entry


def test_every_public_exception_is_documented() -> None:
    listed = [entry.resolve() for entry in documented()]
    assert len(listed) == len(set(listed)), "a class is listed twice"
    exported = public_exceptions()
    assert _names(exported - set(listed)) == [], "document these in kontinue.errors"
    assert _names(set(listed) - exported) == [], "no public module exports these"


def _names(classes: set[type[BaseException]]) -> list[str]:
    return sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes)
