"""How ``--help`` shows parameters: by placeholders, as command lines are written
(``--name NAME``, ``kontinue worker [OPTIONS] MODULE:OBJECT``), not by typer's Python types
(``<str>``, ``<bool>`` on a flag, ``{target}`` in the usage line).

Every command and group of the CLI is made with :class:`HelpCommand` or :class:`HelpGroup`.
Options and arguments should name their placeholder (``metavar="DURATION"``); one that does not
gets its parameter's name in capitals, and a flag gets none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["HelpCommand", "HelpGroup"]


class _Argument(TyperArgument):
    """An argument shown by its placeholder alone: no type beside it, and no braces around it
    in the usage line (``[NAME]`` when it is optional)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return [name + ("..." if self.nargs != 1 else "")]


def _with_placeholders(params: Sequence[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
            # typer makes the parameters itself; what it shows of them is all this changes
            param.__class__ = _Argument
        elif isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag else (param.name or "value").upper()
    return list(params)


class HelpCommand(TyperCommand):
    """A command whose help shows placeholders, not Python types."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _with_placeholders(super().get_params(ctx))


class HelpGroup(TyperGroup):
    """A group of commands whose help shows placeholders, not Python types."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _with_placeholders(super().get_params(ctx))
