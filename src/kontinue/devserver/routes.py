"""HTTP front of the dev server: URL routing, authentication, content negotiation, streaming.

Requests are parsed into calls on :class:`~kontinue.devserver.registry.Registry`; answers are
encoded as JSON (or YAML, or a ``Table`` for ``kubectl get``) without re-encoding stored objects
where possible. Watches are chunked streams of newline-delimited JSON events.

Every authenticated request is counted by verb, resource and status code, and ``GET /metrics``
serves the counts in the Prometheus text format as kube-apiserver's ``apiserver_request_total``
(see :class:`RequestCounter`). It is one layer of the server (storage, registry, routes) and
holds every route of the Kubernetes API the server answers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import platform
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from kontinue import __version__
from kontinue.kube.schema import FieldError, format_invalid_message
from kontinue.kube.schema._errors import JsonValue

from .decoding import BodyError, load_json, load_yaml
from .descriptors import descriptors
from .discovery import aggregated_content_type, aggregated_discovery, negotiate_discovery
from .errors import ApiStatus
from .openapi import openapi_v2_document, openapi_v3_document, openapi_v3_index
from .openapi_protobuf import encode_openapi_v2
from .protobuf import PROTOBUF, decode_object
from .registry import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    DeleteOptions,
    Registry,
    WriteOptions,
    WriteResult,
)
from .resources import (
    ResourceType,
    api_group_document,
    api_group_list,
    api_resource_list,
    api_versions,
)
from .tables import builtin_columns, printer_columns, render_table, table_for_watch_event
from .watching import WATCHER_BYTE_BUDGET

__all__ = ["LogSource", "RequestCounter", "RouteSettings", "build_server"]

log = logging.getLogger("kontinue.devserver")
JSON = dict[str, Any]

MAX_BODY_BYTES = 3 * 1024 * 1024
#: As kube-apiserver: a JSON patch of more operations is refused before it is applied.
MAX_JSON_PATCH_OPERATIONS = 10_000
# YAML bodies larger than this are decoded in a worker thread: libyaml takes about a second per
# megabyte, and the event loop keeps serving other clients meanwhile.
_THREADED_YAML_BYTES = 64 * 1024
_JSON_TYPE = "application/json"
# What kube-apiserver answers (clients ask for ...spec.v2@v1.0+protobuf; Go cannot parse "@").
_PROTOBUF_OPENAPI = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# ``pods/log`` is served through this seam; the local pod runner plugs in here. It is called
# with (namespace, pod name, query parameters) and answers the whole log as bytes, or an async
# iterator of chunks for ``follow`` (streamed until it ends or the client goes away); it raises
# ApiStatus for errors such as an unknown container.
LogSource = Callable[[str, str, dict[str, str]], Awaitable[bytes | AsyncIterator[bytes]]]


@dataclass
class RouteSettings:
    """What the HTTP layer needs to know besides the registry.

    The connection limits keep clients that never finish (or never send) a request from
    holding the server's sockets: kube-apiserver reads headers within 32 seconds and closes a
    connection idle for 90.

    Attributes:
        header_timeout: Seconds a new connection has, once its TLS handshake is done (asyncio
            bounds that at 60), to complete its first request's headers before it is closed.
        keepalive_timeout: Seconds an idle keep-alive connection is kept.
        max_connections: Open connections beyond this are closed as soon as they are accepted.
        max_watches: Concurrent watches beyond this are answered 429 (clients retry after the
            ``Retry-After`` second, as from an overloaded kube-apiserver).
        watch_bytes: Bytes of live events (their objects' JSON) a watch may have waiting for
            its client; beyond them the stream is closed, as kube-apiserver closes a watcher
            that falls behind, and the client re-watches. 16 MiB: ten of the largest objects
            etcd stores.
    """

    token: str
    server_address: str
    bookmark_interval: float = 60.0
    max_watch_seconds: float = 1800.0
    kubernetes_version: tuple[int, int] = (1, 37)
    header_timeout: float = 32.0
    keepalive_timeout: float = 90.0
    max_connections: int = 512
    max_watches: int = 256
    watch_bytes: int = WATCHER_BYTE_BUDGET


class RequestCounter:
    """``apiserver_request_total``: authenticated requests by verb, resource and status code.

    Verbs are those of RBAC and audit logs (get, list, watch, create, update, patch, delete,
    deletecollection) for resource paths, and the lower-case HTTP method for the others (whose
    resource is ""); kube-apiserver's own metric spells them as HTTP methods (POST for create).
    Subresource requests count under their resource (``executions`` for ``executions/status``).
    A request is counted when it ends, so a watch is counted once its stream closes, with the
    status it was answered with; requests that fail authentication, and those whose client
    went away before the answer was complete, are not counted.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}

    def add(self, verb: str, resource: str, code: int) -> None:
        key = (verb, resource, code)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def render(self) -> bytes:
        """The counters in the Prometheus text exposition format (version 0.0.4)."""
        lines = [
            "# HELP apiserver_request_total Counter of apiserver requests broken out for each "
            "verb, resource, and HTTP response code.",
            "# TYPE apiserver_request_total counter",
        ]
        for (verb, resource, code), value in sorted(self.counts.items()):
            lines.append(
                f'apiserver_request_total{{verb="{verb}",resource="{resource}",code="{code}"}} '
                f"{value}"
            )
        return ("\n".join(lines) + "\n").encode()


