"""``python -m kontinue.devserver``: the same as ``kontinue dev``."""

import typer

from kontinue.cli.dev import dev

if __name__ == "__main__":
    typer.run(dev)
