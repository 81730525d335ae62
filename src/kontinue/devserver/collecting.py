"""The dev server's built-in controllers: garbage collection and lifecycle cleanup.

What kube-controller-manager and the apiextensions controllers do on a real cluster:

* ownerReference garbage collection: dependents of a deleted owner are deleted (background),
  deleted before their owner (``foregroundDeletion``) or released (``orphan``);
* namespace termination: a deleted namespace's objects are deleted, then the namespace;
  every new namespace gets its ``default`` ServiceAccount and the ``kube-root-ca.crt``
  ConfigMap with the server's CA (what kube-controller-manager's root-ca-cert-publisher
  puts there, and what in-cluster clients verify the server with);
* CRD cleanup: a deleted CRD's objects are deleted, then the CRD (and its resource) go away.

Changes are only *noted* in the store listener; the work happens in one background task, so
controllers act like clients that react to watch events, never inside another request's write.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import orjson

from ._work import WorkQueue
from .catalog import CRD_KEY, NAMESPACES_KEY, storage_key
from .crds import CLEANUP_FINALIZER
from .errors import ApiStatus
from .registry import DeleteOptions, Registry
from .storage import Change

__all__ = ["ROOT_CA_CONFIGMAP", "Collector"]

#: The ConfigMap every namespace gets with the server's CA, as on a real cluster.
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
#: The annotation kube-controller-manager's root CA publisher puts on the ConfigMap.
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)
CONFIGMAPS_KEY = "/configmaps"

log = logging.getLogger("kontinue.devserver.collector")
JSON = dict[str, Any]
Work = tuple[str, str]  # (what, key)


class Collector:
    """Runs the cleanup controllers on the server's event loop."""

    def __init__(self, registry: Registry, root_ca: str = "") -> None:
        self.registry = registry
        self.root_ca = root_ca
        self.store = registry.store
        self._queue: WorkQueue[Work, None] = WorkQueue(
            "devserver-collector", lambda work, _: self._handle(*work)
        )
        self._unsubscribe = self.store.subscribe(self._note)

    # Noting work ---------------------------------------------------------------------------

    def _add(self, what: str, key: str) -> None:
        self._queue.add((what, key), None)

    def _note(self, change: Change) -> None:
        meta = change.obj.get("metadata", {})
        uid = meta.get("uid", "")
        if change.resource == CONFIGMAPS_KEY and change.name == ROOT_CA_CONFIGMAP:
            self._add("populate", change.namespace)  # kept as published, as upstream does
        if change.type == "DELETED":
            if uid and self.store.dependents(uid):
                self._add("owner", uid)
            for ref in meta.get("ownerReferences") or ():
                self._add("owner", ref.get("uid", ""))
            if change.namespace:
                self._add("namespace", change.namespace)
            self._add("crd-of", change.resource)
            return
        if change.resource == NAMESPACES_KEY:
            if change.type == "ADDED":
                self._add("populate", change.name)
            if meta.get("deletionTimestamp"):
                self._add("namespace", change.name)
        if change.resource == CRD_KEY and meta.get("deletionTimestamp"):
            self._add("crd", change.name)
        finalizers = meta.get("finalizers") or ()
        if meta.get("deletionTimestamp") and (
            "foregroundDeletion" in finalizers or "orphan" in finalizers
        ):
            self._add("owner", uid)

    def resync(self) -> None:
        """Queue a check of everything (after a restart, work may have been interrupted)."""
        for owner in self.store.owner_uids():
            self._add("owner", owner)
        for (_, name), entry in self.store.items(NAMESPACES_KEY):
            self._add("populate", name)
            if _terminating(entry.raw):
                self._add("namespace", name)
        for (_, name), entry in self.store.items(CRD_KEY):
            if _terminating(entry.raw):
                self._add("crd", name)

    # Running -------------------------------------------------------------------------------

    def start(self) -> None:
        self.resync()
        self._queue.start()

    async def stop(self) -> None:
        self._unsubscribe()
        await self._queue.stop()

    async def idle(self) -> None:
        """Wait until no work is pending (tests use it to observe the settled state)."""
        await self._queue.idle()

    def _handle(self, what: str, key: str) -> None:
        if what == "owner":
            self._collect_dependents(key)
        elif what == "namespace":
            self._terminate_namespace(key)
        elif what == "populate":
            self._populate_namespace(key)
        elif what == "crd":
            self._clean_crd(key)
        elif what == "crd-of":
            self._recheck_crd_of(key)

    # Garbage collection --------------------------------------------------------------------

    def _load(self, resource: str, namespace: str, name: str) -> JSON | None:
        entry = self.store.get(resource, namespace, name)
        return entry.load() if entry is not None else None

    def _collect_dependents(self, owner_uid: str) -> None:
        if not owner_uid:
            return
        located = self.store.by_uid(owner_uid)
        owner = self._load(*located) if located else None
        finalizers = (owner or {}).get("metadata", {}).get("finalizers") or []
        terminating = bool((owner or {}).get("metadata", {}).get("deletionTimestamp"))
        for resource, namespace, name in self.store.dependents(owner_uid):
            dependent = self._load(resource, namespace, name)
            if dependent is None:
                continue
            refs = dependent["metadata"].get("ownerReferences") or []
            if owner is not None and terminating and "orphan" in finalizers:
                self._drop_owner_refs(resource, dependent, owner_uid)
            elif owner is None:
                alive = [
                    r for r in refs if r.get("uid") != owner_uid and self.store.by_uid(r["uid"])
                ]
                if alive:
                    self._drop_owner_refs(resource, dependent, owner_uid)
                else:
                    self._delete(resource, namespace, name, "Background")
            elif (
                terminating
                and "foregroundDeletion" in finalizers
                and not dependent["metadata"].get("deletionTimestamp")
            ):
                self._delete(resource, namespace, name, "Foreground")
        if owner is None or not terminating or located is None:
            return
        remaining = self.store.dependents(owner_uid)
        if "orphan" in finalizers:
            self._remove_finalizer(located[0], owner, "orphan")
        elif "foregroundDeletion" in finalizers and not remaining:
            self._remove_finalizer(located[0], owner, "foregroundDeletion")

    def _drop_owner_refs(self, resource: str, obj: JSON, owner_uid: str) -> None:
        refs = [
            r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid
        ]
        if refs:
            obj["metadata"]["ownerReferences"] = refs
        else:
            obj["metadata"].pop("ownerReferences", None)
        self._update(resource, obj)

    def _remove_finalizer(self, resource: str, obj: JSON, finalizer: str) -> None:
        finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        obj["metadata"]["finalizers"] = finalizers
        self._update(resource, obj)

    def _update(self, resource: str, obj: JSON) -> None:
        rt = self.registry.catalog.by_key(resource)
        if rt is None:
            return
        meta = obj["metadata"]
        try:
            self.registry.update(rt, rt.version, meta.get("namespace", ""), meta["name"], obj)
        except ApiStatus as exc:
            if exc.code == 409:
                self._add("owner", meta.get("uid", ""))  # lost a race: look again
            elif exc.code != 404:
                raise

    def _delete(self, resource: str, namespace: str, name: str, policy: str) -> None:
        rt = self.registry.catalog.by_key(resource)
        if rt is None:
            return
        with contextlib.suppress(ApiStatus):
            self.registry.delete(rt, rt.version, namespace, name, DeleteOptions(propagation=policy))

    # Namespaces ----------------------------------------------------------------------------

    def _populate_namespace(self, namespace: str) -> None:
        ns = self._load(NAMESPACES_KEY, "", namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        self._ensure("/serviceaccounts", namespace, account)
        if self.root_ca:
            root_ca = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": ROOT_CA_CONFIGMAP,
                    "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
                },
                "data": {"ca.crt": self.root_ca},
            }
            self._ensure(CONFIGMAPS_KEY, namespace, root_ca)

    def _ensure(self, key: str, namespace: str, body: JSON) -> None:
        """Create ``body`` if it is missing; put its ``data`` back if it was changed."""
        name = body["metadata"]["name"]
        rt = self.registry.catalog.by_key(key)
        assert rt is not None
        current = self._load(key, namespace, name)
        with contextlib.suppress(ApiStatus):
            if current is None:
                self.registry.create(rt, "v1", namespace, body)
            elif "data" in body and current.get("data") != body["data"]:
                self.registry.update(rt, "v1", namespace, name, {**current, "data": body["data"]})

    def _terminate_namespace(self, namespace: str) -> None:
        ns = self._load(NAMESPACES_KEY, "", namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        left = 0
        for rt in self.registry.catalog.types():
            if not rt.namespaced or storage_key(rt) != rt.key:
                continue
            for (_, name), entry in self.store.items(rt.key, namespace):
                left += 1
                if not _terminating(entry.raw):
                    self._delete(rt.key, namespace, name, "Background")
        if left == 0:
            self.registry.finalize_namespace(namespace)

    # CRDs ----------------------------------------------------------------------------------

    def _clean_crd(self, name: str) -> None:
        crd = self._load(CRD_KEY, "", name)
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
        spec = crd.get("spec", {})
        key = f"{spec.get('group')}/{spec.get('names', {}).get('plural')}"
        for (namespace, obj_name), entry in self.store.items(key):
            if not _terminating(entry.raw):
                self._delete(key, namespace, obj_name, "Background")
        if self.store.count(key) == 0 and CLEANUP_FINALIZER in (
            crd["metadata"].get("finalizers") or []
        ):
            self._remove_finalizer(CRD_KEY, crd, CLEANUP_FINALIZER)

    def _recheck_crd_of(self, resource: str) -> None:
        rt = self.registry.catalog.by_key(resource)
        if rt is not None and rt.is_custom and self.store.count(resource) == 0:
            entry = self.store.get(CRD_KEY, "", rt.crd_name)
            if entry is not None and _terminating(entry.raw):
                self._add("crd", rt.crd_name)


def _terminating(raw: bytes) -> bool:
    return bool(orjson.loads(raw).get("metadata", {}).get("deletionTimestamp"))
