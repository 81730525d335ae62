"""Fixtures of the reliability tests: a dev server process per test, and measured figures.

The figures (kills, handover times, store calls made again after crashes, sleep lateness) are
printed in a "reliability figures" section at the end of the run, whether the tests pass or fail.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from kontinue.testing.plugin import cluster_kubeconfig

from .harness import Cluster

_FIGURES: list[str] = []
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reuse_address: start the dev server process with SO_REUSEADDR"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, for the ``cluster`` fixture's teardown."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A dev server process (file-backed, in ``tmp_path``), or the session's control plane
    (``--kontinue-kubeconfig``), with the test's namespace; worker processes started through it
    are stopped afterwards. A failed test prints their logs. ``@pytest.mark.reuse_address``
    starts a dev server with SO_REUSEADDR (see ``harness``)."""
    reuse = request.node.get_closest_marker("reuse_address") is not None
    given = cluster_kubeconfig(request.config)
    upstream = Path(given) if given else None
    running = Cluster(tmp_path, reuse_address=reuse, upstream=upstream).start()
    try:
        yield running
    finally:
        call = request.node.stash.get(_REPORTS, {}).get("call")
        if call is not None and call.failed:
            print(running.diagnostics())
        running.close()


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a measured figure, reported at the end of the run."""

    def record(text: str) -> None:
        for line in text.splitlines():
            _FIGURES.append(f"{request.node.name}: {line}")
        print(text)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
