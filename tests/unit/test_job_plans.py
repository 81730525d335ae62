"""The Job controller's pure core: what a reconcile decides from a Job, its pods and the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kontinue.devserver.jobs import plan_job, status_patch

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def job(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "j", "namespace": "ns", "uid": "u1"},
        "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6, **spec},
        "status": status or {},
    }


def pod(name: str, phase: str = "Pending", created: str = "2030-01-01T00:00:00Z") -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": {"phase": phase}}


def test_a_new_job_starts_and_asks_for_its_pods() -> None:
    plan = plan_job(job(parallelism=3, completions=2), [], NOW)
    assert plan.create == 2 and not plan.delete
    assert plan.status == {"startTime": "2030-01-01T00:00:00Z", "active": 2, "ready": 0}


def test_lower_parallelism_deletes_the_newest_pods() -> None:
    pods = [pod("old", created="2030-01-01T00:00:00Z"), pod("new", created="2030-01-01T00:01:00Z")]
    plan = plan_job(job(parallelism=1, completions=5), pods, NOW)
    assert plan.delete == ["new"] and plan.create == 0 and plan.status["active"] == 1


def test_counts_never_go_down_when_pods_disappear() -> None:
    plan = plan_job(job({"succeeded": 2, "startTime": "x"}, completions=3), [], NOW)
    assert plan.status["succeeded"] == 2 and plan.create == 1


def test_a_finished_job_only_waits_for_its_ttl() -> None:
    finished = {
        "conditions": [
            {"type": "Complete", "status": "True", "lastTransitionTime": "2030-01-01T00:00:00Z"}
        ]
    }
    assert plan_job(job(finished), [pod("p")], NOW).recheck_at is None
    waiting = plan_job(job(finished, ttlSecondsAfterFinished=10), [], NOW + timedelta(seconds=9))
    assert not waiting.expire and waiting.recheck_at == NOW + timedelta(seconds=10)
    assert plan_job(
        job(finished, ttlSecondsAfterFinished=10), [], NOW + timedelta(seconds=10)
    ).expire


def test_status_patch_removes_fields_that_went_away() -> None:
    assert status_patch({"active": 1, "ready": 0}, {"ready": 0, "succeeded": 1}) == {
        "succeeded": 1,
        "active": None,
    }
