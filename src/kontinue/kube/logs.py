"""Pod logs as a stream of :class:`LogEvent`, for one pod or for many merged into one.

Shaped after kates' ``PodLogs``: every event says which pod and container it came from and when
the line was written, so the streams of many pods can be interleaved without losing identity or
ordering information.  Each stream ends with exactly one *closed* event.

Errors are events, not exceptions.  A container that is not running (400), a pod that does not
exist (404) or a connection that breaks all end the stream with a closed event whose ``error``
says why; lines already received stay delivered.  That is what kates does, and it is what a
multiplexer needs: one failing pod must not tear down the other pods' streams, and a follower
loop can decide per stream whether to retry.  Only programming mistakes (an argument that is not
a pod) raise.

Lines are split by the transport, which drops empty lines; with ``timestamps=True`` (the default)
an empty log line still arrives, as an event whose ``output`` is ``""``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Generator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ._blocking import LoopThread, async_twin
from ._core import JSON, to_dict
from .errors import KubeError

if TYPE_CHECKING:
    from .client import AsyncKubeClient, KubeClient

__all__ = [
    "LogEvent",
    "LogOptions",
    "multiplex_log_lines",
    "multiplex_logs",
    "parse_log_line",
    "pod_log_lines",
    "pod_logs",
]

PodRef = str | JSON | Any  # a pod's name, or the pod as a dict or a pydantic model

# Events buffered between the per-stream readers and the consumer: enough to absorb bursts,
# small enough that a slow consumer slows the readers down instead of filling memory.
_QUEUE_SIZE = 1024

# RFC 3339 with up to nanosecond precision, as the kubelet prefixes lines with ``timestamps``.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d) ?"
)


@dataclass(frozen=True)
class LogOptions:
    """Which log lines to ask for (the query parameters of ``GET pods/{name}/log``).

    Attributes:
        container: The container to read; ``None`` lets the server pick the pod's only
            container (:func:`multiplex_logs` instead reads every container).
        follow: Keep the stream open and deliver lines as they are written.
        tail_lines: Only the last this many lines (``None``: all of them).
        since_seconds: Only lines written in the last this many seconds.
        since_time: Only lines written at or after this time (naive means UTC); not together
            with ``since_seconds``.
        timestamps: Ask the server to prefix each line with its RFC 3339 time, which becomes
            :attr:`LogEvent.timestamp`. On by default: merged streams are hard to read without.
        previous: The logs of the previous, terminated instance of the container.
    """

    container: str | None = None
    follow: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: datetime | None = None
    timestamps: bool = True
    previous: bool = False

    def __post_init__(self) -> None:
        if self.since_seconds is not None and self.since_time is not None:
            raise ValueError(
                "since_seconds and since_time both set: give one of them (the server takes one)"
            )
        if self.since_seconds is not None and self.since_seconds <= 0:
            raise ValueError(f"since_seconds must be positive, got {self.since_seconds}")

    def query(self) -> dict[str, str]:
        """The request's query parameters (only those that differ from the server defaults)."""
        query: dict[str, str] = {}
        if self.container:
            query["container"] = self.container
        if self.follow:
            query["follow"] = "true"
        if self.tail_lines is not None:
            query["tailLines"] = str(self.tail_lines)
        if self.since_seconds is not None:
            query["sinceSeconds"] = str(self.since_seconds)
        if self.since_time is not None:
            when = self.since_time
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
            query["sinceTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.timestamps:
            query["timestamps"] = "true"
        if self.previous:
            query["previous"] = "true"
        return query


@dataclass(frozen=True)
class LogEvent:
    """One line of a container's log, or the end of a stream.

    Attributes:
        pod: ``namespace/name`` of the pod.
        container: The container the line came from; ``""`` when the server chose it.
        timestamp: When the line was written (UTC, microsecond precision), if known.
        output: The line, without its timestamp prefix and line break.
        closed: True for the last event of a stream (it carries no output).
        error: Why the stream ended early, on a closed event; ``None`` for a normal end.
    """

    pod: str
    container: str
    timestamp: datetime | None
    output: str
    closed: bool = False
    error: str | None = None


def parse_log_line(pod: str, container: str, line: bytes, timestamps: bool = True) -> LogEvent:
    """The event for one raw log line; a line without a readable timestamp keeps all its text."""
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    if timestamps:
        match = _TIMESTAMP.match(text)
        if match is not None:
            stamp = _timestamp(match)
            if stamp is not None:
                return LogEvent(pod, container, stamp, text[match.end() :])
    return LogEvent(pod, container, None, text)


def _timestamp(match: re.Match[str]) -> datetime | None:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))  # Python keeps microseconds only
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
    except ValueError:
        return None
    return when.astimezone(UTC)


