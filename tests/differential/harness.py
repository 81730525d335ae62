"""Send the same requests to the dev server and to kube-apiserver, and compare the answers.

:class:`Both` holds one :class:`Endpoint` per server; ``both.request(...)`` sends a request to
each and returns a :class:`Pair` of :class:`Reply`. :func:`assert_same` compares a pair after
:func:`normalise` has replaced what legitimately differs between two servers (uids, timestamps,
resourceVersions, continue tokens, the cluster CA) with placeholders; resourceVersions are
compared by their order instead (:func:`assert_increasing`).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from kubernetes import client, config

JSON = dict[str, Any]
Normaliser = Callable[[Any], Any]

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Keys whose values are server-specific identities or versions.
_PLACEHOLDERS = {
    "uid": "<uid>",
    "resourceVersion": "<rv>",
    "continue": "<continue>",
}
ROOT_CA = "kube-root-ca.crt"

SOFT: list[str] | None = [] if os.environ.get("DIFF_SOFT") else None


@dataclass
class Reply:
    """One server's answer."""

    status: int
    headers: dict[str, str]
    data: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.data) if self.data else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def body(self) -> Any:
        """The body as JSON when it is JSON, else as text."""
        if "json" in self.content_type:
            return self.json
        return self.data.decode(errors="replace")

    def warnings(self) -> list[str]:
        value = self.headers.get("warning", "")
        return [w.strip() for w in re.split(r",(?=\s*299 )", value) if w.strip()]


class Endpoint:
    """Plain HTTP against one API server, authenticated as its kubeconfig says."""

    def __init__(self, name: str, kubeconfig: str) -> None:
        self.name = name
        configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        self.configuration = configuration
        self.api = client.ApiClient(configuration)
        self.pool = self.api.rest_client.pool_manager
        self.auth: dict[str, str] = {
            setting["key"].title(): setting["value"]
            for setting in configuration.auth_settings().values()
        }

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        if query:
            path = f"{path}?{urlencode(query, doseq=True)}"
        return self.configuration.host + path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float = 15.0,
    ) -> Reply:
        headers = {"Accept": accept, **self.auth}
        if body is not None:
            headers["Content-Type"] = content_type
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        response = self.pool.request(
            method,
            self.url(path, query),
            body=body,
            headers=headers,
            timeout=timeout,
            preload_content=True,
            retries=False,
        )
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.headers.items()},
            response.data,
        )

    def watch(
        self,
        path: str,
        query: dict[str, Any],
        *,
        stop: Callable[[list[JSON]], bool],
        timeout: float = 10.0,
        accept: str = "application/json",
    ) -> list[JSON]:
        """The events of a watch until ``stop(events)`` holds or the stream ends."""
        response = self.pool.request(
            "GET",
            self.url(path, {"watch": "true", **query}),
            headers={"Accept": accept, **self.auth},
            timeout=client_timeout(timeout),
            preload_content=False,
            retries=False,
        )
        events: list[JSON] = []
        try:
            if response.status != 200:
                return [{"status": response.status, "body": json.loads(response.read())}]
            buffer = b""
            for chunk in response.stream(1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        events.append(json.loads(line))
                if stop(events):
                    break
        except Exception as exc:  # a read timeout ends the stream like the server would
            if "timed out" not in str(exc).lower():
                raise
        finally:
            response.release_conn()
            response.close()
        return events


def client_timeout(seconds: float) -> Any:
    import urllib3

    return urllib3.Timeout(connect=5.0, read=seconds)


@dataclass
class Pair:
    """The same request's answer from each server."""

    dev: Reply
    kube: Reply

    def __iter__(self) -> Iterator[Reply]:
        return iter((self.dev, self.kube))


@dataclass
class Both:
    """The two servers under comparison."""

    dev: Endpoint
    kube: Endpoint
    notes: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Pair:
        return Pair(
            self.dev.request(method, path, body, **kw), self.kube.request(method, path, body, **kw)
        )

    def watch(self, path: str, query: dict[str, Any], **kw: Any) -> tuple[list[JSON], list[JSON]]:
        """One watch on each server, read in parallel (so slow ones cost their time once)."""
        results: dict[str, list[JSON]] = {}

        def run(endpoint: Endpoint) -> None:
            results[endpoint.name] = endpoint.watch(path, query, **kw)

        threads = [threading.Thread(target=run, args=(e,)) for e in (self.dev, self.kube)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results["dev"], results["kube"]


# Normalisation -------------------------------------------------------------------------------


def normalise(
    doc: Any, *, generated: dict[str, str] | None = None, managed_fields: bool = False
) -> Any:
    """``doc`` with server-specific values replaced by placeholders.

    uids, resourceVersions and continue tokens become ``<uid>``, ``<rv>``, ``<continue>``; every
    RFC 3339 time becomes ``<time>``; the data of the cluster's root CA ConfigMap ``<ca>``; names
    in ``generated`` (a name -> placeholder map, for ``generateName``) their placeholder.
    """
    generated = generated or {}

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            out = {
                k: walk(v, k) for k, v in value.items() if managed_fields or k != "managedFields"
            }
            meta = out.get("metadata")
            if isinstance(meta, dict) and meta.get("name") == ROOT_CA and "data" in out:
                out["data"] = "<ca>"
            return out
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str):
            if key in _PLACEHOLDERS and value:
                return _PLACEHOLDERS[key]
            if _TIME.match(value):
                return "<time>"
            if _UID.match(value):
                return "<uid>"
            for name, placeholder in generated.items():
                value = value.replace(name, placeholder)
        return value

    return walk(doc)


def cut_messages(marker: str) -> Normaliser:
    """A normaliser that ends every ``message`` after ``marker`` (for a message whose tail
    deliberately differs, see docs/devserver-differences.md)."""

    def cut(doc: Any) -> Any:
        def walk(value: Any, key: str = "") -> Any:
            if isinstance(value, dict):
                return {k: walk(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v, key) for v in value]
            if key == "message" and isinstance(value, str) and marker in value:
                return value[: value.index(marker) + len(marker)] + "<cut>"
            return value

        return walk(normalise(doc))

    return cut


def diff(dev: Any, kube: Any) -> str:
    """A unified diff of two JSON documents (dev server first)."""
    a = json.dumps(dev, indent=2, sort_keys=True).splitlines()
    b = json.dumps(kube, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "dev server", "kube-apiserver", lineterm=""))


