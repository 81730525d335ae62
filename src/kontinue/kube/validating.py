"""Validate objects against their CustomResourceDefinition before sending them (kates' Validator).

A :class:`Validator` answers "would the API server accept this custom resource?" locally: it
fetches the CRD of the object's kind once, caches the schema per ``(apiVersion, kind)`` and then
runs the same pure steps as the embedded server's admission (:mod:`kontinue.kube.schema`): prune,
default, validate, on a copy.  Fields the schema does not declare are reported as errors, as
``fieldValidation=Strict`` would, because a field the server silently drops is almost always a
typo.

What counts as valid:

* a built-in kind (served by the API server but not defined by a CRD) is accepted as is; only
  custom resources have a schema to check here;
* something that is not a Kubernetes object at all (no ``apiVersion``, ``kind`` or
  ``metadata.name``) is reported with one ``FieldValueRequired`` error per missing field;
* a kind the server does not serve at that ``apiVersion`` is an error on ``kind`` (or on
  ``apiVersion`` when the CRD exists but does not serve that version).

Field problems are returned as a list (empty when valid); failures to talk to the server are
raised as :class:`~kontinue.kube.errors.KubeError`.  Kinds found unknown are looked up again on
the next call (their CRD may just be being created); :meth:`Validator.invalidate` drops the cache
after a CRD changed.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ._core import JSON, to_dict
from ._requests import Response
from .errors import error_from_response
from .resources import split_api_version
from .schema import FieldError, apply_defaults, prune, validate

if TYPE_CHECKING:
    from .client import AsyncKubeClient, KubeClient

__all__ = ["SyncValidator", "Validator"]

_CRDS = "customresourcedefinitions"
# A CRD version without a schema (legacy) accepts anything, like the server does.
_ANYTHING: JSON = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_BUILTIN = None  # the cached "schema" of a kind that no CRD defines


def _identity_errors(body: JSON) -> list[FieldError]:
    """What keeps ``body`` from being a Kubernetes object at all (empty when nothing does)."""
    errors: list[FieldError] = []
    for key in ("apiVersion", "kind"):
        value = body.get(key)
        if not value:
            errors.append(FieldError("FieldValueRequired", key))
        elif not isinstance(value, str):
            errors.append(FieldError("FieldValueTypeInvalid", key, "must be a string", value))
    meta = body.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        errors.append(
            FieldError("FieldValueRequired", "metadata.name", "name or generateName is required")
        )
    return errors


def _check_against(body: JSON, schema: JSON) -> list[FieldError]:
    """Errors of a custom resource under ``schema``, as the API server's admission finds them.

    Works on a copy: undeclared fields become errors, then defaults are filled in (a default
    may satisfy ``required``) and the result is validated.
    """
    candidate = copy.deepcopy(body)
    errors = [
        FieldError("FieldValueForbidden", path, "field not declared in schema")
        for path in prune(candidate, schema)
    ]
    apply_defaults(candidate, schema)
    return errors + validate(candidate, schema)


@dataclass
class _Schemas:
    """The validator's memory and decisions; no I/O.

    ``schemas`` maps ``(apiVersion, kind)`` to the served version's schema, or to ``None`` for a
    built-in kind; ``versions`` maps ``(group, kind)`` of every CRD to its served versions.
    """

    schemas: dict[tuple[str, str], JSON | None] = field(default_factory=dict)
    versions: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def cached(self, api_version: str, kind: str) -> tuple[bool, JSON | None]:
        key = (api_version, kind)
        return key in self.schemas, self.schemas.get(key)

    def learn_crds(self, crds: list[JSON]) -> None:
        """Remember the schema of every served version of every CRD in a CRD list."""
        for crd in crds:
            spec = crd.get("spec") or {}
            group, kind = str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind"))
            served = []
            for version in spec.get("versions") or []:
                if not version.get("served", True):
                    continue
                served.append(str(version.get("name")))
                schema = (version.get("schema") or {}).get("openAPIV3Schema") or _ANYTHING
                self.schemas[(f"{group}/{version.get('name')}", kind)] = schema
            self.versions[(group, kind)] = served

    @staticmethod
    def may_be_custom(api_version: str) -> bool:
        """A CRD's group must contain a dot: ``apps/v1`` or ``v1`` never name a custom kind."""
        group, _ = split_api_version(api_version)
        return "." in group

    def discovered(self, api_version: str, kind: str, answer: Response) -> list[FieldError]:
        """Decide from the group version's discovery document whether ``kind`` is served."""
        kinds: set[str] = set()
        if answer.status != 404:
            if answer.status >= 400:
                raise error_from_response(answer.status, answer.body, answer.header("Retry-After"))
            document = orjson.loads(answer.body)
            kinds = {
                str(r.get("kind"))
                for r in document.get("resources") or []
                if "/" not in str(r.get("name", ""))
            }
        if kind in kinds:
            self.schemas[(api_version, kind)] = _BUILTIN
            return []
        return self.unknown(api_version, kind)

    def unknown(self, api_version: str, kind: str) -> list[FieldError]:
        group, _ = split_api_version(api_version)
        served = self.versions.get((group, kind))
        if served is not None:
            supported = ", ".join(f'"{group}/{v}"' for v in served)
            return [
                FieldError(
                    "FieldValueNotSupported",
                    "apiVersion",
                    f"supported values: {supported}",
                    api_version,
                )
            ]
        return [
            FieldError(
                "FieldValueNotFound",
                "kind",
                f'the server has no kind "{kind}" in "{api_version}"',
                kind,
            )
        ]

    def check(self, body: JSON, schema: JSON | None) -> list[FieldError]:
        return [] if schema is _BUILTIN else _check_against(body, schema)


