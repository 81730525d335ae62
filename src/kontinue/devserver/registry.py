"""The API server's behaviour, independent of HTTP.

:class:`Registry` implements create, get, list, update, patch, delete and watch for every served
resource with kube-apiserver's semantics (metadata stamping, optimistic concurrency, generation,
status subresource, finalizers, propagation policies, selectors, pagination). The HTTP layer in
``routes.py`` only parses requests and encodes answers; controllers (garbage collection,
namespaces, later the pod runner) call these methods directly, exactly as a request would. It
is one layer of the server (storage, registry, routes): every verb's semantics in one place.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from kontinue.clock import Clock, format_time
from kontinue.kube.schema import (
    FieldError,
    Unchanged,
    apply_defaults,
    format_invalid_message,
    prune,
    validate,
    validate_status,
)
from kontinue.kube.schema._errors import JsonValue  # field.Error's JSON-shown values
from kontinue.kube.selectors import FieldSelector, LabelSelector, SelectorError

from .admission import (
    ADMISSION,
    convert_event_from_storage,
    convert_event_to_storage,
    decoding_error,
    strict_event_errors,
)
from .catalog import CRD_KEY, NAMESPACES_KEY, Catalog, storage_key
from .crds import admit_crd
from .errors import ApiStatus
from .managing import FieldManager, kind_of, manager_name
from .patching import PatchError, json_patch, merge_patch, strategic_merge_patch
from .podsecurity import level_of, violations
from .resources import STORAGE_ALIASES, ResourceType
from .storage import Change, Entry, ObjectTooLarge, Store, StoreCompacted
from .validation import DNS1123_LABEL, DNS1123_SUBDOMAIN, validate_metadata
from .watching import WATCHER_BYTE_BUDGET, Encoder, Event, Watcher, WatchHub, initial_objects

__all__ = ["DeleteOptions", "ListResult", "Registry", "WriteOptions", "WriteResult"]

JSON = dict[str, Any]

#: Changes read from the history at a time while a watch replays it (at most some 24 MiB of
#: the largest objects).
REPLAY_PAGE = 16

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass
class WriteOptions:
    """Query parameters shared by create, update and patch."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    force: bool = False
    user_agent: str = ""


@dataclass
class DeleteOptions:
    propagation: str | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False


@dataclass
class WriteResult:
    obj: JSON
    raw: bytes
    code: int = 200
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListResult:
    raws: list[bytes]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None


def _strip_for_compare(obj: JSON, *, keep_status: bool) -> JSON:
    out = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
    if not keep_status:
        out.pop("status", None)
    return out


