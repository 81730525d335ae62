"""The web UI: see, start, steer and debug executions in a browser (``kontinue ui``).

A client of the cluster like any user: every page is read, and every action made, through
:mod:`kontinue.client` with the credentials of whoever started the UI, so RBAC decides what it
shows and may do. It keeps no database: lists and trees come from the kontinue resources, and
pages follow them live through watches relayed as server-sent events.

Server-rendered pages (``pages``, ``actions``; Jinja2 templates in ``templates/``) work without
JavaScript; a small script of our own (``static/ui.js``) adds live updates, lazy expansion of
trees and checks of forms before they are sent. ``cluster`` is the one module that talks to the
cluster, ``views`` and ``forms`` compute what pages show without I/O, ``guarding`` holds the
token, the CSRF checks and the security headers, ``serving`` the server itself.
"""

from .serving import UiError, UiServer, UiSettings

__all__ = ["UiError", "UiServer", "UiSettings"]