def assert_same(
    pair: Pair, normaliser: Normaliser | None = None, *, headers: tuple[str, ...] = ()
) -> Any:
    """Both servers answered alike: the same status code, the same normalised body and the
    same values of ``headers``. Returns the (normalised) body."""
    norm = normaliser or normalise
    dev, kube = (norm(reply.body()) for reply in pair)
    if SOFT is not None and not (pair.dev.status == pair.kube.status and dev == kube):
        SOFT.append(f"dev {pair.dev.status}, kube {pair.kube.status}\n{diff(dev, kube)}")
        return kube
    assert pair.dev.status == pair.kube.status and dev == kube, (
        f"dev server {pair.dev.status}, kube-apiserver {pair.kube.status}\n{diff(dev, kube)}"
    )
    for name in headers:
        assert pair.dev.headers.get(name) == pair.kube.headers.get(name), (
            name,
            pair.dev.headers.get(name),
            pair.kube.headers.get(name),
        )
    return kube


def assert_equal(dev: Any, kube: Any, normaliser: Normaliser | None = None) -> Any:
    """Two documents (one per server) are alike once normalised."""
    norm = normaliser or normalise
    a, b = norm(dev), norm(kube)
    assert a == b, diff(a, b)
    return b


def rv(doc: JSON) -> int:
    return int(doc["metadata"]["resourceVersion"])


def assert_increasing(*docs: JSON) -> None:
    """The resourceVersions of ``docs`` strictly increase (the one order both servers share)."""
    versions = [rv(d) for d in docs]
    assert versions == sorted(versions) and len(set(versions)) == len(versions), versions
