"""The README's first command (the demo) works: kontinue dev plus a kubectl session."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.devserver  # tests the dev server itself

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.kubectl
def test_demo_script_runs_to_the_end(kubectl_binary: str, tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_NONINTERACTIVE": "1", "KONTINUE_DEMO_DIR": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "condition met" in out
    assert "hello kontinue (started " in out
    assert out.count("deploy-pipeline") >= 3
    assert "Completed" in out and "Suspended" in out
    assert "widgets.demo.kontinue.cloud created" in out
    assert 'The Widget "broken" is invalid' in out + result.stderr
    assert "job.batch/hello condition met" in out
    assert "hello from a Job" in out
    assert out.rstrip().endswith("demo finished")
