"""Benchmark of the embedded API server with the official Kubernetes client.

The server runs as ``kontinue dev`` in its own process with a file-backed store; clients are
separate processes using the official synchronous client, as a real program would. Prints
``name: value unit`` lines.

    .venv/bin/python bench/devserver.py [--objects 2000] [--processes 4] [--total 10000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
from typing import Any

import psutil
from _server import dev_server

GROUP, VERSION, PLURAL, KIND = "bench.kontinue.cloud", "v1", "items", "Item"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "item", "kind": KIND},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "value": {"type": "integer"},
                                    "label": {"type": "string"},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def _api(kubeconfig: str) -> Any:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


def _item(name: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": name, "labels": {"bench": "yes", "shard": str(i % 4)}},
        "spec": {"value": i, "label": f"item number {i}"},
    }


def creator(kubeconfig: str, namespace: str, count: int, go: Any, out: Any) -> None:
    """Create ``count`` objects once ``go`` is set; report (name, latency, done-at) per create."""
    from kubernetes import client

    custom = client.CustomObjectsApi(_api(kubeconfig))
    custom.api_client.call_api  # noqa: B018 - imports done, connection pool ready
    out.put("ready")
    go.wait()
    results = []
    cpu = time.process_time()
    began = time.time()
    for i in range(count):
        name = f"{namespace}-{os.getpid()}-{i}"
        start = time.perf_counter()
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _item(name, i))
        done = time.time()
        results.append((name, time.perf_counter() - start, done))
    out.put((results, time.process_time() - cpu, began, time.time()))


def watcher(
    kubeconfig: str, namespace: str, resource_version: str, expected: int, ready: Any, out: Any
) -> None:
    """Watch from ``resource_version``; report the arrival time of each ADDED object."""
    from kubernetes import client, watch

    custom = client.CustomObjectsApi(_api(kubeconfig))
    arrivals: dict[str, float] = {}
    stream = watch.Watch()
    ready.set()
    for event in stream.stream(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        resource_version=resource_version,
        timeout_seconds=120,
    ):
        if event["type"] == "ADDED":
            arrivals[event["object"]["metadata"]["name"]] = time.time()
            if len(arrivals) >= expected:
                stream.stop()
    out.put(arrivals)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _create_round(
    kubeconfig: str, namespace: str, processes: int, per_process: int
) -> tuple[list[tuple[str, float, float]], float, float]:
    """Create objects in a new namespace from ``processes`` processes.

    Returns the per-create results, the elapsed seconds and the clients' CPU seconds.
    """
    from kubernetes import client

    client.CoreV1Api(_api(kubeconfig)).create_namespace({"metadata": {"name": namespace}})
    ctx = mp.get_context("spawn")
    out, go = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=creator, args=(kubeconfig, namespace, per_process, go, out))
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        assert out.get(timeout=120) == "ready"  # process start-up is not part of the figure
    go.set()
    reports = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = max(rep[3] for rep in reports) - min(rep[2] for rep in reports)
    return [r for rep in reports for r in rep[0]], elapsed, sum(rep[1] for rep in reports)


def run_round(
    kubeconfig: str, label: str, processes: int, per_process: int, server: psutil.Process
) -> None:
    """Throughput with nothing else running, then watch delivery under the same load."""
    from kubernetes import client

    cpu_before = sum(server.cpu_times()[:2])
    results, elapsed, client_cpu = _create_round(kubeconfig, label, processes, per_process)
    server_cpu = sum(server.cpu_times()[:2]) - cpu_before
    latencies = [r[1] * 1000 for r in results]
    print(f"{label}_creates_per_second: {len(results) / elapsed:.0f} objects/s")
    print(f"{label}_create_p50: {percentile(latencies, 0.5):.2f} ms")
    print(f"{label}_create_p99: {percentile(latencies, 0.99):.2f} ms")
    print(f"{label}_server_cpu_per_create: {server_cpu / len(results) * 1000:.3f} ms")
    print(f"{label}_client_cpu_per_create: {client_cpu / len(results) * 1000:.3f} ms")

    ctx = mp.get_context("spawn")
    custom = client.CustomObjectsApi(_api(kubeconfig))
    listed = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, limit=1)
    out_w, ready = ctx.Queue(), ctx.Event()
    watch_proc = ctx.Process(
        target=watcher,
        args=(
            kubeconfig,
            f"{label}-watched",
            listed["metadata"]["resourceVersion"],
            processes * per_process,
            ready,
            out_w,
        ),
    )
    watch_proc.start()
    ready.wait(30)
    time.sleep(1.0)  # let the watch connect
    results, elapsed, _ = _create_round(kubeconfig, f"{label}-watched", processes, per_process)
    arrivals = out_w.get(timeout=120)
    watch_proc.join()
    delays = [
        max(0.0, (arrivals[name] - done) * 1000) for name, _, done in results if name in arrivals
    ]
    print(f"{label}_watched_creates_per_second: {len(results) / elapsed:.0f} objects/s")
    print(f"{label}_watch_delivery_p50: {percentile(delays, 0.5):.2f} ms")
    print(f"{label}_watch_delivery_p99: {percentile(delays, 0.99):.2f} ms")
    print(f"{label}_watch_events_missing: {len(results) - len(delays)} events")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--total", type=int, default=10000, help="objects for the RSS figure")
    args = parser.parse_args()
    from kubernetes import client

    with dev_server() as server:
        print(f"server_startup: {server.startup_ms:.0f} ms")
        kubeconfig = server.kubeconfig
        api = _api(kubeconfig)
        client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
        proc = psutil.Process(server.pids[0])
        run_round(kubeconfig, "single", 1, args.objects, proc)
        custom = client.CustomObjectsApi(api)
        timings = []
        for _ in range(10):
            start = time.perf_counter()
            listed = custom.list_namespaced_custom_object(GROUP, VERSION, "single", PLURAL)
            timings.append((time.perf_counter() - start) * 1000)
        print(f"list_{len(listed['items'])}: {statistics.median(timings):.1f} ms")
        names = [i["metadata"]["name"] for i in listed["items"]][:500]
        gets = []
        for name in names:
            start = time.perf_counter()
            custom.get_namespaced_custom_object(GROUP, VERSION, "single", PLURAL, name)
            gets.append((time.perf_counter() - start) * 1000)
        print(f"get_p50: {percentile(gets, 0.5):.2f} ms")
        total = len(custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"])
        print(f"rss_{total}_objects: {proc.memory_info().rss / 2**20:.0f} MB")
        per = args.objects // args.processes
        run_round(kubeconfig, f"concurrent{args.processes}", args.processes, per, proc)
        have = 2 * (args.objects + per * args.processes)
        if args.total > have:
            extra = (args.total - have) // args.processes
            _create_round(kubeconfig, "fill", args.processes, extra)
        count = len(custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"])
        print(f"rss_{count}_objects: {proc.memory_info().rss / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
