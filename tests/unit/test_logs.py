"""The pure parts of kontinue.kube.logs: options to query, lines to events, public names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import kontinue.kube.logs
from kontinue.kube.logs import LogEvent, LogOptions, parse_log_line


def test_public_names() -> None:
    assert sorted(kontinue.kube.logs.__all__) == [
        "LogEvent",
        "LogOptions",
        "multiplex_log_lines",
        "multiplex_logs",
        "parse_log_line",
        "pod_log_lines",
        "pod_logs",
    ]


def test_timestamps_are_parsed_to_microseconds() -> None:
    event = parse_log_line("ns/p", "c", b"2030-01-01T00:00:07.123456789Z hello world\n")
    assert event == LogEvent("ns/p", "c", datetime(2030, 1, 1, 0, 0, 7, 123456, UTC), "hello world")
    offset = parse_log_line("ns/p", "c", b"2030-01-01T02:00:00+02:00 x")
    assert offset.timestamp == datetime(2030, 1, 1, tzinfo=UTC) and offset.output == "x"
    whole = parse_log_line("ns/p", "c", b"2030-01-01T00:00:00.5Z ")
    assert whole.timestamp == datetime(2030, 1, 1, 0, 0, 0, 500000, UTC) and whole.output == ""
    plain = parse_log_line("ns/p", "c", b"no stamp here")
    assert plain.timestamp is None and plain.output == "no stamp here"
    raw = parse_log_line("ns/p", "c", b"2030-01-01T00:00:07Z kept", timestamps=False)
    assert raw.timestamp is None and raw.output == "2030-01-01T00:00:07Z kept"


def test_options_become_the_query() -> None:
    assert LogOptions().query() == {"timestamps": "true"}
    assert LogOptions(
        container="c", follow=True, tail_lines=5, since_seconds=60, timestamps=False, previous=True
    ).query() == {
        "container": "c",
        "follow": "true",
        "tailLines": "5",
        "sinceSeconds": "60",
        "previous": "true",
    }


def test_a_bad_timestamp_keeps_the_whole_line() -> None:
    event = parse_log_line("ns/p", "c", b"2030-13-45T00:00:00Z month thirteen\r\n")
    assert event.timestamp is None and event.output == "2030-13-45T00:00:00Z month thirteen"
    assert (
        parse_log_line("ns/p", "c", "caf\u00e9 \xff".encode("latin-1")).output == "caf\ufffd \ufffd"
    )


def test_since_time_becomes_the_query_and_excludes_since_seconds() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, 600000, UTC)
    assert LogOptions(since_time=when, timestamps=False).query() == {
        "sinceTime": "2030-01-02T03:04:05Z"
    }
    naive = LogOptions(since_time=datetime(2030, 1, 2), timestamps=False).query()
    assert naive == {"sinceTime": "2030-01-02T00:00:00Z"}
    with pytest.raises(ValueError, match="since_seconds and since_time both set"):
        LogOptions(since_seconds=5, since_time=when)
    with pytest.raises(ValueError, match="since_seconds must be positive"):
        LogOptions(since_seconds=0)
