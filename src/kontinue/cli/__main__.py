"""``python -m kontinue.cli``."""

from . import main

main()
