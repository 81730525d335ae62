"""The ``kontinue`` command line (also installed as ``kubectl-kontinue``)."""

from ._app import app, main

__all__ = ["app", "main"]
