"""The reliability checks themselves: which repeated store calls a crash explains."""

from __future__ import annotations

from tests.reliability.harness import Effect, Report, _check_effects

EXECUTIONS = {"root": {"status": {"steps": {"0": {"kind": "store", "state": "Done", "calls": 2}}}}}


def _effects(*markers: Effect) -> list[Effect]:
    first = Effect("store", "root", "0", 1, 1, pid=100, line=0)
    second = Effect("store", "root", "0", 1, 2, pid=200, line=5)
    return sorted([first, second, *markers], key=lambda e: e.line)


def test_a_call_made_again_after_its_leader_stepped_down_is_explained() -> None:
    """A leader that loses its Lease stops its runs: a value it had not written is lost as in
    a kill, and the next leader's call is no duplicate (CI flagged it on a loaded machine)."""
    report = Report()
    _check_effects(EXECUTIONS, _effects(Effect("stepdown", "-", "-", 0, 0, 100, 2)), report)
    assert report.problems == []


def test_a_call_made_again_without_a_crash_or_step_down_is_a_problem() -> None:
    for markers in ([], [Effect("stepdown", "-", "-", 0, 0, 300, 2)]):  # another pid's
        report = Report()
        _check_effects(EXECUTIONS, _effects(*markers), report)
        assert len(report.problems) == 1
        assert report.problems[0].startswith("another call without a crash")
