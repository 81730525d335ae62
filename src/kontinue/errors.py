"""The root of kontinue's exceptions.

Every error kontinue raises on purpose derives from :class:`KontinueError`, so callers can tell
ours from bugs and from a dependency's exceptions (which never leak through our APIs).
"""

from __future__ import annotations

__all__ = ["KontinueError"]


class KontinueError(Exception):
    """Base class of every exception kontinue raises deliberately."""
