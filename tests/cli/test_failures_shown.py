"""describe shows where a failed execution's error was raised (its type and traceback)."""

from __future__ import annotations

from .conftest import Cli


def test_describe_shows_the_type_and_traceback_of_a_failure(cli: Cli) -> None:
    name = cli.env.execute("fail", {})
    cli.env.wait(name)
    described = cli.here("describe", name)
    assert described.returncode == 0, described.stderr
    out = described.stdout
    assert "Raised:" in out and "kontinue.sdk.errors.NonRetryableError" in out
    assert "Traceback:" in out
    assert 'raise kontinue.NonRetryableError("nope")' in out