def _discovery_path(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def _prepare(obj: Any) -> tuple[JSON, list[FieldError]]:
    body = to_dict(obj)
    return body, _identity_errors(body)


class Validator:
    """Validates objects for an :class:`~kontinue.kube.AsyncKubeClient`'s cluster.

    The first object of a kind costs a CRD list (or, for a group that cannot hold CRDs, one
    discovery request); later ones are checked locally. Safe to share between tasks.
    """

    def __init__(self, client: AsyncKubeClient) -> None:
        self.client = client
        self._schemas = _Schemas()
        self._lock = asyncio.Lock()

    async def validate(self, obj: Any) -> list[FieldError]:
        """The reasons the server would reject ``obj`` (a dict or a pydantic model); empty if
        none. Raises ``TypeError`` for anything else and ``KubeError`` if the server cannot be
        asked."""
        body, errors = _prepare(obj)
        if errors:
            return errors
        api_version, kind = body["apiVersion"], body["kind"]
        known, schema = self._schemas.cached(api_version, kind)
        if not known:
            async with self._lock:
                known, schema = self._schemas.cached(api_version, kind)
                if not known:
                    if self._schemas.may_be_custom(api_version):
                        self._schemas.learn_crds(await self.client.list(_CRDS))
                        known, schema = self._schemas.cached(api_version, kind)
                    if not known:
                        answer = await self.client.raw("GET", _discovery_path(api_version))
                        return self._schemas.discovered(api_version, kind, answer)
        return self._schemas.check(body, schema)

    def invalidate(self) -> None:
        """Forget every schema (after CRDs were changed or deleted)."""
        self._schemas = _Schemas()


class SyncValidator:
    """The blocking twin of :class:`Validator`, for a :class:`~kontinue.kube.KubeClient`."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._schemas = _Schemas()
        self._lock = threading.Lock()

    def validate(self, obj: Any) -> list[FieldError]:
        """See :meth:`Validator.validate`."""
        body, errors = _prepare(obj)
        if errors:
            return errors
        api_version, kind = body["apiVersion"], body["kind"]
        with self._lock:
            known, schema = self._schemas.cached(api_version, kind)
            if not known:
                if self._schemas.may_be_custom(api_version):
                    self._schemas.learn_crds(self.client.list(_CRDS))
                    known, schema = self._schemas.cached(api_version, kind)
                if not known:
                    answer = self.client.raw("GET", _discovery_path(api_version))
                    return self._schemas.discovered(api_version, kind, answer)
        return self._schemas.check(body, schema)

    def invalidate(self) -> None:
        """Forget every schema (after CRDs were changed or deleted)."""
        self._schemas = _Schemas()