class Registry:
    """Every served resource type and the operations on them."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.hub = WatchHub()
        self.catalog = Catalog(store)
        self._stamp_second, self._stamp = -1, ""
        store.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        self.hub.publish(change)
        gone = self.catalog.follow(change)
        if gone is not None:
            self.hub.close_resource(gone)

    # Representation ------------------------------------------------------------------------

    def present(self, rt: ResourceType, version: str, obj: JSON) -> JSON:
        """A stored object as it is served at ``version``."""
        if rt.key in STORAGE_ALIASES:
            return convert_event_from_storage(obj)
        if version != rt.version:
            obj = dict(obj)
            obj["apiVersion"] = rt.api_version(version)
        return obj

    def present_raw(self, rt: ResourceType, version: str, raw: bytes) -> bytes:
        if rt.key not in STORAGE_ALIASES and version == rt.version:
            return raw
        return orjson.dumps(self.present(rt, version, orjson.loads(raw)))

    def _to_storage(self, rt: ResourceType, version: str, obj: JSON) -> JSON:
        if rt.key in STORAGE_ALIASES:
            return convert_event_to_storage(obj)
        obj["apiVersion"] = rt.api_version()
        return obj

    # Reads ---------------------------------------------------------------------------------

    def get_entry(self, rt: ResourceType, namespace: str, name: str) -> Entry:
        entry = self.store.get(storage_key(rt), namespace if rt.namespaced else "", name)
        if entry is None:
            raise ApiStatus.not_found(rt.plural, name, rt.group)
        return entry

    def get(self, rt: ResourceType, version: str, namespace: str, name: str) -> bytes:
        return self.present_raw(rt, version, self.get_entry(rt, namespace, name).raw)

    def parse_selectors(
        self, rt: ResourceType, label_selector: str, field_selector: str
    ) -> tuple[LabelSelector | None, FieldSelector | None]:
        try:
            labels = LabelSelector.parse(label_selector) if label_selector else None
            fields = FieldSelector.parse(field_selector) if field_selector else None
        except SelectorError as exc:
            # Go prints the offending rune as a number
            message = re.sub(
                r"unescaped character in value: '(.)'",
                lambda m: f"unescaped character in value: {ord(m[1])}",
                str(exc),
            )
            raise ApiStatus.bad_request(message) from exc
        if fields is not None:
            for name in fields.fields():
                if rt.field_value({}, name) is None:
                    raise ApiStatus.bad_request(f"field label not supported: {name}")
        return labels, fields

    def list_objects(
        self,
        rt: ResourceType,
        version: str,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        resource_version_match: str = "",
        send_initial_events: bool = False,
    ) -> ListResult:
        labels, fields = self.parse_selectors(rt, label_selector, field_selector)
        _check_version_match(resource_version, resource_version_match, send_initial_events)
        if resource_version:
            _parse_rv(resource_version)
        key = storage_key(rt)
        ns = namespace if rt.namespaced else None
        start_after: tuple[str, str] | None = None
        at: int | None = None
        if continue_token:
            at, start_after = _decode_continue(continue_token)
        elif resource_version_match == "Exact" and resource_version:
            at = _parse_rv(resource_version)
        if at is not None and at != self.store.rv:
            try:
                rows = self.store.snapshot(key, at, ns)
            except StoreCompacted as exc:
                raise ApiStatus.expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                    if continue_token
                    else "The resourceVersion for the provided list is too old."
                ) from exc
            list_rv = at
        else:
            rows = [(k, e.raw) for k, e in self.store.items(key, ns)]
            list_rv = self.store.rv if at is None else at
        if start_after is not None:
            rows = [(k, raw) for k, raw in rows if k > start_after]
        filtering = (labels is not None and not labels.empty) or fields is not None
        watcher = Watcher(rt, namespace=None, labels=labels, fields=fields)
        out: list[bytes] = []
        last_key: tuple[str, str] | None = None
        remaining = 0
        for k, raw in rows:
            if filtering:
                if labels is not None and fields is None:
                    entry = self.store.get(key, *k)
                    obj_labels = (
                        entry.labels
                        if entry is not None and entry.raw is raw
                        else orjson.loads(raw).get("metadata", {}).get("labels") or {}
                    )
                    if not labels.matches(obj_labels):
                        continue
                elif not watcher.matches(orjson.loads(raw)):
                    continue
            if limit and len(out) >= limit:
                remaining += 1
                continue
            out.append(raw)
            last_key = k
        token = ""
        if limit and remaining and last_key is not None:
            token = _encode_continue(list_rv, last_key)
        if rt.key in STORAGE_ALIASES or version != rt.version:
            out = [self.present_raw(rt, version, raw) for raw in out]
        return ListResult(out, list_rv, token, remaining if token and not filtering else None)

    def watch(
        self,
        rt: ResourceType,
        version: str,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        encode: Encoder,
        send_initial_events: bool = False,
        resource_version_match: str = "",
        allow_bookmarks: bool = False,
        byte_budget: int = WATCHER_BYTE_BUDGET,
    ) -> Watcher:
        """Register a watcher and the source of its initial events, in one synchronous step
        (no gap); the stream reads those lazily (:meth:`Watcher.initial_chunks`)."""
        labels, fields = self.parse_selectors(rt, label_selector, field_selector)
        _check_version_match(
            resource_version, resource_version_match, send_initial_events, watch=True
        )
        key = storage_key(rt)
        ns = namespace if rt.namespaced else None
        convert = rt.key in STORAGE_ALIASES or version != rt.version

        def encode_version(kind: str, raw: bytes) -> bytes:
            if convert and kind not in ("ERROR", "BOOKMARK"):
                raw = self.present_raw(rt, version, raw)
            return encode(kind, raw)

        watcher = Watcher(
            rt,
            namespace=ns,
            labels=labels,
            fields=fields,
            encode=encode_version,
            byte_budget=byte_budget,
        )
        if resource_version in ("", "0") or send_initial_events:
            end = b""
            if send_initial_events or allow_bookmarks:  # the end of the initial events
                end = orjson.dumps(self.bookmark(rt, version, initial_end=True))
            entries = [entry for _, entry in self.store.items(key, ns)]
            watcher.initial = initial_objects(watcher, entries, end)
        else:
            since = _parse_watch_rv(resource_version)
            try:
                self.store.check_history(since)
            except StoreCompacted as exc:
                watcher.initial = iter([("ERROR", _expired(exc))])
                watcher.close()
                return watcher
            watcher.initial = self._replay(watcher, key, since, self.store.rv)
        self.hub.add(key, watcher)
        return watcher

    def _replay(self, watcher: Watcher, key: str, since: int, up_to: int) -> Iterator[Event]:
        """The changes ``since < rv <= up_to`` as ``watcher`` sees them, read from the history
        a page at a time; history compacted under a slow reader ends it with a 410 ERROR."""
        while since < up_to:
            try:
                page = self.store.changes_since(
                    key, since, up_to, limit=REPLAY_PAGE, with_prev=watcher.filtered
                )
            except StoreCompacted as exc:
                yield "ERROR", _expired(exc)
                watcher.close()
                return
            if not page:
                return
            for change in page:
                yield from watcher.events_for(change)
            since = page[-1].rv

    def unwatch(self, rt: ResourceType, watcher: Watcher) -> None:
        self.hub.remove(storage_key(rt), watcher)

    def bookmark(self, rt: ResourceType, version: str, *, initial_end: bool = False) -> JSON:
        meta: JSON = {"resourceVersion": str(self.store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rt.kind, "apiVersion": rt.api_version(version), "metadata": meta}

    # Writes --------------------------------------------------------------------------------

    def _namespace_ready(self, rt: ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        entry = self.store.get(NAMESPACES_KEY, "", namespace)
        if entry is None:
            raise ApiStatus.not_found("namespaces", namespace)
        if orjson.loads(entry.raw).get("metadata", {}).get("deletionTimestamp"):
            raise ApiStatus.forbidden(
                rt.plural,
                "",
                rt.group,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    def _check_identity(
        self, rt: ResourceType, version: str, obj: Any, namespace: str, name: str | None
    ) -> JSON:
        if not isinstance(obj, dict):
            raise ApiStatus.bad_request(
                f"the body of the request must be a JSON object describing a {rt.kind}"
            )
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if rt.is_custom and (not api_version or not kind):
            missing = "Kind" if not kind else "apiVersion"
            raise ApiStatus.bad_request(
                f"Object '{missing}' is missing in '{orjson.dumps(obj).decode()[:200]}'"
            )
        expected = rt.api_version(version)
        if api_version and api_version != expected:
            if rt.is_custom:
                raise ApiStatus.bad_request(
                    f"the API version in the data ({api_version}) does not match the expected "
                    f"API version ({expected})"
                )
            raise ApiStatus.bad_request(
                f'{kind or rt.kind} in version "{api_version.rpartition("/")[2]}" cannot be '
                f'handled as a {rt.kind}: no kind "{kind or rt.kind}" is registered for version '
                f'"{api_version}" in scheme "pkg/runtime/scheme.go:111"'
            )
        if kind and kind != rt.kind:
            if rt.is_custom:  # unstructured: decoded, then refused by validation
                raise ApiStatus.invalid(
                    kind,
                    str((obj.get("metadata") or {}).get("name") or ""),
                    rt.group,
                    [
                        {
                            "reason": "FieldValueInvalid",
                            "message": f'Invalid value: "{kind}": must be {rt.kind}',
                            "field": "kind",
                        }
                    ],
                    f'{kind}.{rt.group} "{(obj.get("metadata") or {}).get("name") or ""}" is '
                    f'invalid: kind: Invalid value: "{kind}": must be {rt.kind}',
                )
            internal = rt.group.split(".")[0] if rt.group else "core"
            raise ApiStatus.bad_request(
                f'{kind} in version "{version}" cannot be handled as a {rt.kind}: converting '
                f"({version}.{kind}) to ({internal}.{rt.kind}): unknown conversion"
            )
        if not rt.is_custom and (why := decoding_error(rt.kind, obj)):
            raise ApiStatus.bad_request(
                f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}: {why}'
            )
        obj["apiVersion"], obj["kind"] = expected, rt.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise ApiStatus.bad_request("metadata must be a JSON object")
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiStatus.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name is not None and meta.get("name") and meta["name"] != name:
            raise ApiStatus.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        if name is not None:
            meta["name"] = name
        return obj

    def _invalid(self, rt: ResourceType, name: str, errors: list[FieldError]) -> ApiStatus:
        # events.k8s.io Events are validated as the core Events they are stored as
        group = "" if rt.key in STORAGE_ALIASES else rt.group
        return ApiStatus.invalid(
            rt.kind,
            name,
            group,
            [e.cause() for e in errors],
            format_invalid_message(f"{rt.kind}.{group}" if group else rt.kind, name, errors),
        )

    def _admit(
        self,
        rt: ResourceType,
        version: str,
        obj: JSON,
        old: JSON | None,
        options: WriteOptions,
        subresource: str | None = None,
    ) -> list[str]:
        """Prune, default and validate ``obj`` in place (a status write against the status
        schema, as upstream's status strategy does); return warnings."""
        meta = obj["metadata"]
        for key in ("labels", "annotations", "finalizers", "ownerReferences"):
            if key in meta and not meta[key]:
                del meta[key]  # Go's omitempty: an empty map or list is not kept
        name = meta.get("name", "")
        warnings: list[str] = []
        errors = validate_metadata(
            obj,
            name_rule=DNS1123_LABEL if rt.key == NAMESPACES_KEY else DNS1123_SUBDOMAIN,
            namespaced=rt.namespaced,
            core_finalizers=rt.group == "" and not rt.is_custom,
        )
        if rt.is_custom:
            schema = rt.schemas.get(version) or rt.schemas.get(rt.version) or {}
            # what an update leaves as it was is neither pruned, defaulted nor validated again
            unchanged = Unchanged(obj, old)
            unknown = prune(obj, schema, unchanged)
            if unknown:
                if options.field_validation == "Strict":
                    raise ApiStatus.bad_request(
                        f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}: '
                        "strict decoding error: "
                        + ", ".join(f'unknown field "{u}"' for u in unknown)
                    )
                if options.field_validation != "Ignore":
                    warnings += [f'unknown field "{u}"' for u in unknown]
            apply_defaults(obj, schema, unchanged)
            check = validate_status if subresource == "status" else validate
            schema_errors = check(obj, schema, unchanged)
            errors += schema_errors
            if _blocking(schema_errors) and _has_rules(schema):
                # CEL rules are not evaluated here (docs/devserver-differences.md), but upstream
                # says it skipped them when the schema already failed
                errors.append(_RULES_SKIPPED)
        elif rt.key == CRD_KEY:
            errors += admit_crd(obj, old, self.clock.now())
        else:
            admit = ADMISSION.get(storage_key(rt))
            if admit is not None:
                found = admit(obj, old)
                if rt.key in STORAGE_ALIASES and old is None:  # events.k8s.io: stricter
                    found = strict_event_errors(obj)
                errors += found
        if errors:
            raise self._invalid(rt, name, errors)
        return warnings

    def _pod_security(self, pod: JSON, namespace: str) -> None:
        """Pod Security Admission: refuse a pod that violates its namespace's level."""
        entry = self.store.get(NAMESPACES_KEY, "", namespace)
        level = level_of(entry.load() if entry is not None else None)
        found = violations(pod, level)
        if found:
            name = pod["metadata"].get("name", "")
            why = f'violates PodSecurity "{level}:latest": {", ".join(found)}'
            raise ApiStatus.forbidden("pods", name, "", why)

    def _put(self, rt: ResourceType, obj: JSON, dry_run: bool) -> Change | None:
        """Store ``obj`` (for a dry run, only check that it could be stored)."""
        try:
            if dry_run:
                size = len(orjson.dumps(obj))
                if size > self.store.max_object_bytes:
                    raise ObjectTooLarge(size, self.store.max_object_bytes)
                return None
            return self.store.put(storage_key(rt), obj, sort_keys=rt.is_custom)
        except ObjectTooLarge as exc:
            # kube-apiserver passes etcd's refusal on as a 500 without a reason
            raise ApiStatus(
                500,
                "",
                f"etcdserver: request is too large (the object is {exc.size} bytes, the limit "
                f"is {exc.limit})",
            ) from exc

    def _now(self) -> str:
        """The current time as metav1.Time, formatted once per second (it is on the hot path)."""
        now = self.clock.now()
        second = int(now.timestamp())
        if second != self._stamp_second:
            self._stamp_second, self._stamp = second, format_time(now)
        return self._stamp

    def create(
        self,
        rt: ResourceType,
        version: str,
        namespace: str,
        body: Any,
        options: WriteOptions | None = None,
    ) -> WriteResult:
        options = options or WriteOptions()
        obj = self._check_identity(rt, version, body, namespace, None)
        return self._create(rt, version, namespace, obj, options, applied=False)

    def _create(
        self,
        rt: ResourceType,
        version: str,
        namespace: str,
        obj: JSON,
        options: WriteOptions,
        *,
        applied: bool,
    ) -> WriteResult:
        """Create ``obj`` (checked); ``applied``: its managedFields are an apply's already."""
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            base = str(meta["generateName"])[:58]
            meta["name"] = base + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
        self._namespace_ready(rt, namespace)
        for server_field in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ):
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self._now()
        if rt.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rt.is_custom and rt.has_status:
            obj.pop("status", None)
        obj = self._to_storage(rt, version, obj)
        warnings = self._admit(rt, version, obj, None, options)
        if rt.key == "/pods":
            self._pod_security(obj, namespace)
        if not applied:
            FieldManager(kind_of(rt, version), "", self._now()).create(
                obj, manager_name(options.field_manager, options.user_agent)
            )
        name = meta.get("name", "")
        if self.store.get(storage_key(rt), namespace if rt.namespaced else "", name) is not None:
            raise ApiStatus.already_exists(rt.plural, name, rt.group)
        change = self._put(rt, obj, options.dry_run)
        if change is None:
            return WriteResult(self.present(rt, version, obj), b"", 201, warnings)
        return WriteResult(change.obj, self.present_raw(rt, version, change.raw), 201, warnings)

    def update(
        self,
        rt: ResourceType,
        version: str,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        options: WriteOptions | None = None,
    ) -> WriteResult:
        options = options or WriteOptions()
        obj = self._check_identity(rt, version, body, namespace, name)
        entry = self.get_entry(rt, namespace, name)
        old = entry.load()
        wanted_rv = obj["metadata"].get("resourceVersion")
        if wanted_rv and (error := rv_error(str(wanted_rv))):
            raise ApiStatus(500, "", error[error.index("strconv.") :])  # etcd3's words, no reason
        if wanted_rv and wanted_rv != str(entry.rv):
            raise ApiStatus.conflict(rt.plural, name, rt.group)
        return self._replace(
            rt, version, old, self._to_storage(rt, version, obj), subresource, options
        )

    def _replace(
        self,
        rt: ResourceType,
        version: str,
        old: JSON,
        new: JSON,
        subresource: str,
        options: WriteOptions,
        *,
        applied: bool = False,
    ) -> WriteResult:
        """Write ``new`` over ``old`` with the rules of an update (shared by PUT and PATCH);
        ``applied``: ``new`` carries the managedFields of an apply already."""
        old_meta, meta = old["metadata"], new["metadata"]
        name = old_meta["name"]
        if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
            # kube-apiserver words it as etcd3's storage error
            key = "/".join(
                part
                for part in ("/registry", rt.group, rt.plural, old_meta.get("namespace"), name)
                if part
            )
            raise ApiStatus.conflict(
                rt.plural,
                name,
                rt.group,
                f"StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, "
                f"AdditionalErrorMsg: Precondition failed: UID in precondition: {meta['uid']}, "
                f"UID in object meta: {old_meta.get('uid')}",
            )
        if subresource == "status":
            status = new.get("status")
            managed = meta.get("managedFields")  # an apply's, kept as the status strategy does
            new = copy.deepcopy({key: value for key, value in old.items() if key != "status"})
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
            if applied and managed is not None:
                meta["managedFields"] = managed
            elif applied:
                meta.pop("managedFields", None)
        elif rt.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        for kept in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ):
            if kept in old_meta:
                meta[kept] = old_meta[kept]
            else:
                meta.pop(kept, None)
        meta.pop("selfLink", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                shown = ", ".join(f'"{f}"' for f in sorted(added))
                error = FieldError(
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers []string{{{shown}}}",
                )
                # custom resources are checked twice upstream (metadata, then the strategy)
                raise self._invalid(rt, name, [error, error] if rt.is_custom else [error])
        if rt.has_generation:
            generation = int(old_meta.get("generation") or 1)
            keep_status = not rt.has_status
            if _strip_for_compare(new, keep_status=keep_status) != _strip_for_compare(
                old, keep_status=keep_status
            ):
                generation += 1
            meta["generation"] = generation
        else:
            meta.pop("generation", None)
        warnings = self._admit(rt, version, new, old, options, subresource)
        if not applied:
            FieldManager(kind_of(rt, version), subresource, self._now()).update(
                old, new, manager_name(options.field_manager, options.user_agent)
            )
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        if new == old:
            return WriteResult(old, self.present_raw(rt, version, orjson.dumps(old)), 200, warnings)
        change = self._put(rt, new, options.dry_run)
        if change is None:
            return WriteResult(self.present(rt, version, new), b"", 200, warnings)
        key = storage_key(rt)
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and rt.key != NAMESPACES_KEY  # the namespace controller removes those when empty
        ):
            self.store.delete(key, change.namespace, change.name)
        return WriteResult(change.obj, self.present_raw(rt, version, change.raw), 200, warnings)

    def patch(
        self,
        rt: ResourceType,
        version: str,
        namespace: str,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str = "",
        options: WriteOptions | None = None,
    ) -> WriteResult:
        options = options or WriteOptions()
        if content_type == STRATEGIC_PATCH and rt.is_custom:
            raise ApiStatus.unsupported_media_type(
                content_type, [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
            )
        entry = self.store.get(storage_key(rt), namespace if rt.namespaced else "", name)
        if content_type == APPLY_PATCH:
            if not options.field_manager:
                raise ApiStatus.invalid_field(
                    "PatchOptions",
                    "",
                    "meta.k8s.io",
                    "fieldManager",
                    "Required value: is required for apply patch",
                    "FieldValueRequired",
                )
            config = self._check_identity(rt, version, patch, namespace, name)
            manager = FieldManager(kind_of(rt, version), subresource, self._now())
            if entry is None:
                if subresource:
                    raise ApiStatus.not_found(rt.plural, name, rt.group)
                obj = manager.apply(None, config, options.field_manager, options.force)
                obj = self._check_identity(rt, version, obj, namespace, name)
                return self._create(rt, version, namespace, obj, options, applied=True)
            current = self.present(rt, version, entry.load())
            patched = manager.apply(current, config, options.field_manager, options.force)
            return self._write_patched(
                rt, version, namespace, name, entry, patched, subresource, options, True
            )
        if entry is None:
            raise ApiStatus.not_found(rt.plural, name, rt.group)
        current = self.present(rt, version, entry.load())
        try:
            if content_type == JSON_PATCH:
                patched = json_patch(current, patch)
            elif content_type == MERGE_PATCH:
                patched = merge_patch(current, patch)
            elif content_type == STRATEGIC_PATCH:
                patched = strategic_merge_patch(current, patch)
            else:
                raise ApiStatus.unsupported_media_type(
                    content_type, [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
                )
        except PatchError as exc:
            # kube-apiserver keeps the reason to itself
            raise ApiStatus(
                422, "Invalid", "the server rejected our request due to an error in our request", {}
            ) from exc
        return self._write_patched(
            rt, version, namespace, name, entry, patched, subresource, options, False
        )

    def _write_patched(
        self,
        rt: ResourceType,
        version: str,
        namespace: str,
        name: str,
        entry: Entry,
        patched: Any,
        subresource: str,
        options: WriteOptions,
        applied: bool,
    ) -> WriteResult:
        """Store the result of a patch of ``entry``."""
        if not isinstance(patched, dict):
            raise ApiStatus.bad_request("the patch must produce a JSON object")
        patched_meta = patched.get("metadata") if isinstance(patched.get("metadata"), dict) else {}
        wanted_rv = patched_meta.get("resourceVersion") if patched_meta else None
        if wanted_rv and str(wanted_rv) != str(entry.rv):
            raise ApiStatus.conflict(rt.plural, name, rt.group)
        obj = self._check_identity(rt, version, patched, namespace, name)
        return self._replace(
            rt,
            version,
            entry.load(),
            self._to_storage(rt, version, obj),
            subresource,
            options,
            applied=applied,
        )

    def delete(
        self,
        rt: ResourceType,
        version: str,
        namespace: str,
        name: str,
        options: DeleteOptions | None = None,
    ) -> WriteResult:
        options = options or DeleteOptions()
        entry = self.get_entry(rt, namespace, name)
        obj = entry.load()
        meta = obj["metadata"]
        # a delete's failed precondition names the kind, not the resource (as upstream does)
        if options.precondition_uid and options.precondition_uid != meta.get("uid"):
            raise ApiStatus.conflict(
                rt.kind,
                name,
                rt.group,
                f"the UID in the precondition ({options.precondition_uid}) does not match the "
                f"UID in record ({meta.get('uid')}). The object might have been deleted and then "
                "recreated",
            )
        if options.precondition_rv and options.precondition_rv != str(entry.rv):
            raise ApiStatus.conflict(
                rt.kind,
                name,
                rt.group,
                f"the ResourceVersion in the precondition ({options.precondition_rv}) does not "
                f"match the ResourceVersion in record ({entry.rv}). The object might have been "
                "modified",
            )
        policy = options.propagation or rt.default_propagation
        if policy not in ("Background", "Foreground", "Orphan"):
            raise ApiStatus.invalid_field(
                "DeleteOptions",
                "",
                "meta.k8s.io",
                "propagationPolicy",
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", '
                '"Orphan", "nil"',
                "FieldValueNotSupported",
            )
        finalizers = list(meta.get("finalizers") or [])
        key = storage_key(rt)
        if rt.key == NAMESPACES_KEY:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if (
            policy == "Orphan"
            and "orphan" not in finalizers
            and self.store.dependents(meta.get("uid", ""))
        ):
            finalizers.append("orphan")
        if options.dry_run and (finalizers or rt.returns_deleted_object):
            return WriteResult(self.present(rt, version, obj), b"", 200)
        if options.dry_run:
            return WriteResult(_deleted_status(rt, name, meta), b"", 200)
        if finalizers or rt.key == NAMESPACES_KEY:
            unchanged = finalizers == list(meta.get("finalizers") or [])
            if meta.get("deletionTimestamp") and unchanged:
                return WriteResult(obj, self.present_raw(rt, version, entry.raw), 200)
            if finalizers:
                meta["finalizers"] = finalizers
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = self._now()
                meta["deletionGracePeriodSeconds"] = 0
                if rt.has_generation:
                    meta["generation"] = int(meta.get("generation") or 1) + 1
            change = self.store.put(key, obj, sort_keys=rt.is_custom)
            return WriteResult(change.obj, self.present_raw(rt, version, change.raw), 200)
        change = self.store.delete(key, entry_ns(rt, namespace), name)
        if rt.key == "/pods":  # deleted gracefully (with no grace left): its last state says so
            gone = copy.deepcopy(change.obj)
            gone_meta = gone["metadata"]
            gone_meta["deletionTimestamp"] = self._now()
            gone_meta["deletionGracePeriodSeconds"] = 0
            gone_meta["generation"] = int(gone_meta.get("generation") or 1) + 1
            return WriteResult(gone, orjson.dumps(gone), 200)
        if rt.returns_deleted_object:
            return WriteResult(change.obj, self.present_raw(rt, version, change.raw), 200)
        status = _deleted_status(rt, name, meta)
        return WriteResult(status, orjson.dumps(status), 200)

    def delete_collection(
        self,
        rt: ResourceType,
        version: str,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        options: DeleteOptions | None = None,
    ) -> list[bytes]:
        listed = self.list_objects(
            rt,
            rt.version,
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
        )
        out: list[bytes] = []
        for raw in listed.raws:
            meta = orjson.loads(raw)["metadata"]
            try:
                result = self.delete(rt, version, meta.get("namespace", ""), meta["name"], options)
            except ApiStatus as exc:
                if exc.code == 404:
                    continue
                raise
            obj = result.obj if result.obj.get("kind") != "Status" else orjson.loads(raw)
            out.append(orjson.dumps(self.present(rt, version, obj)))
        return out

    def finalize_namespace(self, name: str) -> None:
        """Remove a terminating namespace once it is empty (the namespace controller's job)."""
        entry = self.store.get(NAMESPACES_KEY, "", name)
        if entry is not None:
            self.store.delete(NAMESPACES_KEY, "", name)


_RULES_SKIPPED = FieldError(
    "FieldValueInvalid",
    "<nil>",
    "some validation rules were not checked because the object was invalid; correct the "
    "existing errors to complete validation",
    JsonValue(None),
)


_BLOCKING = {
    "FieldValueNotSupported",
    "FieldValueRequired",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
}


def _blocking(errors: list[FieldError]) -> bool:
    """Errors after which apiextensions-apiserver does not run the CEL rules."""
    return any(e.reason in _BLOCKING for e in errors)


def _has_rules(schema: Any) -> bool:
    """Whether a structural schema holds CEL rules (``x-kubernetes-validations``) anywhere."""
    if isinstance(schema, dict):
        return bool(schema.get("x-kubernetes-validations")) or any(
            _has_rules(v) for k, v in schema.items() if k not in ("default", "enum", "example")
        )
    if isinstance(schema, list):
        return any(_has_rules(v) for v in schema)
    return False


def _deleted_status(rt: ResourceType, name: str, meta: JSON) -> JSON:
    """The ``Status`` a delete answers for kinds that do not return the deleted object."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": name,
            **({"group": rt.group} if rt.group else {}),
            "kind": rt.plural,
            "uid": meta.get("uid"),
        },
    }


def entry_ns(rt: ResourceType, namespace: str) -> str:
    return namespace if rt.namespaced else ""


def _expired(exc: StoreCompacted) -> bytes:
    """The Status of a watch ERROR event for a compacted resourceVersion."""
    return orjson.dumps(ApiStatus.expired(str(exc)).to_status())


_MAX_UINT64 = 2**64 - 1


def rv_error(value: str) -> str | None:
    """Why ``value`` is no resourceVersion, in kube-apiserver's words (Go's ParseUint)."""
    if value.isascii() and value.isdigit():
        if int(value) <= _MAX_UINT64:
            return None
        why = "value out of range"
    else:
        why = "invalid syntax"
    return f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing "{value}": {why}'


def _check_version_match(
    resource_version: str, match: str, send_initial_events: bool = False, *, watch: bool = False
) -> None:
    """``resourceVersionMatch`` and ``sendInitialEvents`` as upstream validates ListOptions."""
    errors: list[FieldError] = []

    def forbidden(field: str, detail: str) -> None:
        errors.append(FieldError("FieldValueForbidden", field, detail))

    if watch:
        if send_initial_events and match != "NotOlderThan":
            forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
        if match and not send_initial_events:
            forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )
        if match and match != "NotOlderThan":
            errors.append(
                FieldError(
                    "FieldValueNotSupported",
                    "resourceVersionMatch",
                    'supported values: "NotOlderThan"',
                    match,
                )
            )
    else:
        if send_initial_events:
            forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list")
        if match and not resource_version:
            forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )
        elif match == "Exact" and resource_version == "0":
            forbidden(
                "resourceVersionMatch",
                'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
            )
        if match not in ("", "Exact", "NotOlderThan"):
            errors.append(
                FieldError(
                    "FieldValueNotSupported",
                    "resourceVersionMatch",
                    'supported values: "Exact", "NotOlderThan", ""',
                    match,
                )
            )
    if errors:
        message = format_invalid_message("ListOptions.meta.k8s.io", "", errors)
        raise ApiStatus.invalid(
            "ListOptions", "", "meta.k8s.io", [e.cause() for e in errors], message
        )


def _parse_rv(value: str) -> int:
    """A list's resourceVersion (400 when it is none, as upstream answers)."""
    error = rv_error(value)
    if error is not None:
        raise ApiStatus.bad_request(f"invalid resource version: {error}")
    return int(value)


def _parse_watch_rv(value: str) -> int:
    """A watch's resourceVersion: upstream answers an unparsable one with a 500 (no reason)."""
    error = rv_error(value)
    if error is not None:
        raise ApiStatus(500, "", error)
    return int(value)


def _encode_continue(rv: int, key: tuple[str, str]) -> str:
    token = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(key)})
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ApiStatus.bad_request(
            f"invalid continue token: continue key is not valid: {_go_json_error(token, exc)}"
        ) from None


def _go_json_error(token: str, exc: Exception) -> str:
    """Go's words for an undecodable continue token (its first bad character), as near as known."""
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return "illegal base64 data"
    text = data.lstrip(b" \t\r\n")
    if text and text[:1] not in b'{["-0123456789tfn':
        char = chr(text[0])
        shown = char if char.isprintable() and char.isascii() else f"\\u{text[0]:04x}"
        return f"invalid character '{shown}' looking for beginning of value"
    return str(exc)
