"""Benchmark of the embedded API server with the official Kubernetes client.

The server runs as ``kontinue dev`` in its own process with a file-backed store; clients are
separate processes using the official synchronous client, as a real program would. Prints
``name: value unit`` lines.

    .venv/bin/python bench/devserver.py [--objects 2000] [--processes 4] [--total 10000]

``--rewrites N`` measures memory instead: an in-memory ``kontinue dev`` (``--history-mib``
passed on) while one ConfigMap of ``--object-kb`` is replaced N times with a watch reading
every change (and ``--stalled`` watches that read nothing), as a long execution rewrites its
object at each step.

    .venv/bin/python bench/devserver.py --rewrites 2000 [--object-kb 1000] [--history-mib 256]
        [--stalled 8]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
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


@contextlib.contextmanager
def in_memory_server(*options: str) -> Iterator[tuple[psutil.Process, str]]:
    """``kontinue dev --in-memory`` on a free port (no pods, no Jobs), stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="kontinue-bench-") as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        command = [sys.executable, "-m", "kontinue.cli", "dev", "--in-memory", "--port", "0"]
        command += ["--no-run-pods", "--no-run-jobs", "--kubeconfig", kubeconfig, *options]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("kubeconfig:"):
                break
        else:
            raise RuntimeError("the dev server did not start")
        output = process.stdout
        threading.Thread(target=lambda: output.read(), daemon=True).start()  # keep it drained
        try:
            yield psutil.Process(process.pid), kubeconfig
        finally:
            process.terminate()
            process.wait(timeout=30)


def stalled_watch(kubeconfig: str, path: str) -> socket.socket:
    """A watch whose client sends its request and then reads nothing."""
    import yaml

    document = yaml.safe_load(Path(kubeconfig).read_text())
    server = document["clusters"][0]["cluster"]["server"]
    token = document["users"][0]["user"]["token"]
    host, port = server.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, int(port)))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock = context.wrap_socket(raw)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
    sock.sendall(request.encode())
    return sock


def run_rewrites(count: int, object_kb: int, history_mib: int | None, stalled: int) -> None:
    """RSS of an in-memory server while one object of ``object_kb`` is replaced ``count``
    times, a watch reading every change and ``stalled`` watches reading nothing."""
    from kubernetes import client

    options = [] if history_mib is None else ["--history-mib", str(history_mib)]
    with in_memory_server(*options) as (proc, kubeconfig):
        core = client.CoreV1Api(_api(kubeconfig))
        rss_start = proc.memory_info().rss
        created = core.create_namespaced_config_map("default", {"metadata": {"name": "big"}})
        path = "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion="
        sockets = [
            stalled_watch(kubeconfig, path + created.metadata.resource_version)
            for _ in range(stalled)
        ]
        seen: list[int] = []

        def read() -> None:
            stream = core.list_namespaced_config_map(
                "default",
                watch=True,
                resource_version=created.metadata.resource_version,
                timeout_seconds=3600,
                _preload_content=False,
            )
            for line in stream:
                seen.append(len(line))
                if len(seen) >= count:
                    break
            stream.release_conn()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        peak, timings = 0, []
        for i in range(count):
            body = {"metadata": {"name": "big"}, "data": {"a": f"{i}" + "x" * object_kb * 1000}}
            start = time.perf_counter()
            core.replace_namespaced_config_map("big", "default", body)
            timings.append((time.perf_counter() - start) * 1000)
            if i % 20 == 0:
                peak = max(peak, proc.memory_info().rss)
        reader.join(timeout=60)
        rss = proc.memory_info().rss
        peak = max(peak, rss)
        for sock in sockets:
            sock.close()
        print(f"rewrites: {count} writes")
        print(f"rewrite_stalled_watches: {stalled} watches")
        print(f"rewrite_object_size: {object_kb} KB")
        print(f"rewrite_written: {count * object_kb / 1000:.0f} MB")
        print(f"rewrite_p50: {percentile(timings, 0.5):.2f} ms")
        print(f"rewrite_watch_events: {len(seen)} events")
        print(f"rss_before_rewrites: {rss_start / 2**20:.0f} MB")
        print(f"rss_after_rewrites: {rss / 2**20:.0f} MB")
        print(f"rss_peak_rewrites: {peak / 2**20:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--total", type=int, default=10000, help="objects for the RSS figure")
    parser.add_argument("--rewrites", type=int, default=0, help="measure memory instead")
    parser.add_argument("--object-kb", type=int, default=1000)
    parser.add_argument("--history-mib", type=int, default=None)
    parser.add_argument("--stalled", type=int, default=0, help="watches that read nothing")
    args = parser.parse_args()
    if args.rewrites:
        run_rewrites(args.rewrites, args.object_kb, args.history_mib, args.stalled)
        return
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