@dataclass(frozen=True)
class _Plan:
    """One log request, worked out without I/O; both shells send it and turn lines into events."""

    pod_id: str
    container: str
    path: str
    query: dict[str, str]
    read_timeout: float | None
    timestamps: bool

    def event(self, line: bytes) -> LogEvent:
        return parse_log_line(self.pod_id, self.container, line, self.timestamps)

    def closed(self, error: BaseException | None = None) -> LogEvent:
        return LogEvent(self.pod_id, self.container, None, "", closed=True, error=_describe(error))


def _describe(error: BaseException | None) -> str | None:
    if error is None:
        return None
    return str(error) or type(error).__name__


def _target(pod: PodRef, namespace: str | None, default: str) -> tuple[str, str, list[str]]:
    """``(namespace, name, container names)`` of a pod reference (no names for a bare name)."""
    if isinstance(pod, str):
        if not pod:
            raise ValueError("a pod name is needed")
        return namespace or default, pod, []
    body = to_dict(pod)
    if body.get("kind", "Pod") != "Pod":
        raise ValueError(f"logs are read from pods, not from a {body.get('kind')}")
    meta = body.get("metadata") or {}
    name = str(meta.get("name") or "")
    if not name:
        raise ValueError("the pod has no metadata.name")
    containers = (body.get("spec") or {}).get("containers") or []
    names = [str(c.get("name")) for c in containers if isinstance(c, dict) and c.get("name")]
    return namespace or str(meta.get("namespace") or "") or default, name, names


def _plan(
    pod: PodRef, options: LogOptions, namespace: str | None, default: str, timeout: float
) -> _Plan:
    ns, name, containers = _target(pod, namespace, default)
    # Without a container the server reads the pod's only one: name it when we know it.
    container = options.container or (containers[0] if len(containers) == 1 else "")
    return _Plan(
        pod_id=f"{ns}/{name}",
        container=container,
        path=f"/api/v1/namespaces/{ns}/pods/{name}/log",
        query=options.query(),
        # A followed stream may stay quiet for as long as the container does.
        read_timeout=None if options.follow else timeout,
        timestamps=options.timestamps,
    )


def pod_logs(
    client: AsyncKubeClient,
    pod: PodRef,
    options: LogOptions | None = None,
    *,
    namespace: str | None = None,
) -> AsyncGenerator[LogEvent, None]:
    """The log lines of one pod's container, then a closed event (with ``error`` on failure).

    ``pod`` is a name (looked up in ``namespace``, else the client's namespace) or the pod
    itself. Failures to read end the stream with an error event instead of raising (see the
    module docs); an argument that is not a pod raises ``ValueError``/``TypeError`` here, before
    iteration starts. Close the iterator (``contextlib.aclosing``) when leaving a followed
    stream early, so the connection is released at once.
    """
    options = options or LogOptions()
    return _stream(
        client, _plan(pod, options, namespace, client.namespace, client.settings.timeout)
    )


def pod_log_lines(
    client: KubeClient,
    pod: PodRef,
    options: LogOptions | None = None,
    *,
    namespace: str | None = None,
) -> Generator[LogEvent, None, None]:
    """The blocking twin of :func:`pod_logs` (same events, same closed/error rules)."""
    options = options or LogOptions()
    plan = _plan(pod, options, namespace, client.namespace, client.settings.timeout)
    return _sync_stream(client, plan)


def _sync_stream(client: KubeClient, plan: _Plan) -> Generator[LogEvent, None, None]:
    try:
        for line in client.stream_lines(plan.path, plan.query, plan.read_timeout):
            yield plan.event(line)
    except KubeError as exc:
        yield plan.closed(exc)
        return
    yield plan.closed()


async def _stream(client: AsyncKubeClient, plan: _Plan) -> AsyncGenerator[LogEvent, None]:
    try:
        async for line in client.stream_lines(plan.path, plan.query, plan.read_timeout):
            yield plan.event(line)
    except KubeError as exc:
        yield plan.closed(exc)
        return
    yield plan.closed()


