"""``python -m tests.reliability.reuse_address dev ...``: ``kontinue dev`` with SO_REUSEADDR.

The dev server binds its port with ``reuse_address=False``. After a ``kill -9`` its accepted
connections linger in TIME_WAIT on that port for a minute, and until then a new server cannot
bind it (``port ... is already in use``). This launcher changes nothing but that flag, so
``test_kill_server`` can restart on the same port at once (both the killed server and the new
one must set it); ``test_kill_server`` also checks the unpatched server, to keep the problem
visible. Importing this module changes nothing: the patch is applied when it runs as a script.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """Run the ``kontinue`` command line with every aiohttp TCPSite reusing its address."""
    from aiohttp import web

    original = web.TCPSite.__init__

    def reusing(self: web.TCPSite, *args: Any, **kwargs: Any) -> None:
        kwargs["reuse_address"] = True
        original(self, *args, **kwargs)

    web.TCPSite.__init__ = reusing  # type: ignore[method-assign]

    from kontinue.cli import main as kontinue

    kontinue()


if __name__ == "__main__":
    main()
