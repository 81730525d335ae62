"""Web UI figures: a 10,000-execution list and a 2,000-node tree, served and rendered.

On a file-backed dev server process: 10,000 root executions in one namespace, and one tree of
2,000 executions below a root (40 children with 49 children each). A UI server runs in this
process over the server's kubeconfig. Prints ``name: value unit`` lines:

- ``ui_list_first_page``: the executions page, 100 rows (median of 5 requests);
- ``ui_list_all_pages``: every page of 500 rows, following the continue links (10,000 rows);
- ``ui_list_phase_filter_page``: a page whose phase filter matches nothing (it scans its 5,000
  objects and offers to go on);
- ``ui_tree_page``: the execution page of the 2,000-node tree (the first level, collapsed);
- ``ui_tree_expand``: the children of one node, fetched when it is expanded;
- ``browser_*``: the same pages loaded in headless chromium until its load event (when chromium
  and Playwright are installed).

    .venv/bin/python bench/ui.py
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _server import dev_server

from kontinue.api import API_VERSION, labels
from kontinue.installing import install_crds
from kontinue.kube import KubeClient, KubeSettings
from kontinue.ui import UiServer, UiSettings

NAMESPACE = "bench-ui"
LIST_SIZE = 10_000
FANOUT = (40, 49)  # 40 children, 49 grandchildren each: 2,000 nodes below the root


def _execution(name: str, root: str, parent: str | None = None) -> dict[str, Any]:
    meta_labels = {labels.LABEL_ROOT: root, labels.LABEL_FUNCTION: "bench"}
    if parent:
        meta_labels[labels.LABEL_PARENT] = parent
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": meta_labels},
        "spec": {"function": "bench", "arguments": {"n": name}},
    }


def _populate(kubeconfig: str) -> str:
    settings = KubeSettings(qps=0, burst=1)
    with KubeClient.from_kubeconfig(kubeconfig, settings=settings) as admin:
        install_crds(admin)
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        bodies = [_execution(f"run-{i:05d}", f"run-{i:05d}") for i in range(LIST_SIZE)]
        root = "tree-root"
        bodies.append(_execution(root, root))
        for child in range(FANOUT[0]):
            child_name = f"{root}-{child:02d}"
            bodies.append(_execution(child_name, root, root))
            for leaf in range(FANOUT[1]):
                bodies.append(_execution(f"{child_name}-{leaf:02d}", root, child_name))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(admin.create, bodies))
    return root


def _median_ms(action: Callable[[], object], times: int = 5) -> float:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


class _Ui:
    def __init__(self, kubeconfig: str) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.server = UiServer(UiSettings(port=0, kubeconfig=kubeconfig, namespace=NAMESPACE))
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(60)
        self.base = self.server.base_url
        self.headers = {"Authorization": f"Bearer {self.server.token}"}

    def get(self, path: str) -> str:
        request = urllib.request.Request(self.base + path, headers=self.headers)
        with urllib.request.urlopen(request, timeout=120) as answer:
            return str(answer.read().decode())

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _all_pages(ui: _Ui) -> int:
    path = f"/ns/{NAMESPACE}/executions?limit=500&archived=exclude"
    rows = 0
    while True:
        page = ui.get(path)
        rows += page.count("<tr data-name=")
        found = re.search(r'<a href="(\?[^"]*continue=[^"]*)" rel="next">', page)
        if not found:
            return rows
        path = f"/ns/{NAMESPACE}/executions" + found.group(1).replace("&amp;", "&")


def _browser(ui: _Ui, paths: dict[str, str]) -> dict[str, float]:
    executable = shutil.which("chromium")
    if executable is None:
        return {}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(ui.server.url)
        for name, path in paths.items():
            found[name] = _median_ms(lambda path=path: page.goto(ui.base + path), 3)
        browser.close()
    return found


def main() -> None:
    with dev_server() as server:
        started = time.perf_counter()
        root = _populate(server.kubeconfig)
        print(f"populate_{LIST_SIZE + 2001}_executions: {time.perf_counter() - started:.1f} s")
        ui = _Ui(server.kubeconfig)
        try:
            first = f"/ns/{NAMESPACE}/executions?limit=100&archived=exclude"
            print(f"ui_list_first_page: {_median_ms(lambda: ui.get(first)):.0f} ms")
            started = time.perf_counter()
            rows = _all_pages(ui)
            print(f"ui_list_all_pages: {time.perf_counter() - started:.2f} s ({rows} rows)")
            none = f"/ns/{NAMESPACE}/executions?phase=Completed&scope=all&archived=exclude"
            print(f"ui_list_phase_filter_page: {_median_ms(lambda: ui.get(none), 3):.0f} ms")
            tree = f"/ns/{NAMESPACE}/executions/{root}"
            print(f"ui_tree_page: {_median_ms(lambda: ui.get(tree)):.0f} ms")
            print(f"ui_tree_page_bytes: {len(ui.get(tree).encode())} bytes")
            expand = f"/ns/{NAMESPACE}/executions/{root}/nodes?node={root}-07"
            print(f"ui_tree_expand: {_median_ms(lambda: ui.get(expand)):.0f} ms")
            for name, value in _browser(
                ui, {"browser_list_page": first, "browser_tree_page": tree}
            ).items():
                print(f"{name}: {value:.0f} ms")
        finally:
            ui.stop()


if __name__ == "__main__":
    main()