def _error_response(exc: ApiStatus) -> web.Response:
    if exc.plain:
        return web.Response(
            text=exc.message + "\n",
            status=exc.code,
            content_type="text/plain",
            headers={"X-Content-Type-Options": "nosniff"},
        )
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return web.Response(
        body=orjson.dumps(exc.to_status()),
        status=exc.code,
        content_type=_JSON_TYPE,
        headers=headers,
    )


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


@dataclass
class Negotiated:
    table: bool = False
    metadata_only: bool = False
    yaml: bool = False


def _negotiate(accept: str) -> Negotiated:
    if not accept:
        return Negotiated()
    offers = [part.strip() for part in accept.split(",") if part.strip()]
    for offer in offers:
        media, *params = [p.strip() for p in offer.split(";")]
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        as_ = opts.get("as")
        if media in ("application/json", "*/*", "application/*") and as_ == "Table":
            return Negotiated(table=True)
        if media == "application/json" and as_ in (
            "PartialObjectMetadata",
            "PartialObjectMetadataList",
        ):
            return Negotiated(metadata_only=True)
        if as_:
            continue
        if media in ("application/json", "*/*", "application/*", "application/json-patch+json"):
            return Negotiated()
        if media == "application/yaml":
            return Negotiated(yaml=True)
    if any("protobuf" in o for o in offers):
        raise ApiStatus.not_acceptable(["application/json", "application/yaml"])
    return Negotiated()


