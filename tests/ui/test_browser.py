"""The web UI in a real browser (headless chromium): start, watch, steer and debug executions.

Each test runs the UI over a fresh namespace with a worker, as a user would with ``kontinue
ui``; what the page shows is checked as the user sees it, and what it changed through the API.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from kontinue.api import ExecutionPhase
from kontinue.testing import WorkflowEnvironment

from .conftest import MARKERS, RunningUi, make_worker

pytestmark = pytest.mark.slow


def _phase(page: Any) -> Any:
    return page.locator("#phase")


def test_start_from_the_generated_form_and_watch_it_complete_live(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        page = page_of(ui, f"/ns/{env.namespace}/functions/order")
        expect(page.locator("h1")).to_have_text("Order a drink")
        form = page.locator("#start-form")
        # Types, defaults, enums, descriptions and nested objects come from the schema.
        expect(form.locator("input[name='args.quantity']")).to_have_value("1")
        expect(form.locator("select[name='args.size']")).to_have_value('"small"')
        expect(form.get_by_text("How many")).to_be_visible()
        expect(form.locator("select[name='args.target.zone']")).to_be_attached()
        # The browser refuses what the schema refuses, before anything is sent.
        form.locator("input[name='args.item']").fill("tea")
        form.locator("input[name='args.quantity']").fill("0")
        form.get_by_role("button", name="Start").click()
        message = form.locator("input[name='args.quantity']").evaluate("e => e.validationMessage")
        assert message, "the browser should refuse a quantity below the minimum"
        assert page.url.endswith("/functions/order")
        form.locator("input[name='args.quantity']").fill("3")
        form.locator("select[name='args.size']").select_option(label="large")
        form.get_by_role("button", name="Start").click()
        expect(page.locator(".notice.ok")).to_contain_text("Started order-")
        name = page.url.rsplit("/", 1)[1].split("?")[0]
        expect(_phase(page)).to_have_text("Completed")
        expect(page.locator("#result-json")).to_contain_text('"total": 30')
    done = env.get(name)
    assert done.spec.arguments == {
        "item": "tea",
        "quantity": 3,
        "size": "large",
        "express": False,
        "target": None,  # the schema's defaults are merged in, as the client does
    }


def test_an_execution_page_follows_the_execution_live_and_resumes_through_its_form(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        name = env.execute("chain", {})
        child = f"{name}-0"
        page = page_of(ui, f"/ns/{env.namespace}/executions/{name}")
        # The tree shows the child; expanding it fetches what is below it (its suspension).
        node = page.locator(f"li[data-node='{child}']")
        expect(node.locator("[data-field=phase]").first).to_have_text("Suspended")
        node.locator("button.toggle").first.click()
        expect(node.locator("li[data-node]").first).to_contain_text("Suspension")
        # The child's page offers the suspension's form, generated from its data schema.
        page.goto(f"{ui.base}/ns/{env.namespace}/executions/{child}")
        form = page.locator("form.schema-form")
        expect(form.get_by_text("Who decided")).to_be_visible()
        form.locator("input[name='data.approver']").fill("ana")
        form.locator("input[type=checkbox][name='data.approved']").check()
        form.get_by_role("button", name="Resume").click()
        expect(page.locator(".notice.ok")).to_contain_text("Resumed")
        expect(_phase(page)).to_have_text("Completed")
        # Back on the root, which completes too, without a reload.
        page.goto(f"{ui.base}/ns/{env.namespace}/executions/{name}")
        expect(_phase(page)).to_have_text("Completed")
        expect(page.locator("#result-json")).to_contain_text("True by ana")
    assert env.get(name).status.result == "True by ana"


def test_a_page_shows_changes_made_elsewhere_without_a_reload(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        name = env.execute("approve", {})
        env.wait(name, phases={ExecutionPhase.SUSPENDED})
        listing = page_of(ui, f"/ns/{env.namespace}/executions")
        row = listing.locator(f"tr[data-name='{name}']")
        expect(row.locator(".phase")).to_have_text("Suspended")
        detail = page_of(ui, f"/ns/{env.namespace}/executions/{name}")
        expect(_phase(detail)).to_have_text("Suspended")
        suspension = env.wait_for_suspension(name)
        env.resume(suspension.metadata.name or "", {"approved": True, "approver": "bo"})
        expect(_phase(detail)).to_have_text("Completed")
        expect(row.locator(".phase")).to_have_text("Completed")
        other = env.execute("approve", {})
        expect(listing.locator("#live-banner")).to_contain_text("1 new execution")
        assert other


def test_cancel_then_retry_with_a_child_policy(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        name = env.execute("approve", {})
        env.wait(name, phases={ExecutionPhase.SUSPENDED})
        page = page_of(ui, f"/ns/{env.namespace}/executions/{name}")
        page.on("dialog", lambda dialog: dialog.accept())
        page.locator("input[name=reason]").first.fill("wrong day")
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator(".notice.ok")).to_contain_text(f"Cancel of {name} requested")
        expect(_phase(page)).to_have_text("Canceled")
        assert env.get(name).status.message == "wrong day"
        page.locator("select[name=child_policy]").select_option("RetryFailed")
        page.get_by_role("button", name="Retry").click()
        expect(page.locator(".notice.ok")).to_contain_text("child policy RetryFailed")
        expect(_phase(page)).to_have_text("Suspended")  # a new attempt, waiting again
    again = env.get(name)
    assert again.status.attempt == 2
    assert again.spec.rerun is not None and again.spec.rerun.child_policy.value == "RetryFailed"


def test_waking_a_sleep_early(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        name = env.execute("nap", {})
        env.wait_for_suspension(name, kind="Sleep")
        page = page_of(ui, f"/ns/{env.namespace}/executions/{name}")
        expect(page.locator("#suspensions")).to_contain_text("Sleeping until")
        page.get_by_role("button", name="Wake now").click()
        expect(page.locator(".notice.ok")).to_contain_text("Woke")
        expect(_phase(page)).to_have_text("Completed")
    assert env.get(name).status.result == "rested"


def test_following_a_jobs_logs_while_it_runs(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    marker = MARKERS / f"kontinue-ui-{uuid.uuid4().hex}"
    with env.running(make_worker()):
        name = env.execute("logs", {"value": str(marker)})
        page = page_of(ui, f"/ns/{env.namespace}/executions/{name}")
        job = page.locator("li[data-node] a[href*='/jobs/']")
        expect(job).to_be_visible()
        job.click()
        log = page.locator("#log")
        expect(log).to_contain_text("first line", timeout=30_000)
        expect(log).not_to_contain_text("second line")
        marker.touch()
        try:
            expect(log).to_contain_text("second line", timeout=30_000)
        finally:
            marker.unlink()
        env.wait(name, timeout=30)


def test_bulk_cancel(kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        names = [env.execute("approve", {}) for _ in range(3)]
        done = env.execute("order", {"item": "tea"})
        for name in names:
            env.wait(name, phases={ExecutionPhase.SUSPENDED})
        env.wait(done)
        page = page_of(ui, f"/ns/{env.namespace}/executions?phase=Suspended")
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(3)
        page.on("dialog", lambda dialog: dialog.accept())
        page.locator("[data-select-all]").check()
        page.locator("#bulk").get_by_role("button", name="Cancel").click()
        expect(page.locator(".notice.ok")).to_contain_text("Cancel: 3 of 3 done.")
        for name in names:
            env.wait(name, phases={ExecutionPhase.CANCELED})
    assert env.get(done).status.phase == ExecutionPhase.COMPLETED


def test_filters_and_pages_live_in_the_address(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        for index in range(5):
            env.execute("order", {"item": "tea"}, name=f"order-{index}")
        env.execute("approve", {}, name="approve-0")
    page = page_of(ui, f"/ns/{env.namespace}/executions")
    page.locator("input[name=q]").fill("order")
    page.locator("input[name=limit]").fill("2")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert re.search(r"[?&]q=order", page.url) and "limit=2" in page.url
    first = page.locator("tbody tr").all_inner_texts()
    page.get_by_role("link", name=re.compile("Next page")).click()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert page.locator("tbody tr").all_inner_texts() != first
    assert "continue=" in page.url
    page.go_back()
    expect(page.locator("tbody tr").first).to_contain_text("order-0")


def test_api_errors_are_readable_pages(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    page = page_of(ui, f"/ns/{kontinue_env.namespace}/executions/no-such-execution")
    expect(page.locator("p.error")).to_contain_text("Not found")
    expect(page.locator("p.error")).to_contain_text("no-such-execution")


def test_schedules_suspend_and_run_now(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    body = {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "ScheduledExecution",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "function": "order", "arguments": {"item": "tea"}},
    }
    env.admin.create(body)
    with env.running(make_worker()):
        page = page_of(ui, f"/ns/{env.namespace}/schedules")
        row = page.locator("tr", has=page.get_by_role("link", name="nightly"))
        expect(row).to_contain_text("0 3 * * *")
        row.get_by_role("button", name="Suspend").click()
        expect(page.locator(".notice.ok")).to_contain_text("suspended")
        expect(row.locator(".phase")).to_have_text("Suspended")
        page.get_by_role("link", name="nightly").click()
        page.on("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Run now").click()
        expect(page.locator(".notice.ok")).to_contain_text("Started nightly-manual-")
        expect(page.locator("tbody tr")).to_have_count(1)
    assert env.admin.get("scheduledexecutions.kontinue.cloud", "nightly")["spec"]["suspend"]


def test_a_viewer_sees_but_cannot_act(
    kontinue_env: WorkflowEnvironment, viewer_ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        name = env.execute("approve", {})
        env.wait(name, phases={ExecutionPhase.SUSPENDED})
        page = page_of(viewer_ui, f"/ns/{env.namespace}/executions")
        expect(page.locator(f"tr[data-name='{name}']")).to_be_visible()
        expect(page.locator("#bulk")).to_contain_text("Read-only")
        page.goto(f"{viewer_ui.base}/ns/{env.namespace}/executions/{name}")
        expect(page.locator("#summary")).to_contain_text("Read-only")
        expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
        # Even a request made by hand is refused by the cluster, and said so.
        csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
        answer = page.request.post(
            f"{viewer_ui.base}/ns/{env.namespace}/executions/{name}/cancel",
            form={"_csrf": csrf or ""},
        )
        assert answer.ok
        expect_text = answer.text()
        assert "Not allowed" in expect_text and "kontinue-user" in expect_text
    assert env.get(name).status.phase == ExecutionPhase.SUSPENDED


def test_phone_width_and_keyboard(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, page_of: Any
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        env.execute("order", {"item": "tea"}, name="order-phone")
    page = page_of(ui, f"/ns/{env.namespace}/executions", width=390)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width}px wide on a 390px screen"
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "order-phone":
            break
    else:
        pytest.fail("the execution's link cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("order-phone")