async def multiplex_logs(
    client: AsyncKubeClient,
    pods: Iterable[PodRef],
    options: LogOptions | None = None,
    *,
    namespace: str | None = None,
) -> AsyncGenerator[LogEvent, None]:
    """The logs of several pods merged into one stream, in the order lines arrive.

    With ``options.container`` unset every container of each pod gets its own stream (pods
    given by name are fetched to learn their containers). Each stream ends with its own closed
    event, an error event when it failed (a pod that cannot be fetched ends at once that way);
    the merged stream ends once all of them have closed. Lines of one stream keep their order.

    Every stream is read by a named task owned by this generator; closing the generator (or
    cancelling its consumer) cancels and awaits them all, so nothing outlives it.
    """
    options = options or LogOptions()
    targets = list(pods)
    ready: list[LogEvent] = []
    plans: list[_Plan] = []
    for pod, found in zip(
        targets, await _containers(client, targets, options, namespace), strict=True
    ):
        if isinstance(found, KubeError):
            ns, name, _ = _target(pod, namespace, client.namespace)
            ready.append(
                LogEvent(f"{ns}/{name}", "", None, "", closed=True, error=_describe(found))
            )
            continue
        for container in found:
            choice = replace(options, container=container or None)
            plans.append(_plan(pod, choice, namespace, client.namespace, client.settings.timeout))
    queue: asyncio.Queue[LogEvent] = asyncio.Queue(_QUEUE_SIZE)
    tasks = [
        asyncio.create_task(
            _pump(client, plan, queue), name=f"kontinue-logs:{plan.pod_id}:{plan.container}"
        )
        for plan in plans
    ]
    try:
        for event in ready:
            yield event
        open_streams = len(tasks)
        while open_streams:
            event = await queue.get()
            if event.closed:
                open_streams -= 1
            yield event
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


def multiplex_log_lines(
    client: KubeClient,
    pods: Iterable[PodRef],
    options: LogOptions | None = None,
    *,
    namespace: str | None = None,
) -> Generator[LogEvent, None, None]:
    """The blocking twin of :func:`multiplex_logs` (the same merged stream and closed/error
    rules), for scripts: the streams are read on a private event loop thread, through an
    async client for ``client``'s connection. Closing the generator (or leaving a ``for``
    loop over it early) stops every stream and the thread."""
    targets = list(pods)
    for pod in targets:
        _target(pod, namespace, client.namespace)  # not a pod: raise now, before any thread
    return _sync_multiplex(client, targets, options, namespace)


def _sync_multiplex(
    client: KubeClient, pods: list[PodRef], options: LogOptions | None, namespace: str | None
) -> Generator[LogEvent, None, None]:
    portal = LoopThread("kontinue-logs")
    twin = async_twin(client)
    try:
        yield from portal.iterate(multiplex_logs(twin, pods, options, namespace=namespace))
    finally:
        try:
            portal.call(twin.close())
        finally:
            portal.close()


async def _containers(
    client: AsyncKubeClient, pods: list[PodRef], options: LogOptions, namespace: str | None
) -> list[list[str] | KubeError]:
    """The containers to read per pod (``[""]``: the one the server picks), or why not."""

    async def containers(pod: PodRef) -> list[str]:
        if options.container:
            return [options.container]
        ns, name, known = _target(pod, namespace, client.namespace)
        if not known:
            fetched = await client.get("pods", name, namespace=ns)
            known = _target(fetched, ns, ns)[2]
        return known or [""]

    found: list[list[str] | KubeError] = []
    for result in await asyncio.gather(*map(containers, pods), return_exceptions=True):
        if isinstance(result, BaseException) and not isinstance(result, KubeError):
            raise result
        found.append(result)
    return found


async def _pump(client: AsyncKubeClient, plan: _Plan, queue: asyncio.Queue[LogEvent]) -> None:
    """Copy one stream into the shared queue; make sure it ends with exactly one closed event."""
    closed = False
    try:
        async with aclosing(_stream(client, plan)) as events:
            async for event in events:
                closed = event.closed
                await queue.put(event)
    except Exception as exc:  # a bug must not leave the merged stream waiting forever
        if not closed:
            await queue.put(plan.closed(exc))