class Api:
    """The request handlers (bound to one registry)."""

    def __init__(
        self, registry: Registry, settings: RouteSettings, log_source: LogSource | None
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.log_source = log_source
        self._token = settings.token.encode()
        self.requests = RequestCounter()
        self.watches = 0

    # Middleware ----------------------------------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Authenticate, dispatch, count, and turn every failure into a ``Status``."""
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self._token
        ):
            return _error_response(ApiStatus.unauthorized())
        # [verb, resource] of the request; dispatch names the verb of resource requests.
        labels = [request.method.lower(), ""]
        response: web.StreamResponse
        try:
            response = await self.dispatch(request, labels)
        except ApiStatus as exc:
            response = _error_response(exc)
        except web.HTTPRequestEntityTooLarge:
            response = _error_response(ApiStatus.too_large(MAX_BODY_BYTES))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("request %s %s failed", request.method, request.path)
            response = _error_response(ApiStatus.internal(f"{type(exc).__name__}: {exc}"))
        self.requests.add(labels[0], labels[1], response.status)
        return response

    # Entry ---------------------------------------------------------------------------------

    async def dispatch(self, request: web.BaseRequest, labels: list[str]) -> web.StreamResponse:
        """Answer ``request``; sets ``labels`` to its [verb, resource] for the counters."""
        parts = [p for p in request.path.split("/") if p]
        if not parts:
            return self._json(
                {
                    "paths": [
                        "/api",
                        "/api/v1",
                        "/apis",
                        "/metrics",
                        "/openapi/v2",
                        "/openapi/v3",
                        "/version",
                    ]
                }
            )
        head = parts[0]
        if head == "version" and len(parts) == 1:
            return self._json(self._version())
        if head == "metrics" and len(parts) == 1:
            if request.method != "GET":
                raise ApiStatus.method_not_allowed()
            return web.Response(
                body=self.requests.render(), headers={"Content-Type": _PROMETHEUS_TYPE}
            )
        if head in ("healthz", "livez", "readyz"):
            return web.Response(text="ok")
        if head == "openapi":
            return self._openapi(request, parts[1:])
        if head in ("api", "apis") and len(parts) == 1:
            return self._discovery_root(request, core=head == "api")
        if head == "api":
            group, rest = "", parts[1:]
        elif head == "apis":
            group, rest = parts[1], parts[2:]
            versions = self.registry.catalog.group_versions().get(group)
            if not versions or not group:
                raise ApiStatus.page_not_found()  # no such group at all
            if not rest:
                doc = api_group_document(group, versions)
                return self._json({"kind": "APIGroup", "apiVersion": "v1", **doc})
        else:
            raise ApiStatus.page_not_found()
        version, rest = rest[0], rest[1:]
        if not rest:
            types = self.registry.catalog.types_in(group, version)
            if not types:
                raise ApiStatus.path_not_found()
            gv = f"{group}/{version}" if group else version
            return self._json(api_resource_list(gv, types))
        return await self._resource(request, group, version, rest, labels)

    def _version(self) -> JSON:
        major, minor = self.settings.kubernetes_version
        return {
            "major": str(major),
            "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.0+kontinue.{__version__}",
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "2026-11-22T00:00:00Z",
            "goVersion": f"python{platform.python_version()}",
            "compiler": "cpython",
            "platform": f"{platform.system().lower()}/{platform.machine()}",
        }

    def _discovery_root(self, request: web.BaseRequest, *, core: bool) -> web.Response:
        """``GET /api`` or ``/apis``: aggregated when the client asks for it, else plain."""
        version = negotiate_discovery(request.headers.get("Accept", ""))
        if version is None:
            return self._json(
                api_versions(self.settings.server_address) if core else self._group_list()
            )
        doc = aggregated_discovery(self.registry.catalog, version, core=core)
        return web.Response(
            body=orjson.dumps(doc),
            headers={"Content-Type": aggregated_content_type(version), "Vary": "Accept"},
        )

    def _group_list(self) -> JSON:
        groups = [
            api_group_document(name, versions)
            for name, versions in self.registry.catalog.group_versions().items()
            if name
        ]
        return api_group_list(groups)

    def _openapi(self, request: web.BaseRequest, rest: list[str]) -> web.Response:
        """OpenAPI v2 (JSON or protobuf) and v3 (an index, then one document per group version)."""
        if request.method != "GET":
            raise ApiStatus.method_not_allowed()
        major, minor = self.settings.kubernetes_version
        kubernetes_version = f"v{major}.{minor}.0"
        catalog = self.registry.catalog
        if rest == ["v2"]:
            doc = openapi_v2_document(catalog.types(), descriptors(), kubernetes_version)
            if "protobuf" in request.headers.get("Accept", ""):
                return web.Response(
                    body=encode_openapi_v2(doc, descriptors()),
                    headers={"Content-Type": _PROTOBUF_OPENAPI},
                )
            return self._json(doc)
        if rest == ["v3"]:
            documents = {
                (group, version): orjson.dumps(self._openapi_v3(group, version))
                for group, versions in catalog.group_versions().items()
                for version in versions
            }
            return self._json(openapi_v3_index(documents))
        if rest[:2] == ["v3", "api"] and len(rest) == 3:
            group, version = "", rest[2]
        elif rest[:2] == ["v3", "apis"] and len(rest) == 4:
            group, version = rest[2], rest[3]
        else:
            raise ApiStatus.path_not_found()
        if not catalog.types_in(group, version):
            raise ApiStatus.path_not_found()
        return self._json(self._openapi_v3(group, version))

    def _openapi_v3(self, group: str, version: str) -> JSON:
        major, minor = self.settings.kubernetes_version
        return openapi_v3_document(
            self.registry.catalog.types_in(group, version),
            group,
            version,
            descriptors(),
            f"v{major}.{minor}.0",
        )

    # Resources -----------------------------------------------------------------------------

    async def _resource(
        self,
        request: web.BaseRequest,
        group: str,
        version: str,
        rest: list[str],
        labels: list[str],
    ) -> web.StreamResponse:
        query = request.query
        watch = _truthy(query.get("watch"))
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace: str | None = None
        if (
            rest
            and rest[0] == "namespaces"
            and len(rest) >= 3
            and rest[2]
            not in (
                "status",
                "finalize",
            )
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiStatus.path_not_found()
        rt = self.registry.catalog.lookup(group, version, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            raise ApiStatus.path_not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in rt.subresources:
            if rt.is_custom and name:  # apiextensions answers as if the object were missing
                raise ApiStatus.not_found(rt.plural, name, rt.group)
            raise ApiStatus.path_not_found()
        method = request.method
        labels[0], labels[1] = _verb(method, watch, name is None), rt.plural
        negotiated = _negotiate(request.headers.get("Accept", ""))
        if name is None:
            if watch and method == "GET":
                return await self._watch(request, rt, version, namespace, None, negotiated)
            if method == "GET":
                return self._list(request, rt, version, namespace, negotiated)
            if rt.namespaced and namespace is None:
                raise ApiStatus.method_not_allowed()
            if method == "POST":
                body = await self._body(request, rt)
                result = self.registry.create(
                    rt, version, namespace or "", body, self._write_options(request)
                )
                return self._written(result, rt, version, negotiated)
            if method == "DELETE":
                if "deletecollection" not in rt.verbs:
                    raise ApiStatus.method_not_allowed()
                options = await self._delete_options(request, rt)
                raws = self.registry.delete_collection(
                    rt,
                    version,
                    namespace,
                    label_selector=query.get("labelSelector", ""),
                    field_selector=query.get("fieldSelector", ""),
                    options=options,
                )
                return self._list_response(rt, version, raws, self.registry.store.rv)
            raise ApiStatus.method_not_allowed()
        if rt.namespaced and namespace is None:
            raise ApiStatus.path_not_found()
        ns = namespace or ""
        if watch and method == "GET":
            return await self._watch(request, rt, version, namespace, name, negotiated)
        if sub == "log":
            return await self._pod_log(request, rt, ns, name)
        if method == "GET":
            raw = self.registry.get(rt, version, ns, name)
            if negotiated.table:
                obj = orjson.loads(raw)
                meta = obj.get("metadata") or {}
                return self._table(rt, version, [obj], request, meta.get("resourceVersion", ""))
            return self._raw(raw, negotiated)
        if sub == "finalize":
            raise ApiStatus.method_not_allowed()
        if method == "PUT":
            body = await self._body(request, rt)
            result = self.registry.update(
                rt, version, ns, name, body, subresource=sub, options=self._write_options(request)
            )
            return self._written(result, rt, version, negotiated)
        if method == "PATCH":
            content_type, body = await self._patch_body(request, rt)
            result = self.registry.patch(
                rt,
                version,
                ns,
                name,
                content_type,
                body,
                subresource=sub,
                options=self._write_options(request),
            )
            return self._written(result, rt, version, negotiated)
        if method == "DELETE" and not sub:
            result = self.registry.delete(
                rt, version, ns, name, await self._delete_options(request, rt)
            )
            return self._written(result, rt, version, negotiated)
        raise ApiStatus.method_not_allowed()

    async def _read(self, request: web.BaseRequest) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise ApiStatus.too_large(MAX_BODY_BYTES)
        data = await request.read()
        if len(data) > MAX_BODY_BYTES:
            raise ApiStatus.too_large(MAX_BODY_BYTES)
        return data

    async def _body(self, request: web.BaseRequest, rt: ResourceType) -> Any:
        """The object of a create or update: JSON, YAML, or protobuf for built-in kinds."""
        content_type = _content_type(request)
        accepted = _object_types(rt)
        data = await self._read(request)  # read even when refused: the connection is kept
        if content_type not in accepted:
            raise ApiStatus.unsupported_media_type(content_type, accepted)
        try:
            body = await _decode_body(data, content_type, accepted)
        except ApiStatus as exc:
            if exc.code != 400:
                raise
            # kube-apiserver's words for a body it cannot even recognise
            raise ApiStatus.bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): "
                f"{_decoding_detail(exc.message)} ({_summarize(data)})"
            ) from exc
        if rt.is_custom and isinstance(body, dict):
            for key, word in (("kind", "Kind"), ("apiVersion", "apiVersion")):
                if not body.get(key):
                    raise ApiStatus.bad_request(
                        f"the object provided is unrecognized (must be of type {rt.kind}): "
                        f"Object '{word}' is missing in '{data.decode(errors='replace')}' "
                        f"({_summarize(data)})"
                    )
        return body

    async def _patch_body(self, request: web.BaseRequest, rt: ResourceType) -> tuple[str, Any]:
        """The content type and the document of a patch."""
        content_type = _content_type(request)
        data = await self._read(request)  # read even when refused: the connection is kept
        if content_type not in _PATCH_TYPES:
            raise ApiStatus(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})
        if rt.is_custom and content_type not in _CUSTOM_PATCH_TYPES:
            raise ApiStatus.unsupported_media_type(content_type, _CUSTOM_PATCH_TYPES)
        if content_type == APPLY_PATCH:
            return content_type, await _decode_body(data, content_type, [content_type])
        try:
            patch = load_json(data)
        except orjson.JSONDecodeError:
            raise ApiStatus.bad_request("invalid JSON patch") from None
        except BodyError as exc:
            raise ApiStatus.bad_request(f"invalid JSON patch: {exc}") from None
        # as Go decodes a patch into a list of operations or a map
        if content_type == JSON_PATCH and not isinstance(patch, list):
            raise ApiStatus.bad_request(
                f"error decoding patch: json: cannot unmarshal {_go_json_kind(patch)} into Go "
                "value of type []handlers.jsonPatchOp"
            )
        if content_type != JSON_PATCH and not isinstance(patch, dict):
            raise ApiStatus.bad_request(
                f"error decoding patch: json: cannot unmarshal {_go_json_kind(patch)} into Go "
                "value of type map[string]interface {}"
            )
        if content_type == JSON_PATCH and len(patch) > MAX_JSON_PATCH_OPERATIONS:
            raise ApiStatus(
                413,
                "RequestEntityTooLarge",
                "Request entity too large: The allowed maximum operations in a JSON patch is "
                f"{MAX_JSON_PATCH_OPERATIONS}, got {len(patch)}",
            )
        return content_type, patch

    def _write_options(self, request: web.BaseRequest) -> WriteOptions:
        query = request.query
        kind = _OPTIONS_KINDS.get(request.method, "CreateOptions")
        _check_dry_run(kind, query.getall("dryRun", []))
        validation = query.get("fieldValidation", "Warn") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise _options_invalid(
                kind,
                "fieldValidation",
                validation,
                'supported values: "", "Ignore", "Strict", "Warn"',
            )
        return WriteOptions(
            dry_run=bool(query.getall("dryRun", [])),
            field_manager=query.get("fieldManager", ""),
            field_validation=validation,
            force=_truthy(query.get("force")),
            user_agent=request.headers.get("User-Agent", ""),
        )

    async def _delete_options(self, request: web.BaseRequest, rt: ResourceType) -> DeleteOptions:
        body: Any = {}
        data = await self._read(request) if request.can_read_body else b""
        if data.strip():
            content_type = _content_type(request)
            accepted = _object_types(rt)
            if content_type not in accepted:
                raise ApiStatus.unsupported_media_type(content_type, accepted)
            body = await _decode_body(data, content_type, accepted)
        if not isinstance(body, dict):
            raise ApiStatus.bad_request("DeleteOptions must be a JSON object")
        query = request.query
        policy = body.get("propagationPolicy") or query.get("propagationPolicy")
        orphan = body.get("orphanDependents")
        if orphan is None and "orphanDependents" in query:
            orphan = _truthy(query.get("orphanDependents"))
        if policy is None and orphan is not None:
            policy = "Orphan" if orphan else "Background"
        pre = body.get("preconditions") or {}
        dry_run = body.get("dryRun") or query.getall("dryRun", [])
        _check_dry_run("DeleteOptions", dry_run if isinstance(dry_run, list) else [dry_run])
        return DeleteOptions(
            propagation=policy,
            precondition_uid=pre.get("uid"),
            precondition_rv=pre.get("resourceVersion"),
            dry_run=bool(dry_run),
        )

    # Answers -------------------------------------------------------------------------------

    def _json(self, doc: Any, status: int = 200) -> web.Response:
        return web.Response(body=orjson.dumps(doc), status=status, content_type=_JSON_TYPE)

    def _raw(self, raw: bytes, negotiated: Negotiated, status: int = 200) -> web.Response:
        if negotiated.yaml:
            text = yaml.safe_dump(orjson.loads(raw), sort_keys=False)
            return web.Response(text=text, status=status, content_type="application/yaml")
        if negotiated.metadata_only:
            obj = orjson.loads(raw)
            raw = orjson.dumps(
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata", {}),
                }
            )
        return web.Response(body=raw, status=status, content_type=_JSON_TYPE)

    def _written(
        self, result: WriteResult, rt: ResourceType, version: str, negotiated: Negotiated
    ) -> web.Response:
        raw = result.raw or orjson.dumps(result.obj)
        response = self._raw(raw, negotiated, result.code)
        for warning in result.warnings:
            response.headers.add("Warning", f'299 - "{_escape(warning)}"')
        return response

    def _columns(self, rt: ResourceType, version: str) -> list[Any]:
        if rt.is_custom:
            return printer_columns(rt.printer_columns.get(version))
        return builtin_columns(rt.group, rt.plural)

    def _table(
        self,
        rt: ResourceType,
        version: str,
        objects: list[JSON],
        request: web.BaseRequest,
        resource_version: str,
        continue_token: str = "",
    ) -> web.Response:
        table = render_table(
            self._columns(rt, version),
            objects,
            now=self.registry.clock.now(),
            include_object=_include_object(request.query.get("includeObject")),
            resource_version=resource_version,
            continue_token=continue_token,
        )
        return self._json(table)

    def _list(
        self,
        request: web.BaseRequest,
        rt: ResourceType,
        version: str,
        namespace: str | None,
        negotiated: Negotiated,
    ) -> web.Response:
        query = request.query
        try:
            limit = int(query.get("limit", "0") or 0)
        except ValueError:
            raise ApiStatus.bad_request(  # Go's words, as kube-apiserver answers
                f'strconv.ParseInt: parsing "{query.get("limit")}": invalid syntax'
            ) from None
        result = self.registry.list_objects(
            rt,
            version,
            namespace,
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
            send_initial_events=_truthy(query.get("sendInitialEvents")),
        )
        if negotiated.table:
            return self._table(
                rt,
                version,
                [orjson.loads(r) for r in result.raws],
                request,
                str(result.resource_version),
                result.continue_token,
            )
        return self._list_response(
            rt,
            version,
            result.raws,
            result.resource_version,
            result.continue_token,
            result.remaining,
            negotiated,
        )

    def _list_response(
        self,
        rt: ResourceType,
        version: str,
        raws: list[bytes],
        rv: int,
        token: str = "",
        remaining: int | None = None,
        negotiated: Negotiated | None = None,
    ) -> web.Response:
        meta: JSON = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        elif rt.is_custom:  # unstructured lists keep the empty token
            meta["continue"] = ""
        if not rt.is_custom:  # typed lists carry no kind and apiVersion per item
            raws = [_without_type_meta(raw) for raw in raws]
        if negotiated is not None and negotiated.metadata_only:
            items = [
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": orjson.loads(r).get("metadata", {}),
                }
                for r in raws
            ]
            return self._json(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                    "items": items,
                }
            )
        head = orjson.dumps(
            {"kind": rt.list_kind, "apiVersion": rt.api_version(version), "metadata": meta}
        )
        body = b"".join((head[:-1], b',"items":[', b",".join(raws), b"]}"))
        if negotiated is not None and negotiated.yaml:
            return self._raw(body, negotiated)
        return web.Response(body=body, content_type=_JSON_TYPE)

    async def _watch(
        self,
        request: web.BaseRequest,
        rt: ResourceType,
        version: str,
        namespace: str | None,
        name: str | None,
        negotiated: Negotiated,
    ) -> web.StreamResponse:
        if self.watches >= self.settings.max_watches:
            raise ApiStatus(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                {"retryAfterSeconds": 1},
                retry_after=1,
            )
        query = request.query
        field_selector = query.get("fieldSelector", "")
        if name is not None:
            by_name = f"metadata.name={name}"
            field_selector = f"{field_selector},{by_name}" if field_selector else by_name
        try:
            timeout = float(query.get("timeoutSeconds", "") or self.settings.max_watch_seconds)
        except ValueError:
            raise ApiStatus.bad_request("timeoutSeconds must be a number") from None
        bookmarks = _truthy(query.get("allowWatchBookmarks"))
        initial = _truthy(query.get("sendInitialEvents"))
        now = self.registry.clock.now
        columns = self._columns(rt, version) if negotiated.table else None
        include = _include_object(query.get("includeObject"))

        headers_sent = False

        def encode(kind: str, raw: bytes) -> bytes:
            nonlocal headers_sent
            if kind == "BOOKMARK" and not raw:
                raw = orjson.dumps(self.registry.bookmark(rt, version))
            elif columns is not None and kind != "ERROR" and kind != "BOOKMARK":
                # Like kube-apiserver: column definitions in the first event only.
                table = table_for_watch_event(
                    columns,
                    orjson.loads(raw),
                    now(),
                    include,
                    include_column_definitions=not headers_sent,
                )
                headers_sent = True
                raw = orjson.dumps(table)
            return b'{"type":"' + kind.encode() + b'","object":' + raw + b"}\n"

        watcher = self.registry.watch(
            rt,
            version,
            namespace,
            label_selector=query.get("labelSelector", ""),
            field_selector=field_selector,
            resource_version=query.get("resourceVersion", ""),
            encode=encode,
            send_initial_events=initial,
            resource_version_match=query.get("resourceVersionMatch", ""),
            allow_bookmarks=bookmarks,
            byte_budget=self.settings.watch_bytes,
        )
        response = web.StreamResponse(headers={"Content-Type": _JSON_TYPE})
        response.enable_chunked_encoding()
        loop = asyncio.get_running_loop()
        queue = watcher.queue
        # Timers put markers in the queue, so the stream waits on one queue and nothing else:
        # no task or timeout object per event. None ends the stream, an empty BOOKMARK asks
        # for a bookmark at the current resourceVersion.
        timers = [loop.call_later(max(timeout, 0.0), watcher.close)]

        def tick() -> None:
            queue.put_nowait(("BOOKMARK", b""))
            timers[-1] = loop.call_later(self.settings.bookmark_interval, tick)

        if bookmarks:
            timers.append(loop.call_later(self.settings.bookmark_interval, tick))
        self.watches += 1
        try:
            await response.prepare(request)
            for initial_chunk in watcher.initial_chunks():
                await response.write(initial_chunk)
                if watcher.closed:  # timed out, or its resource went away
                    break
            while True:
                chunk: list[bytes] = []
                closed = False
                item = await queue.get()
                while True:
                    watcher.taken(item)
                    if item is None:
                        closed = True
                        break
                    chunk.append(watcher.encode(*item))
                    if queue.empty():
                        break
                    item = queue.get_nowait()
                if chunk:
                    await response.write(b"".join(chunk))
                if closed:
                    break
        except ConnectionResetError:
            pass
        finally:
            self.watches -= 1
            for timer in timers:
                timer.cancel()
            self.registry.unwatch(rt, watcher)
        try:
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async def _pod_log(
        self, request: web.BaseRequest, rt: ResourceType, namespace: str, name: str
    ) -> web.StreamResponse:
        if request.method != "GET":
            raise ApiStatus.method_not_allowed()
        pod = orjson.loads(self.registry.get(rt, rt.version, namespace, name))
        if self.log_source is None:
            containers = [c.get("name", "") for c in pod.get("spec", {}).get("containers", [])]
            container = request.query.get("container") or (containers[0] if containers else "")
            raise ApiStatus.bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: '
                "no pod runner is attached to this server"
            )
        result = await self.log_source(namespace, name, dict(request.query))
        if isinstance(result, bytes):
            return web.Response(body=result, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            async for chunk in result:
                await response.write(chunk)
        except ConnectionResetError:
            return response
        await response.write_eof()
        return response


_YAML_TYPE = "application/yaml"
_JSON_OBJECT_TYPES = [_JSON_TYPE, _YAML_TYPE]
_BUILTIN_OBJECT_TYPES = [_JSON_TYPE, _YAML_TYPE, PROTOBUF]
_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
_CUSTOM_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]


