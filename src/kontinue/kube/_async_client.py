"""The asyncio Kubernetes client.

The source of truth for both clients: ``scripts/generate_sync.py`` generates
``_sync_client.py`` from this module (``await``s removed, names swapped). Every method builds
its request with the pure core, sends it, and decodes the answer. It is long because it is the
whole API surface of one class (each method a few lines over the core); the rules live in
``_core``.
"""

# unasync: skip
# ruff: noqa: ASYNC109 (wait_for takes a timeout, as its generated blocking twin must)
# unasync: end

from __future__ import annotations

import asyncio
import builtins
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from time import monotonic
from typing import Any, TypeVar, cast, overload

from ._accumulator_core import Query, query_scope
from ._client_base import (
    UPSERT_ATTEMPTS,
    AsyncClientMixin,
    ClientBase,
    Ref,
    kind_ref,
    merge_update,
    named,
    status_error,
    type_of,
)
from ._core import (
    JSON,
    KubeSettings,
    NeedDiscovery,
    PatchType,
    WatchEvent,
    from_dict,
    identity,
    to_dict,
)
from ._openapi import ModelKind, model_kind
from ._requests import Request, Response, StreamRefused
from ._transport import AsyncHTTPTransport, AsyncTransport, Connection, load_connection
from .errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    ConnectionFailed,
    NotFound,
    error_from_response,
)
from .manifests import declared_kind, load_manifests
from .resources import AGGREGATED_DISCOVERY, ResourceInfo, ResourceMap, aggregated_documents

__all__ = ["AsyncKubeClient"]

T = TypeVar("T")
WAIT_FOR_FIRST = 0.1  # seconds before wait_for asks discovery again; doubles per try
WAIT_FOR_MOST = 2.0  # ... up to this: a CRD is usually served within a second or two


