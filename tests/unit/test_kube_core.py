"""The pure core of the Kubernetes clients: requests, resources, errors, limits, retries."""

from __future__ import annotations

import orjson
import pytest

from kontinue.kube._core import KubeCore, KubeSettings, NeedDiscovery, RateLimiter, identity
from kontinue.kube._requests import Response
from kontinue.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    ConnectionFailed,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    TooLarge,
    TooManyRequests,
    error_from_response,
)
from kontinue.kube.resources import ResourceMap


def _status(code: int, reason: str, **extra: object) -> bytes:
    return orjson.dumps({"kind": "Status", "code": code, "reason": reason, "message": "m", **extra})


def test_errors_follow_the_status_reason() -> None:
    assert isinstance(error_from_response(409, _status(409, "AlreadyExists")), AlreadyExists)
    assert isinstance(error_from_response(409, _status(409, "Conflict")), Conflict)
    assert isinstance(error_from_response(404, _status(404, "NotFound")), NotFound)
    assert isinstance(error_from_response(410, _status(410, "Expired")), Gone)
    assert isinstance(error_from_response(503, b"upstream down"), ServerError)
    invalid = error_from_response(
        422, _status(422, "Invalid", details={"causes": [{"field": "spec.x"}]})
    )
    assert isinstance(invalid, Invalid) and invalid.causes == [{"field": "spec.x"}]
    throttled = error_from_response(429, _status(429, "TooManyRequests"), retry_after="3")
    assert isinstance(throttled, TooManyRequests) and throttled.retry_after == 3
    plain = error_from_response(418, b"teapot")
    assert type(plain) is ApiError and plain.message == "teapot"
    # too large: a 413, and kube-apiserver's 500s for etcd's and gRPC's size limits
    assert isinstance(error_from_response(413, _status(413, "RequestEntityTooLarge")), TooLarge)
    for message in (
        "etcdserver: request is too large",
        "rpc error: code = ResourceExhausted desc = trying to send message larger than max",
    ):
        refused = error_from_response(500, orjson.dumps({"kind": "Status", "message": message}))
        assert isinstance(refused, TooLarge) and not isinstance(refused, ServerError)


def test_rate_limiter_allows_a_burst_then_paces() -> None:
    limiter = RateLimiter(qps=10, burst=2)
    assert limiter.reserve(0.0) == 0 and limiter.reserve(0.0) == 0
    assert limiter.reserve(0.0) == pytest.approx(0.1)
    assert limiter.reserve(0.0) == pytest.approx(0.2)
    assert limiter.reserve(10.0) == 0  # refilled (capped at the burst)
    assert RateLimiter(qps=0, burst=1).reserve(0.0) == 0  # unlimited


def test_retries_only_what_is_safe_to_repeat() -> None:
    core = KubeCore("ns", KubeSettings(retries=2, backoff=0.1))
    info = core.resources.by_kind("v1", "ConfigMap")
    assert info is not None
    get = core.get(info, "ns", "a")
    unnamed = core.create(info, "ns", {"metadata": {"generateName": "x-"}})
    named = core.create(info, "ns", {"metadata": {"name": "x"}})
    unavailable = error_from_response(503, b"")
    assert core.retry_delay(get, 0, unavailable) is not None
    assert core.retry_delay(get, 0, ConnectionFailed("reset")) is not None
    assert core.retry_delay(get, 2, unavailable) is None  # out of attempts
    assert core.retry_delay(unnamed, 0, unavailable) is None  # might create twice
    assert core.retry_delay(named, 0, unavailable) is not None
    assert core.retry_delay(get, 0, error_from_response(404, b"")) is None
    throttled = error_from_response(429, b"", retry_after="2")
    assert core.retry_delay(get, 0, throttled) == 2