def _content_type(request: web.BaseRequest) -> str:
    """The media type of the body; JSON when the request does not say (as kube-apiserver)."""
    if not request.headers.get("Content-Type", "").strip():
        return _JSON_TYPE
    return request.content_type


def _object_types(rt: ResourceType) -> list[str]:
    """The media types an object of ``rt`` may be sent in: protobuf for built-in kinds only."""
    return _JSON_OBJECT_TYPES if rt.is_custom else _BUILTIN_OBJECT_TYPES


def _decode_object(data: bytes, content_type: str, accepted: list[str]) -> Any:
    if content_type == PROTOBUF:
        return decode_object(data, descriptors(), accepted)
    return _parse_text(data, content_type)


async def _decode_body(data: bytes, content_type: str, accepted: list[str]) -> Any:
    """:func:`_decode_object`, in a worker thread for a large YAML body."""
    if len(data) > _THREADED_YAML_BYTES and _is_yaml(content_type):
        return await asyncio.to_thread(_decode_object, data, content_type, accepted)
    return _decode_object(data, content_type, accepted)


def _is_yaml(content_type: str) -> bool:
    return content_type in (_YAML_TYPE, APPLY_PATCH) or content_type.endswith("+yaml")


def _parse_text(data: bytes, content_type: str) -> Any:
    """A JSON or YAML body (a patch of any type, or an object), within the bounds of
    :mod:`.decoding` (a refused YAML body is answered in go-yaml's words, as upstream)."""
    try:
        if _is_yaml(content_type):
            return load_yaml(data)
        return load_json(data)
    except BodyError as exc:
        if _is_yaml(content_type):
            raise ApiStatus.bad_request(str(exc)) from exc
        raise ApiStatus.bad_request(
            f"the body of the request could not be decoded as JSON: {exc}"
        ) from exc
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0]
        raise ApiStatus.bad_request(
            f"the body of the request could not be decoded as "
            f"{'YAML' if 'yaml' in content_type else 'JSON'}: {detail}"
        ) from exc


