"""``--log-format json``: one JSON object per line, warnings and banners included."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator

import pytest

from kontinue.cli._logging import announce, configure_logging, format_timestamp

ISO_MS_ZONE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    configure_logging.__globals__["_json_output"] = False


def test_json_logs_carry_warnings_and_banners_as_records(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("INFO", "json")
    announce("worker group 'ops': deploy")
    logging.getLogger("kontinue.test").info("hello", extra={"execution": "x-1"})
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("something odd", UserWarning, stacklevel=1)
    out, err = capsys.readouterr()
    assert out == ""
    records = [json.loads(line) for line in err.splitlines()]
    assert [r["message"] for r in records[:2]] == ["worker group 'ops': deploy", "hello"]
    assert records[1]["execution"] == "x-1"
    assert records[2]["logger"] == "py.warnings" and "something odd" in records[2]["message"]
    assert all(ISO_MS_ZONE.fullmatch(r["time"]) for r in records)


def test_text_banners_stay_plain_lines(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("INFO", "text")
    announce("worker group 'ops': deploy")
    assert capsys.readouterr().out == "worker group 'ops': deploy\n"


def test_timestamps_have_milliseconds_and_the_zone() -> None:
    assert format_timestamp(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"
