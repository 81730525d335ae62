"""Container logs: capture to files, and ``pods/log`` queries.

A container's stdout and stderr go to a CRI-style log file, one ``<RFC3339Nano time> <line>``
per line, so ``timestamps``, ``sinceSeconds``, ``sinceTime``, ``tailLines`` and ``limitBytes``
are answered from the file alone, also for pods of an earlier run of the runner. Each run of a
container (after a restart) gets a new file: the latest is served, and with ``previous`` the one
before it. Requests the kubelet would refuse raise :class:`BadLogRequest` with its message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "BadLogRequest",
    "LogOptions",
    "LogWriter",
    "choose_container",
    "follow",
    "format_nano",
    "latest_log",
    "log_file",
    "read_lines",
    "waiting_reason",
]

JSON = dict[str, Any]


class BadLogRequest(Exception):
    """A log request the kubelet answers with 400 Bad Request; the message is the kubelet's."""


def format_nano(when: datetime) -> str:
    """RFC 3339 with nanoseconds (fixed width, so times compare as strings)."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z"


@dataclass
class LogWriter:
    """Appends a container's output to its log file, one timestamped line at a time.

    Writes are small and synchronous on the event loop (a local file); followers are woken
    through :attr:`changed`, which is replaced after every notification.
    """

    path: Path
    now: Callable[[], datetime]
    closed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _partial: bytes = b""

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(mode=0o600)  # a container's output may hold its secrets

    def _notify(self) -> None:
        event, self.changed = self.changed, asyncio.Event()
        event.set()

    def _append(self, lines: list[bytes]) -> None:
        if not lines:
            return
        stamp = format_nano(self.now()).encode()
        with self.path.open("ab") as handle:
            handle.write(b"".join(stamp + b" " + line for line in lines))
        self._notify()

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        self._append([line + b"\n" for line in complete])

    def close(self) -> None:
        """Write any unterminated last line (with a newline added) and wake followers."""
        if self._partial:
            self._append([self._partial + b"\n"])
            self._partial = b""
        self.closed = True
        self._notify()

    async def pump(self, stream: asyncio.StreamReader) -> None:
        """Copy ``stream`` into the file until end of file."""
        while chunk := await stream.read(65536):
            self.feed(chunk)


def read_lines(path: Path, offset: int = 0) -> tuple[list[tuple[str, bytes]], int]:
    """Complete ``(time, line)`` pairs of a log file from ``offset``, and the offset after them."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out: list[tuple[str, bytes]] = []
    for raw in data[:end].splitlines(keepends=True):
        stamp, _, line = raw.partition(b" ")
        out.append((stamp.decode(), line))
    return out, offset + end


def _attempts(folder: Path) -> list[Path]:
    return sorted((p for p in folder.glob("*.log") if p.stem.isdigit()), key=lambda p: int(p.stem))


def latest_log(folder: Path) -> Path | None:
    """The log file of a container's latest run, or None before it first started."""
    attempts = _attempts(folder)
    return attempts[-1] if attempts else None


def log_file(folder: Path, pod: JSON, name: str, container: str, previous: bool) -> Path:
    """The file a log request reads: the latest run's, or with ``previous`` the one before.

    Raises :class:`BadLogRequest` as the kubelet answers when there is none yet.
    """
    attempts = _attempts(folder)
    if previous:
        if len(attempts) < 2:
            raise BadLogRequest(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        return attempts[-2]
    if not attempts:
        raise BadLogRequest(
            f'container "{container}" in pod "{name}" is waiting to start: '
            + waiting_reason(pod, container)
        )
    return attempts[-1]


async def follow(
    first: bytes, path: Path, offset: int, writer: LogWriter | None, options: LogOptions
) -> AsyncGenerator[bytes, None]:
    """``follow=true``: what is there, then new lines until the container's run ends.

    ``first`` is already limited to ``options.limit``; the stream ends once that many bytes
    went out in all.
    """
    left = options.limit
    if first:
        yield first
        if left is not None:
            left -= len(first)
    if writer is None or writer.path != path:
        return
    while left is None or left > 0:
        changed = writer.changed
        lines, offset = read_lines(path, offset)
        if lines:
            chunk = options.render(lines)
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            yield chunk
            continue
        if writer.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), 1.0)


