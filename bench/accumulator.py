"""Benchmark of the Kubernetes toolkit against the dev server (in its own process).

1. Per-request overhead of the clients: kontinue's sync and async clients, the official
   ``kubernetes`` client, and raw HTTP (http.client) for the same GET.
2. Accumulator bootstrap of 10,000 objects over two queries: seconds and RSS.
3. An event storm of 20,000 updates from another process while a consumer takes 50 ms per
   snapshot: how many snapshots it saw, and how stale the last one was (must be 0).

Prints ``name: value unit`` lines.  ``.venv/bin/python bench/accumulator.py [--objects 10000]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import multiprocessing as mp
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil
import yaml
from _server import dev_server

from kontinue.kube import AsyncKubeClient, KubeClient, KubeSettings

FAST = KubeSettings(qps=0)
N_REQUESTS = 2000


def _timed(label: str, fn: Any, n: int = N_REQUESTS) -> None:
    fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    print(f"{label}_wall: {(time.perf_counter() - wall) / n * 1000:.3f} ms")
    print(f"{label}_client_cpu: {(time.process_time() - cpu) / n * 1000:.3f} ms")


def request_overhead(kubeconfig: str) -> None:
    client = KubeClient.from_kubeconfig(kubeconfig, settings=FAST)
    client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}})
    _timed("kontinue_sync_get", lambda: client.get("configmaps", "probe"))

    async def run_async() -> None:
        async with AsyncKubeClient.from_kubeconfig(kubeconfig, settings=FAST) as aclient:
            await aclient.get("configmaps", "probe")
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(N_REQUESTS):
                await aclient.get("configmaps", "probe")
            per_request = (time.perf_counter() - wall) / N_REQUESTS * 1000
            print(f"kontinue_async_get_wall: {per_request:.3f} ms")
            print(
                "kontinue_async_get_client_cpu: "
                f"{(time.process_time() - cpu) / N_REQUESTS * 1000:.3f} ms"
            )

    asyncio.run(run_async())
    from kubernetes import client as official
    from kubernetes import config

    configuration = official.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    core = official.CoreV1Api(official.ApiClient(configuration))
    _timed("official_client_get", lambda: core.read_namespaced_config_map("probe", "default"))

    document = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = document["clusters"][0]["cluster"]
    token = document["users"][0]["user"]["token"]
    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
    )
    host, port = cluster["server"].removeprefix("https://").rsplit(":", 1)
    connection = http.client.HTTPSConnection(host, int(port), context=context)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def raw_get() -> None:
        connection.request("GET", "/api/v1/namespaces/default/configmaps/probe", headers=headers)
        orjson.loads(connection.getresponse().read())

    _timed("raw_http_get", raw_get)


async def _fill(kubeconfig: str, namespace: str, count: int, *, concurrency: int = 32) -> None:
    async with AsyncKubeClient.from_kubeconfig(kubeconfig, settings=FAST) as client:
        await client.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                await client.create(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": f"cm-{i:05d}",
                            "namespace": namespace,
                            "labels": {"bench": "yes"},
                        },
                        "data": {"value": str(i)},
                    }
                )

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def storm(kubeconfig: str, namespace: str, count: int, updates: int, out: Any) -> None:
    """Patch objects round-robin ``updates`` times (another process, like another client)."""
    client = KubeClient.from_kubeconfig(kubeconfig, settings=FAST)
    started = time.perf_counter()
    for i in range(updates):
        client.patch(
            "configmaps",
            {"data": {"value": f"u{i}"}},
            name=f"cm-{i % count:05d}",
            namespace=namespace,
        )
    out.put(time.perf_counter() - started)


@dataclass
class Snapshot:
    first: list[dict[str, Any]] = field(default_factory=list)
    second: list[dict[str, Any]] = field(default_factory=list)


async def accumulate(kubeconfig: str, objects: int, updates: int) -> None:
    from kontinue.kube.accumulating import Query

    half = objects // 2
    await _fill(kubeconfig, "bench-first", half)
    await _fill(kubeconfig, "bench-second", objects - half)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    errors: list[BaseException] = []
    async with AsyncKubeClient.from_kubeconfig(kubeconfig, settings=FAST) as client:
        started = time.perf_counter()
        accumulator = client.watch(
            Query("first", "configmaps", namespace="bench-first"),
            Query("second", "configmaps", namespace="bench-second"),
            on_error=errors.append,
        )
        async with accumulator:
            await accumulator.changed()
            snapshot = Snapshot()
            accumulator.update(snapshot)
            print(f"bootstrap_{objects}_objects: {time.perf_counter() - started:.2f} s")
            print(f"bootstrap_objects_seen: {len(snapshot.first) + len(snapshot.second)} objects")
            print(f"accumulator_rss: {(process.memory_info().rss - rss_before) / 2**20:.0f} MB")

            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            writer = ctx.Process(target=storm, args=(kubeconfig, "bench-first", half, updates, out))
            writer.start()
            snapshots = 0
            while writer.is_alive() or out.empty():
                try:
                    await asyncio.wait_for(accumulator.changed(), timeout=1.0)
                except TimeoutError:
                    if not writer.is_alive():
                        break
                    continue
                accumulator.update(snapshot)
                snapshots += 1
                await asyncio.sleep(0.05)  # a slow consumer: 50 ms per snapshot
            storm_seconds = out.get()
            writer.join()
            # Settle: take snapshots until nothing changes for a moment.
            while True:
                try:
                    await asyncio.wait_for(accumulator.changed(), timeout=0.5)
                except TimeoutError:
                    break
                accumulator.update(snapshot)
                snapshots += 1
            truth, _ = await client.list_with_version("configmaps", namespace="bench-first")
            server = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in truth}
            seen = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in snapshot.first}
            stale = sum(1 for name, rv in server.items() if seen.get(name) != rv)
            print(f"storm_updates: {updates} updates")
            print(f"storm_update_rate: {updates / storm_seconds:.0f} updates/s")
            print(f"storm_snapshots_seen: {snapshots} snapshots")
            print(f"storm_final_stale_objects: {stale} objects")
            print(f"accumulator_errors: {len(errors)} errors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=20_000)
    args = parser.parse_args()
    with dev_server() as server:
        request_overhead(server.kubeconfig)
        asyncio.run(accumulate(server.kubeconfig, args.objects, args.updates))


if __name__ == "__main__":
    main()
