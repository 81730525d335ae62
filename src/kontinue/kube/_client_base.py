"""What the Kubernetes clients share: construction state, write observers, object plumbing.

The request building and answer decoding live in :mod:`kontinue.kube._core`; this module holds
the per-client state both shells need, so the generated sync client and the async one differ
only in how they wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from ._core import JSON, KubeCore, KubeSettings, RateLimiter, identity, to_dict
from ._openapi import ModelKind, model_kind
from ._transport import Connection
from .errors import ApiError, error_from_response
from .objects import merge_update
from .resources import ResourceInfo, ResourceMap

if TYPE_CHECKING:
    from .accumulating import Accumulator, ErrorHandler, Query, SyncAccumulator

__all__ = ["ClientBase", "Ref", "WriteObserver", "merge_update"]

T = TypeVar("T")
Ref = str | JSON | Any  # a kind name ("pods", "widgets.example.com") or an object
WriteObserver = Callable[[ResourceInfo, str, str, JSON | None], None]
UPSERT_ATTEMPTS = 5


class ClientBase:
    """What both shells share: construction, namespaces, object plumbing."""

    def __init__(
        self,
        connection: Connection,
        settings: KubeSettings,
        namespace: str | None,
        resources: ResourceMap | None = None,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self._core = KubeCore(
            namespace or connection.namespace, settings, resources or ResourceMap()
        )
        self._limiter = RateLimiter(settings.qps, settings.burst)
        self._limiter_lock = threading.Lock()
        self._unanswered = [0]  # one cell, shared with clones like the rate limit
        self._observers: list[WriteObserver] = []

    def observe_writes(self, observer: WriteObserver) -> Callable[[], None]:
        """Call ``observer(info, namespace, name, obj)`` after each successful write made
        through this client (and its ``with_namespace`` clones); ``obj`` is None once the object
        is gone. Accumulators use it for read/write coherence. Returns an unsubscribe function.
        """
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def _wrote(self, info: ResourceInfo, answer: JSON, *, deleting: bool = False) -> JSON:
        """Tell the observers about a successful write; returns ``answer`` unchanged."""
        if self._observers:
            meta = answer.get("metadata") or {}
            held = bool(meta.get("deletionTimestamp") and meta.get("finalizers"))
            gone = deleting and (answer.get("kind") == "Status" or not held)
            details = answer.get("details") or {}
            namespace = str(meta.get("namespace") or "")
            name = str(meta.get("name") or details.get("name") or "")
            for observer in list(self._observers):
                observer(info, namespace, name, None if gone else answer)
        return answer

    def _share_with(self, clone: ClientBase) -> None:
        """Make ``clone`` share this client's rate limit and write observers."""
        clone._limiter, clone._limiter_lock = self._limiter, self._limiter_lock
        clone._unanswered = self._unanswered
        clone._observers = self._observers

    @property
    def namespace(self) -> str:
        """The namespace used when a call names none (from the kubeconfig context)."""
        return self._core.namespace

    @property
    def unanswered(self) -> int:
        """Requests made through this client (and its clones) not answered yet, waiting for
        the rate limit included: how far behind the API server it is (watches excluded)."""
        return self._unanswered[0]

    def _count_request(self, change: int) -> None:
        with self._limiter_lock:
            self._unanswered[0] += change

    def _wait_for_token(self) -> float:
        with self._limiter_lock:
            return self._limiter.reserve(time.monotonic())

    def invalidate_cache(self) -> None:
        """Forget what discovery said (kates ``InvalidateCache``): the next call that names a
        kind asks the server again. Needed after a CRD was deleted or changed its versions;
        a kind never seen is looked up anyway. Shared with ``with_namespace`` clones."""
        self._core.resources.forget()

    def _body(self, obj: Any) -> tuple[JSON, type[Any] | None]:
        body = to_dict(obj)
        return body, (None if isinstance(obj, dict) else type(obj))

    @staticmethod
    def _unnamed_kind(obj: Any, body: JSON) -> ModelKind | None:
        """What the class of an official client's model says of its kind, when ``body`` lacks
        ``apiVersion`` or ``kind`` (they are seldom set on models built in code)."""
        if isinstance(obj, dict) or (body.get("apiVersion") and body.get("kind")):
            return None
        return model_kind(type(obj))

    def _ref(self, ref: Ref, name: str | None) -> tuple[str | None, str, str, JSON | None]:
        """``(api_version or None, kind-or-name, name, object)`` from what the caller passed."""
        if isinstance(ref, str):
            if name is None:
                raise ValueError(f"a name is needed with the kind {ref!r}")
            return None, ref, name, None
        body = to_dict(ref)
        api_version, kind, _, obj_name = identity(body)
        if not (name or obj_name):
            raise ValueError(f"the {kind} has no metadata.name")
        return api_version, kind, name or obj_name, body


def named(answer: JSON, namespace: str, name: str) -> JSON:
    """A delete answer that names its object (a Status may carry only the name)."""
    if answer.get("kind") == "Status":
        return {**answer, "metadata": {"namespace": namespace, "name": name}}
    return answer


def type_of(ref: Any) -> type[Any] | None:
    return None if isinstance(ref, dict) else type(ref)


def kind_ref(kind: str) -> tuple[str | None, str, str, None]:
    return None, kind, kind, None


def status_error(status: JSON) -> ApiError:
    code = int(status.get("code") or 500)
    return error_from_response(code, orjson.dumps(status))


class AsyncClientMixin:
    """``watch`` for the async client: an :class:`~kontinue.kube.accumulating.Accumulator`."""

    def watch(self, *queries: Query, on_error: ErrorHandler | None = None) -> Accumulator:
        """Keep ``queries`` in one coherent, coalesced snapshot until it is closed (see
        :mod:`kontinue.kube.accumulating`); must be called on a running event loop."""
        from .accumulating import Accumulator

        accumulator = Accumulator(self, queries, on_error=on_error)  # type: ignore[arg-type]
        accumulator.start()
        return accumulator


class SyncClientMixin:
    """``watch`` for the blocking client: the accumulator runs on a private thread."""

    def watch(self, *queries: Query, on_error: ErrorHandler | None = None) -> SyncAccumulator:
        """Like :meth:`AsyncKubeClient.watch`, run on a private thread; writes through this
        client stay coherent with it."""
        from .accumulating import SyncAccumulator

        return SyncAccumulator(self, queries, on_error=on_error)  # type: ignore[arg-type]