def test_requests_are_built_like_kubectl_sends_them() -> None:
    core = KubeCore("team", KubeSettings(impersonate_user="alice", impersonate_groups=("ops",)))
    pods = core.resources.by_kind("v1", "Pod")
    assert pods is not None
    request = core.delete(pods, "team", "p", propagation="Foreground", uid="u1")
    assert request.method == "DELETE" and request.path == "/api/v1/namespaces/team/pods/p"
    assert orjson.loads(request.body or b"") == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "preconditions": {"uid": "u1"},
    }
    assert request.headers == {"Impersonate-User": "alice", "Impersonate-Group": "ops"}
    watch = core.watch(pods, None, label_selector="a=b", resource_version="5", timeout_seconds=9)
    assert watch.path == "/api/v1/pods"
    assert dict(watch.query) == {
        "watch": "true",
        "labelSelector": "a=b",
        "resourceVersion": "5",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "9",
    }
    patch = core.patch(pods, "team", "p", {"metadata": {"labels": {"a": "b"}}}, "strategic")
    assert patch.content_type == "application/strategic-merge-patch+json"
    with pytest.raises(ValueError, match="unknown patch type"):
        core.patch(pods, "team", "p", {}, "weird")  # type: ignore[arg-type]


def test_resources_by_name_and_discovery() -> None:
    resources = ResourceMap()
    deploy = resources.by_name("deploy")
    assert deploy is not None and (deploy.group, deploy.plural) == ("apps", "deployments")
    events = resources.by_name("events")
    assert events is not None and events.group == ""  # core first, like kubectl
    assert resources.by_name("widgets") is None
    resources.learn(
        "example.com/v1",
        {
            "resources": [
                {
                    "name": "widgets",
                    "singularName": "widget",
                    "kind": "Widget",
                    "namespaced": True,
                    "shortNames": ["wd"],
                    "verbs": ["get"],
                },
                {"name": "widgets/status", "kind": "Widget", "namespaced": True},
            ]
        },
    )
    for name in ("widgets", "widget", "Widget", "wd", "widgets.example.com", "widgets.example"):
        info = resources.by_name(name)
        assert (
            info is not None
            and info.path("ns", "w") == "/apis/example.com/v1/namespaces/ns/widgets/w"
        )
    core = KubeCore("ns", resources=resources)
    with pytest.raises(NeedDiscovery) as need:
        core.resolve("other.io/v2", "Thing")
    assert need.value.path == "/apis/other.io/v2"
    with pytest.raises(NotFound):
        core.resolve("example.com/v1", "Gadget")  # the group version is known: no such kind


def test_identity_names_what_is_missing() -> None:
    assert identity({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}) == (
        "v1",
        "Pod",
        "",
        "p",
    )
    with pytest.raises(ValueError, match="missing apiVersion, kind"):
        identity({"metadata": {}})


def test_decode_raises_for_errors() -> None:
    core = KubeCore("ns")
    with pytest.raises(Conflict):
        core.decode(Response(409, {}, _status(409, "Conflict")))
    assert core.decode(Response(200, {}, b'{"a": 1}')) == {"a": 1}


def test_models_of_the_official_client_become_wire_json() -> None:
    from kubernetes import client as k8s

    from kontinue.kube import to_dict

    spec = k8s.V1PodSpec(
        containers=[
            k8s.V1Container(
                name="a",
                image="busybox",
                env=[
                    k8s.V1EnvVar(
                        name="X",
                        value_from=k8s.V1EnvVarSource(
                            secret_key_ref=k8s.V1SecretKeySelector(name="s", key="k")
                        ),
                    )
                ],
            )
        ],
        restart_policy="Never",
    )
    assert to_dict(spec) == {
        "containers": [
            {
                "name": "a",
                "image": "busybox",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            }
        ],
        "restartPolicy": "Never",
    }


def test_bearer_tokens_are_sent_once_prefixed_whatever_the_loader_wrote() -> None:
    from kontinue.kube._transport import Connection

    # the official in-cluster loader stores "bearer <token>" (lower case), kubeconfig loaders
    # "Bearer <token>", some only the token
    for stored in ("bearer abc", "Bearer abc", "abc"):
        connection = Connection("https://h", token=lambda stored=stored: stored)  # type: ignore[misc]
        assert connection.headers() == {"Authorization": "Bearer abc"}, stored
