"""``python -m tests.reliability.reuse_address dev ...``: ``kontinue dev`` with SO_REUSEADDR.

The dev server binds its port with ``reuse_address=False``. After a ``kill -9`` its accepted
connections linger in TIME_WAIT on that port for a minute, and until then a new server cannot
bind it (``port ... is already in use``). This launcher changes nothing but that flag, so
``test_kill_server`` can restart on the same port at once; ``test_kill_server`` also checks
the unpatched server, to keep the problem visible.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

_original_init = web.TCPSite.__init__


def _reusing_init(self: web.TCPSite, *args: Any, **kwargs: Any) -> None:
    kwargs["reuse_address"] = True
    _original_init(self, *args, **kwargs)


web.TCPSite.__init__ = _reusing_init  # type: ignore[method-assign]

if __name__ == "__main__":
    from kontinue.cli import main

    main()