_OPTIONS_KINDS = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}


def _options_invalid(kind: str, field: str, value: object, detail: str) -> ApiStatus:
    """A 422 about a query option, as kube-apiserver validates its ``*Options``."""
    error = FieldError("FieldValueNotSupported", field, detail, value)
    return ApiStatus.invalid(
        kind,
        "",
        "meta.k8s.io",
        [error.cause()],
        format_invalid_message(f"{kind}.meta.k8s.io", "", [error]),
    )


def _check_dry_run(kind: str, values: list[Any]) -> None:
    if any(value != "All" for value in values):
        raise _options_invalid(kind, "dryRun", JsonValue(list(values)), 'supported values: "All"')


def _without_type_meta(raw: bytes) -> bytes:
    obj = orjson.loads(raw)
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    return orjson.dumps(obj)


def _summarize(data: bytes, limit: int = 30) -> str:
    """How kube-apiserver quotes an undecodable body: the text of a JSON object, else hex."""
    if not data:
        return "<empty>"
    head = data[:limit]
    shown = head.decode(errors="replace") if data[:1] == b"{" else head.hex()
    return shown + " ..." if len(data) > limit else shown


def _decoding_detail(message: str) -> str:
    """The decoder's own error, as far as Go's words are known (truncated JSON)."""
    prefix = "the body of the request could not be decoded as JSON: "
    if message.startswith(prefix):
        detail = message.removeprefix(prefix)
        if detail.startswith("unexpected end of data"):
            detail = "unexpected end of JSON input"
        return f"couldn't get version/kind; json parse error: {detail}"
    return message