def choose_container(pod: JSON, name: str, wanted: str) -> str:
    """The container a log request is for, with the API server's errors when it is unclear."""
    spec = pod.get("spec", {})
    main = [str(c.get("name", "")) for c in spec.get("containers") or ()]
    init = [str(c.get("name", "")) for c in spec.get("initContainers") or ()]
    if not wanted:
        if len(main) == 1:
            return main[0]
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(main)}]"
        )
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise BadLogRequest(message)
    if wanted not in main and wanted not in init:
        raise BadLogRequest(f"container {wanted} is not valid for pod {name}")
    return wanted


def waiting_reason(pod: JSON, container: str) -> str:
    """Why a container has no log yet, from the status the runner wrote."""
    status = pod.get("status", {})
    for entry in [
        *(status.get("containerStatuses") or ()),
        *(status.get("initContainerStatuses") or ()),
    ]:
        if entry.get("name") == container:
            reason = (entry.get("state", {}).get("waiting") or {}).get("reason")
            if reason:
                return str(reason)
    return "ContainerCreating"


@dataclass
class LogOptions:
    """The ``pods/log`` query, parsed and checked as the API server does."""

    timestamps: bool = False
    follow: bool = False
    previous: bool = False
    tail: int | None = None
    since: str | None = None
    limit: int | None = None

    @classmethod
    def parse(cls, query: dict[str, str], now: datetime) -> LogOptions:
        """The options of a query (``follow``, ``previous``, ``timestamps``, ``tailLines``,
        ``limitBytes``, ``sinceSeconds``, ``sinceTime``, ``stream``)."""
        options = cls(
            timestamps=query.get("timestamps") == "true",
            follow=query.get("follow") == "true",
            previous=query.get("previous") == "true",
        )
        if query.get("stream", "All") not in ("", "All"):
            raise BadLogRequest(
                f'stream: Unsupported value: "{query["stream"]}": stdout and stderr share one '
                'log here, only "All" is served'
            )
        options.tail = _number(query, "tailLines")
        options.limit = _number(query, "limitBytes", minimum=1)
        seconds = _number(query, "sinceSeconds", minimum=1)
        if seconds is not None:
            options.since = format_nano(now - timedelta(seconds=seconds))
        if query.get("sinceTime"):
            try:
                when = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
            except ValueError:
                raise BadLogRequest(f'sinceTime: Invalid value: "{query["sinceTime"]}"') from None
            options.since = format_nano(when)
        return options

    def select(self, lines: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """The lines the query asks for (``sinceSeconds``/``sinceTime``, then ``tailLines``)."""
        if self.since is not None:
            lines = [(t, line) for t, line in lines if t >= self.since]
        if self.tail is not None:
            lines = lines[-self.tail :] if self.tail else []
        return lines

    def render(self, lines: list[tuple[str, bytes]]) -> bytes:
        """The lines as sent, with their times when ``timestamps`` was asked for."""
        if self.timestamps:
            return b"".join(t.encode() + b" " + line for t, line in lines)
        return b"".join(line for _, line in lines)


def _number(query: dict[str, str], key: str, *, minimum: int = 0) -> int | None:
    if key not in query or query[key] == "":
        return None
    try:
        value = int(query[key])
    except ValueError:
        raise BadLogRequest(f'{key}: Invalid value: "{query[key]}"') from None
    if value < minimum:
        raise BadLogRequest(
            f"{key}: Invalid value: {value}: must be greater than or equal to {minimum}"
            if minimum
            else f"{key}: Invalid value: {value}: must be greater than or equal to 0"
        )
    return value
