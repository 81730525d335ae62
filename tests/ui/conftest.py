"""Fixtures for the web UI's tests: a UI server over the test namespace, and a real browser.

The browser is Debian's chromium driven by Playwright (``executable_path``: no browser is
downloaded). Without chromium the browser tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

import kontinue
from kontinue.testing import WorkflowEnvironment
from kontinue.ui import UiServer, UiSettings

#: Where the browser tests' scripts wait for a marker file (Jobs run as host processes on both
#: servers the suite runs on, so the test and the pod share the file system).
MARKERS = Path(os.environ.get("TMPDIR", "/tmp"))


class Target(BaseModel):
    cluster: str = Field(description="Cluster to deliver to")
    zone: Literal["north", "south"] = "north"


class Order(BaseModel):
    item: str = Field(description="What to order", min_length=1)
    quantity: int = Field(default=1, ge=1, le=99, description="How many")
    size: Literal["small", "large"] = Field(default="small", description="Cup size")
    express: bool = False
    target: Target | None = None


class Approval(BaseModel):
    approved: bool = Field(description="Go ahead?")
    approver: str = Field(min_length=1, description="Who decided")


def make_worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="ui")

    @worker.function("order", description="Orders something.", display_name="Order a drink")
    async def order(ktx: kontinue.ExecutionContext, args: Order) -> dict[str, Any]:
        return {"item": args.item, "total": args.quantity * 10, "size": args.size}

    @worker.function("approve")
    async def approve(ktx: kontinue.ExecutionContext) -> str:
        decision = await ktx.suspend("Ship it?", data=Approval)
        return f"{decision.approved} by {decision.approver}"

    @worker.function("nap")
    async def nap(ktx: kontinue.ExecutionContext) -> str:
        await ktx.sleep(timedelta(hours=1))
        return "rested"

    @worker.function("chain")
    async def chain(ktx: kontinue.ExecutionContext) -> str:
        return await ktx.execute(approve)

    @worker.function("logs")
    async def logs(ktx: kontinue.ExecutionContext, marker: str) -> bool:
        script = f"echo first line; while [ ! -e {marker} ]; do sleep 0.1; done; echo second line"
        result = await ktx.run_script("busybox", script)
        return result.succeeded

    @worker.function("fail")
    async def fail(ktx: kontinue.ExecutionContext) -> None:
        raise kontinue.NonRetryableError("nope")

    return worker


class RunningUi:
    """A UI server on a loop of its own in a daemon thread (as ``kontinue ui`` runs it)."""

    def __init__(self, kubeconfig: str, namespace: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="ui")
        self.thread.start()
        settings = UiSettings(port=0, kubeconfig=kubeconfig, namespace=namespace)
        self.server = UiServer(settings)
        self.call(self.server.start())

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def ui(kontinue_env: WorkflowEnvironment) -> Iterator[RunningUi]:
    """The UI as the environment's user (bound to kontinue-user on a cluster with RBAC)."""
    running = RunningUi(kontinue_env.kubeconfig, kontinue_env.namespace)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def viewer_ui(kontinue_env: WorkflowEnvironment) -> Iterator[RunningUi]:
    """The UI as a viewer (kontinue-viewer); skipped where the server does not authorize."""
    if kontinue_env.viewer_kubeconfig == kontinue_env.kubeconfig:
        pytest.skip("the server does not authorize requests (no RBAC)")
    running = RunningUi(kontinue_env.viewer_kubeconfig, kontinue_env.namespace)
    try:
        yield running
    finally:
        running.stop()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module (Playwright's driver keeps an event loop running in the main
    thread while it is open, which asyncio tests cannot share)."""
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "chromium is missing: scripts/setup.sh installs it (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, ui: RunningUi, path: str = "/", *, width: int = 1280) -> Any:
    """A page of a new browser context signed in to ``ui`` (the token swapped for its
    cookie), at ``path``."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(ui.url)
    if path != "/":
        page.goto(ui.base + path)
    return page


@pytest.fixture
def page_of(browser: Any) -> Iterator[Any]:
    """``page_of(ui, path)`` opens a signed-in page; contexts are closed after the test."""
    opened: list[Any] = []

    def make(ui: RunningUi, path: str = "/", width: int = 1280) -> Any:
        page = open_page(browser, ui, path, width=width)
        opened.append(page.context)
        return page

    yield make
    for context in opened:
        context.close()


__all__ = ["MARKERS", "Approval", "Order", "RunningUi", "make_worker", "open_page"]
