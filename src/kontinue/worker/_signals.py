"""How a run stops before its workflow returns, and which API failures interrupt a run
rather than fail it. BaseExceptions (except :class:`StatusRejected`), so workflow code that
catches ``Exception`` cannot swallow them."""

from __future__ import annotations

from kontinue.kube import ConnectionFailed, Forbidden, ServerError, TooManyRequests, Unauthorized
from kontinue.sdk.errors import ValidationFailed

__all__ = ["TRANSIENT", "Parked", "RunInterrupted", "RunLost", "StatusRejected"]


class Parked(BaseException):
    """Raised through a plain-``def`` workflow when it must wait: its thread unwinds, and the
    execution is replayed once what it waits for happens."""


class RunLost(BaseException):
    """Another writer changed the execution's status: this run is stale and must stop.

    A BaseException, so workflow code catching ``Exception`` cannot swallow it."""


TRANSIENT = (ConnectionFailed, ServerError, TooManyRequests, Forbidden, Unauthorized)
"""API failures that interrupt a run instead of failing it. Forbidden and Unauthorized too: a
kube-apiserver that just restarted refuses requests until its authorizer has synced, and a
missing permission can be granted; neither is the workflow's failure."""


class RunInterrupted(BaseException):
    """The API server could not be reached (or failed) while the run recorded its progress:
    the run stops and is replayed a little later. It is not the workflow's failure."""


class StatusRejected(ValidationFailed):
    """The API server refused the status write (too large, or invalid): the execution cannot
    record this much, so it fails instead of retrying a write that cannot succeed."""