class AsyncKubeClient(AsyncClientMixin, ClientBase):
    """Kubernetes API client for asyncio code."""

    def __init__(
        self,
        connection: Connection,
        settings: KubeSettings | None = None,
        *,
        namespace: str | None = None,
        transport: AsyncTransport | None = None,
        _resources: ResourceMap | None = None,
    ) -> None:
        """A client of the API server at ``connection``, sending its requests through
        ``transport``: by default HTTP to that server; a test may pass a mock transport."""
        settings = settings or KubeSettings()
        super().__init__(connection, settings, namespace, _resources)
        self._transport = transport or AsyncHTTPTransport(connection, timeout=settings.timeout)

    @classmethod
    def from_kubeconfig(
        cls,
        kubeconfig: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        settings: KubeSettings | None = None,
        transport: AsyncTransport | None = None,
    ) -> AsyncKubeClient:
        """A client for a kubeconfig context (``$KUBECONFIG``/``~/.kube/config`` by default,
        or the pod's service account when running in a cluster without one), sending through
        ``transport`` if given."""
        connection = load_connection(kubeconfig, context)
        return cls(connection, settings, namespace=namespace, transport=transport)

    @classmethod
    def in_cluster(cls, settings: KubeSettings | None = None) -> AsyncKubeClient:
        """A client using the service account of the pod it runs in."""
        return cls(load_connection(in_cluster=True), settings)

    @property
    def transport(self) -> AsyncTransport:
        """What this client (and its ``with_namespace`` clones) sends its requests through."""
        return self._transport

    def with_namespace(self, namespace: str) -> AsyncKubeClient:
        """The same client (connection, limits, discovery cache) for another namespace."""
        clone = AsyncKubeClient(
            self.connection,
            self.settings,
            namespace=namespace,
            _resources=self._core.resources,
            transport=self._transport,
        )
        self._share_with(clone)
        return clone

    def with_settings(self, **changes: Any) -> AsyncKubeClient:
        """A client with some settings changed (e.g. ``qps=50``), sharing the connection and
        the write observers (not the rate limit: that is what settings change)."""
        clone = AsyncKubeClient(
            self.connection,
            replace(self.settings, **changes),
            namespace=self.namespace,
            _resources=self._core.resources,
            transport=self._transport,
        )
        clone._observers = self._observers
        return clone

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> AsyncKubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Plumbing ------------------------------------------------------------------------------

    async def _send(self, request: Request) -> JSON:
        attempt = 0
        self._count_request(1)
        try:
            while True:
                wait = self._wait_for_token()
                if wait:
                    await asyncio.sleep(wait)
                try:
                    return self._core.decode(await self._transport.send(request))
                except (ApiError, ConnectionFailed) as exc:
                    delay = self._core.retry_delay(request, attempt, exc)
                    if delay is None:
                        raise
                attempt += 1
                await asyncio.sleep(delay)
        finally:
            self._count_request(-1)

    async def _discover(self, need: NeedDiscovery) -> None:
        if need.group_version is None:
            for info in await self.server_resources():
                self._core.resources.add(info)
            return
        try:
            document = await self._send(self._core.request("GET", need.path))
        except ApiError as exc:
            if exc.status_code != 404:
                raise
            document = {"resources": []}
        self._core.resources.learn(need.group_version, document)

    async def resource_info(self, kind: str, api_version: str | None = None) -> ResourceInfo:
        """Where a kind lives (group, version, plural, scope), asking discovery if needed.

        ``kind`` is a kind with its ``api_version``, or without one a name kubectl accepts
        (``pods``, ``deploy``, ``widgets.example.com``). Raises NotFound for unknown kinds.
        """
        return await self._resolve(api_version, kind)

    async def wait_for(
        self,
        kind: str,
        api_version: str | None = None,
        *,
        timeout: float | None = None,
    ) -> ResourceInfo:
        """Wait until the server serves ``kind`` (kates ``WaitFor``), e.g. right after creating
        its CustomResourceDefinition, which takes the server a moment to publish; returns
        where it lives, as :meth:`resource_info` does.

        Discovery is asked again every so often (from 0.1 s, doubling up to 2 s). Raises
        :class:`NotFound` when ``timeout`` seconds pass first (``None``: wait for ever).
        """
        deadline = None if timeout is None else monotonic() + timeout
        pause = WAIT_FOR_FIRST
        while True:
            try:
                return await self._resolve(api_version, kind)
            except NotFound:
                if deadline is not None and monotonic() >= deadline:
                    raise
            if api_version is not None:
                self._core.resources.forget(api_version)  # the next try reads it again
            wait = pause if deadline is None else min(pause, max(0.0, deadline - monotonic()))
            await asyncio.sleep(wait)
            pause = min(pause * 2, WAIT_FOR_MOST)

    async def _resolve(self, api_version: str | None, kind: str | ModelKind) -> ResourceInfo:
        """The resource of a kind (with its ``api_version``), of a name kubectl accepts
        (without one), or of an official client's model class (a :class:`ModelKind`)."""
        discovered = False
        while True:
            try:
                if isinstance(kind, ModelKind):
                    return self._core.resolve_model(kind, discovered=discovered)
                if api_version is None:
                    return self._core.resolve_name(kind, discovered=discovered)
                return self._core.resolve(api_version, kind)
            except NeedDiscovery as need:
                if discovered:
                    raise
                await self._discover(need)
                discovered = True

    async def _identified(self, obj: Any) -> JSON:
        """``obj`` as JSON with its ``apiVersion`` and ``kind``, which an official client's
        model may leave unset: its class name says the kind, discovery the group."""
        body = to_dict(obj)
        model = self._unnamed_kind(obj, body)
        if model is None:
            return body
        info = await self._resolve(None, model)
        return {**body, "apiVersion": info.api_version, "kind": info.kind}

    async def _reference(self, ref: Ref) -> Ref:
        """A kind name or a dict as given; any other object as an identified dict."""
        if isinstance(ref, str | dict):
            return ref
        return await self._identified(ref)

    # CRUD ----------------------------------------------------------------------------------

    @overload
    async def create(
        self,
        obj: JSON,
        *,
        namespace: str | None = ...,
        dry_run: bool = ...,
        field_manager: str | None = ...,
    ) -> JSON: ...
    @overload
    async def create(
        self,
        obj: T,
        *,
        namespace: str | None = ...,
        dry_run: bool = ...,
        field_manager: str | None = ...,
    ) -> T: ...

    async def create(
        self,
        obj: Any,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> Any:
        """Create ``obj``; returns the created object (uid, resourceVersion, defaults).

        ``obj`` is a dict, a pydantic model or a model of the official client (``V1Pod``...);
        a model without ``api_version``/``kind`` gets them from its class and discovery.
        """
        body, like = await self._identified(obj), type_of(obj)
        api_version, kind, _, _ = identity(body)
        info = await self._resolve(api_version, kind)
        ns = self._core.namespace_of(info, namespace, body)
        request = self._core.create(info, ns, body, dry_run=dry_run, field_manager=field_manager)
        answer = await self._send(request)
        return from_dict(answer if dry_run else self._wrote(info, answer), like)

    async def get(
        self,
        ref: Ref,
        name: str | None = None,
        *,
        namespace: str | None = None,
        as_type: type[T] | None = None,
    ) -> Any:
        """The current state of an object, given as a kind and name or as an object; as
        ``as_type`` (a pydantic model or an official client's model class) when given, else
        in the form of ``ref``."""
        api_version, kind, obj_name, body = self._ref(await self._reference(ref), name)
        info = await self._resolve(api_version, kind)
        ns = self._core.namespace_of(info, namespace, body)
        data = await self._send(self._core.get(info, ns, obj_name))
        like = as_type or (type(ref) if body is not None and not isinstance(ref, dict) else None)
        return from_dict(data, like)

    async def update(self, obj: T, *, dry_run: bool = False, field_manager: str | None = None) -> T:
        """Replace ``obj`` (409 :class:`Conflict` if it changed since it was read)."""
        return cast(T, await self._update(obj, False, dry_run, field_manager))

    async def update_status(
        self, obj: T, *, dry_run: bool = False, field_manager: str | None = None
    ) -> T:
        """Replace the status of ``obj`` through the ``status`` subresource."""
        return cast(T, await self._update(obj, True, dry_run, field_manager))

    async def _update(
        self, obj: Any, status: bool, dry_run: bool, field_manager: str | None
    ) -> Any:
        body, like = await self._identified(obj), type_of(obj)
        api_version, kind, _, name = identity(body)
        info = await self._resolve(api_version, kind)
        ns = self._core.namespace_of(info, None, body)
        request = self._core.update(
            info, ns, name, body, status=status, dry_run=dry_run, field_manager=field_manager
        )
        answer = await self._send(request)
        return from_dict(answer if dry_run else self._wrote(info, answer), like)

    async def patch(
        self,
        ref: Ref,
        patch: Any,
        *,
        name: str | None = None,
        type: PatchType = "merge",
        namespace: str | None = None,
        status: bool = False,
        dry_run: bool = False,
        field_manager: str | None = None,
        force: bool = False,
        as_type: type[T] | None = None,
    ) -> Any:
        """Patch an object: ``type`` is ``merge``, ``json``, ``strategic`` or ``apply``."""
        api_version, kind, obj_name, body = self._ref(await self._reference(ref), name)
        info = await self._resolve(api_version, kind)
        ns = self._core.namespace_of(info, namespace, body)
        request = self._core.patch(
            info,
            ns,
            obj_name,
            patch,
            type,
            status=status,
            dry_run=dry_run,
            field_manager=field_manager,
            force=force,
        )
        like = as_type or (type_of(ref) if body is not None else None)
        answer = await self._send(request)
        return from_dict(answer if dry_run else self._wrote(info, answer), like)

    async def apply(
        self,
        obj: T,
        *,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> T:
        """Server-side apply of ``obj`` (creates it if missing)."""
        body, like = await self._identified(obj), type_of(obj)
        result = await self.patch(
            body, body, type="apply", field_manager=field_manager, force=force, dry_run=dry_run
        )
        return from_dict(result, like)  # type: ignore[return-value]

    async def delete(
        self,
        ref: Ref,
        name: str | None = None,
        *,
        namespace: str | None = None,
        propagation: str | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period: int | None = None,
        dry_run: bool = False,
    ) -> JSON:
        """Delete an object; returns what the server answered (the object or a Status).

        ``propagation`` is ``Background``, ``Foreground`` or ``Orphan``; ``uid`` and
        ``resource_version`` are preconditions (409 :class:`Conflict` when they do not hold).
        """
        api_version, kind, obj_name, body = self._ref(await self._reference(ref), name)
        info = await self._resolve(api_version, kind)
        ns = self._core.namespace_of(info, namespace, body)
        answer = await self._send(
            self._core.delete(
                info,
                ns,
                obj_name,
                propagation=propagation,
                uid=uid,
                resource_version=resource_version,
                grace_period=grace_period,
                dry_run=dry_run,
            )
        )
        return answer if dry_run else self._wrote(info, named(answer, ns, obj_name), deleting=True)

    async def upsert(
        self,
        obj: T,
        *,
        merge: Callable[[JSON, JSON], JSON] = merge_update,
        field_manager: str | None = None,
    ) -> T:
        """Create ``obj``, or update the existing object with ``merge(current, desired)``.

        Conflicts (someone else wrote in between) are retried with a fresh read; ``merge``
        is :func:`~kontinue.kube.objects.merge_update` unless given.
        """
        body, like = await self._identified(obj), type_of(obj)
        for _ in range(UPSERT_ATTEMPTS):
            try:
                return from_dict(await self.create(body, field_manager=field_manager), like)  # type: ignore[return-value]
            except AlreadyExists:
                pass
            current = await self.get(body)
            try:
                updated = await self.update(merge(current, body), field_manager=field_manager)
            except Conflict:
                continue
            return from_dict(updated, like)  # type: ignore[return-value]
        raise error_from_response(409, b"") from None

    async def list(
        self,
        kind: str | Query,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
        as_type: type[T] | None = None,
    ) -> builtins.list[Any]:
        """Every matching object (pages are fetched transparently), as dicts or ``as_type``.

        ``kind`` is a name kubectl accepts, or a :class:`~kontinue.kube.Query` that says the
        kind, namespace and selectors at once (kates ``List(Query, target)``; its name is
        not used).
        """
        if isinstance(kind, Query):
            scope = query_scope(kind, namespace, all_namespaces, label_selector, field_selector)
            kind, namespace, all_namespaces, label_selector, field_selector = scope
        items, _ = await self.list_with_version(
            kind,
            namespace=namespace,
            all_namespaces=all_namespaces,
            label_selector=label_selector,
            field_selector=field_selector,
            page_size=page_size,
        )
        return [from_dict(item, as_type) for item in items]

    async def list_with_version(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> tuple[builtins.list[JSON], str]:
        """The objects and the list's resourceVersion (where a watch should start)."""
        api_version, _, kind_name, _ = kind_ref(kind)
        info = await self._resolve(api_version, kind_name)
        ns = None if all_namespaces else self._core.namespace_of(info, namespace)
        items: builtins.list[JSON] = []
        token, version = "", ""
        while True:
            page = await self._send(
                self._core.list_page(
                    info,
                    ns,
                    label_selector=label_selector,
                    field_selector=field_selector,
                    limit=page_size,
                    continue_token=token,
                )
            )
            kind_of_item, api = info.kind, info.api_version
            for item in page.get("items") or []:
                item.setdefault("kind", kind_of_item)
                item.setdefault("apiVersion", api)
                items.append(item)
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            token = str(meta.get("continue") or "")
            if not token:
                return items, version

    async def watch_events(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        timeout_seconds: int | None = None,
        bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """The raw events of one watch request (no reconnection: see ``watch`` for that).

        An ``ERROR`` event (e.g. 410 for an expired resourceVersion) is raised as its ApiError.
        """
        api_version, _, kind_name, _ = kind_ref(kind)
        info = await self._resolve(api_version, kind_name)
        ns = None if all_namespaces else self._core.namespace_of(info, namespace)
        request = self._core.watch(
            info,
            ns,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            bookmarks=bookmarks,
        )
        try:
            async for line in self._transport.stream(request):
                event = self._core.parse_event(line)
                if event.type == "ERROR":
                    raise status_error(event.object)
                yield event
        except StreamRefused as refused:
            self._core.decode(refused.response)

    async def stream_lines(
        self, path: str, query: dict[str, str] | None = None, read_timeout: float | None = None
    ) -> AsyncIterator[bytes]:
        """Lines of any streaming GET (used for pod logs)."""
        request = self._core.request("GET", path, query, timeout=read_timeout, accept="*/*")
        try:
            async for line in self._transport.stream(request):
                yield line
        except StreamRefused as refused:
            self._core.decode(refused.response)

    async def raw(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Response:
        """Any request, answered as is (for what the typed methods do not cover)."""
        return await self._transport.send(
            self._core.request(method, path, query, body, content_type=content_type)
        )

    async def parse_manifests(self, text: str | bytes, *types: type[Any]) -> builtins.list[Any]:
        """The objects of a manifest: YAML documents separated by ``---``, or JSON (kates
        ``ParseManifests``); ``List`` documents give their items.

        Each object's kind is looked up through discovery (:class:`NotFound`, with a note
        naming the document, when the server does not serve it). An object whose kind one of
        ``types`` is (a pydantic model with ``api_version`` and ``kind`` defaults, or an
        official client's model class such as ``V1Deployment``) comes back as that type, the
        others as dicts. Nothing is created.
        """
        wanted: dict[tuple[str, str], type[Any]] = {}
        for cls in types:
            model = model_kind(cls)
            declared = declared_kind(cls)
            if model is not None:
                info = await self._resolve(None, model)
                declared = (info.api_version, info.kind)
            if declared is None:
                raise TypeError(
                    f"{cls.__name__} does not say which kind it is: give it api_version and "
                    "kind defaults, or pass an official client's model (V1Deployment...)"
                )
            wanted[declared] = cls
        found = []
        for number, (document, obj) in enumerate(load_manifests(text), 1):
            try:
                info = await self._resolve(obj["apiVersion"], obj["kind"])
            except NotFound as exc:
                exc.add_note(f"in document {document} of the manifest (object {number})")
                raise
            found.append(from_dict(obj, wanted.get((info.api_version, info.kind))))
        return found

    # Discovery -----------------------------------------------------------------------------

    async def server_version(self) -> JSON:
        """``GET /version``: major, minor, gitVersion, platform..."""
        return await self._send(self._core.request("GET", "/version"))

    async def server_resources(self) -> builtins.list[ResourceInfo]:
        """Every resource of every served group version."""
        return [info for _, infos in await self._group_resources(preferred=False) for info in infos]

    async def server_preferred_resources(self) -> builtins.list[ResourceInfo]:
        """The resources of each group at its preferred version only."""
        return [info for _, infos in await self._group_resources(preferred=True) for info in infos]

    async def _aggregated_discovery(
        self,
    ) -> builtins.list[tuple[str, JSON, bool]] | None:
        """Every group version's resources in two requests, where the server serves
        aggregated discovery (None where it does not)."""
        found = []
        for path in ("/api", "/apis"):
            answer = await self._send(self._core.request("GET", path, accept=AGGREGATED_DISCOVERY))
            if answer.get("kind") != "APIGroupDiscoveryList":
                return None
            found += aggregated_documents(answer)
        return found

    async def _group_resources(
        self, *, preferred: bool
    ) -> builtins.list[tuple[str, builtins.list[ResourceInfo]]]:
        found = await self._aggregated_discovery()
        if found is not None:
            documents = [(gv, document) for gv, document, first in found if first or not preferred]
        else:  # a server before aggregated discovery: one request per group version
            versions = [("v1", "/api/v1")]
            groups = await self._send(self._core.request("GET", "/apis"))
            for group in groups.get("groups") or []:
                chosen = [group["preferredVersion"]] if preferred else group.get("versions") or []
                versions += [(v["groupVersion"], f"/apis/{v['groupVersion']}") for v in chosen]
            documents = [
                (gv, await self._send(self._core.request("GET", path))) for gv, path in versions
            ]
        result = []
        for group_version, document in documents:
            resources = ResourceMap(known=())
            resources.learn(group_version, document)
            self._core.resources.learn(group_version, document)
            result.append((group_version, resources.all()))
        return result
