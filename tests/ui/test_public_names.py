"""The public names of the UI package and of the client modules it brought."""

from __future__ import annotations

import kontinue.client.paging
import kontinue.client.workers
import kontinue.ui


def test_ui_exports() -> None:
    assert sorted(kontinue.ui.__all__) == ["UiError", "UiServer", "UiSettings"]


def test_client_paging_and_workers_exports() -> None:
    assert sorted(kontinue.client.paging.__all__) == [
        "ARCHIVED_PREFIX",
        "ExecutionFilter",
        "ExecutionPage",
        "list_page",
        "phases_of",
    ]
    assert sorted(kontinue.client.workers.__all__) == [
        "WorkerGroupStatus",
        "worker_group_status",
    ]