def _go_json_kind(value: Any) -> str:
    """The JSON type of ``value`` as Go's decoding errors name it."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "null"


_NAMED_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_COLLECTION_VERBS = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}


def _verb(method: str, watch: bool, collection: bool) -> str:
    """The RBAC verb of a resource request (the lower-case method for one no verb names)."""
    if watch and method == "GET":
        return "watch"
    verbs = _COLLECTION_VERBS if collection else _NAMED_VERBS
    return verbs.get(method) or method.lower()


def _include_object(value: str | None) -> str:
    value = value or "Metadata"
    if value not in ("None", "Metadata", "Object"):
        raise ApiStatus.bad_request(
            f'includeObject: Unsupported value: "{value}": supported values: "None", "Metadata", '
            '"Object"'
        )
    return value


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def build_server(
    registry: Registry, settings: RouteSettings, log_source: LogSource | None = None
) -> web.Server:
    """The HTTP server for the Kubernetes API of ``registry``.

    aiohttp's low-level server: the API has its own URL grammar, so an application router and
    middleware chain would only add per-request cost on the hot path.
    """
    api = Api(registry, settings, log_source)
    server: _BoundedServer

    def make_request(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        server.headers_read(protocol)
        return web.BaseRequest(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=MAX_BODY_BYTES + 1,
        )

    server = _BoundedServer(
        api.handle,
        settings,
        request_factory=make_request,
        access_log=None,
        keepalive_timeout=settings.keepalive_timeout,
    )
    return server


class _BoundedServer(web.Server):
    """aiohttp's server with a cap on connections and a deadline for the first headers."""

    def __init__(self, handler: Any, settings: RouteSettings, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.settings = settings
        self._deadlines: dict[Any, asyncio.TimerHandle] = {}

    def connection_made(self, handler: Any, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self.connections) > self.settings.max_connections:
            transport.abort()
            return
        loop = asyncio.get_running_loop()
        self._deadlines[handler] = loop.call_later(
            self.settings.header_timeout, self._too_slow, handler, transport
        )

    def headers_read(self, handler: Any) -> None:
        deadline = self._deadlines.pop(handler, None)
        if deadline is not None:
            deadline.cancel()

    def _too_slow(self, handler: Any, transport: asyncio.Transport) -> None:
        self._deadlines.pop(handler, None)
        transport.abort()

    def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
        self.headers_read(handler)
        super().connection_lost(handler, exc)
