"""The embedded Kubernetes API server as a component: start, stop, kubeconfig.

:class:`DevServer` runs on the caller's event loop (``kontinue dev``); :class:`DevServerThread`
runs one on a private loop in a background thread, for synchronous programs and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import fcntl
import ipaddress
import os
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import platformdirs
import yaml
from aiohttp import web

from kontinue.clock import Clock, SystemClock
from kontinue.errors import KontinueError

from .catalog import NAMESPACES_KEY
from .certs import ServingCertificates
from .collecting import Collector
from .jobs import JobController
from .pods import PodRunner
from .registry import Registry
from .routes import LogSource, RouteSettings, build_server
from .storage import HISTORY_BYTES, Store

__all__ = [
    "DEFAULT_PORT",
    "Controller",
    "DevServer",
    "DevServerError",
    "DevServerSettings",
    "DevServerThread",
    "default_data_dir",
]

DEFAULT_PORT = 16443
BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CONTEXT_NAME = "kontinue-dev"


class Controller(Protocol):
    """A component that runs inside the dev server beside the API, like a kubelet would.

    It gets the server's :class:`Registry` and acts through it exactly as a request would
    (reads, status writes, watches via ``registry.store.subscribe``). The local pod runner
    plugs in this way, together with a :data:`LogSource` for ``pods/log``.
    """

    async def start(self, registry: Registry) -> None:
        """Begin work; called once the API is serving."""
        ...

    async def stop(self) -> None:
        """Stop and release everything (processes, tasks); called before the store closes."""
        ...


class DevServerError(KontinueError):
    """The server cannot start; the message says why and what to do."""


def default_data_dir() -> Path:
    """Where ``kontinue dev`` keeps its database, token and kubeconfig by default."""
    return Path(platformdirs.user_state_dir("kontinue")) / "dev"


@dataclass
class DevServerSettings:
    """How to run the dev server.

    Attributes:
        host: Address to bind. Loopback by default: the server is for this machine only.
        port: TCP port; 0 picks a free one (the kubeconfig then has the real port).
        data_dir: Directory for the SQLite database, the token and the kubeconfig; ``None``
            keeps everything in memory (lost on exit).
        kubeconfig: Where to write the kubeconfig; defaults to ``<data_dir>/kubeconfig``, or a
            file in a temporary directory for an in-memory server.
        token: Bearer token clients must present; generated (and kept in the data directory)
            when not given.
        event_history: Number of changes kept for watch resumption and paginated lists; older
            resourceVersions get 410 Expired, as after an etcd compaction.
        history_bytes: Bytes of changes kept for the same (each counts the object after and
            before it); beyond them the oldest are compacted and their space given back, so one
            object rewritten many times fills neither memory nor disk. 256 MiB by default: a
            few hundred rewrites of the largest objects, far more changes of small ones
            (``kontinue dev --history-mib``).
        bookmark_interval: Seconds between BOOKMARK events on watches that ask for them.
        run_jobs: Run the built-in Job controller (pods for Jobs, their status, deadlines and
            TTLs), as kube-controller-manager does; on by default so ``kubectl create job``
            works. Turn it off when something else (a test, another controller) owns Jobs.
        run_pods: Run pods as host processes with the built-in :class:`~.pods.PodRunner` (the
            dev server's kubelet; images are ignored) and serve their logs, unless a
            ``log_source`` is given. On by default so Jobs and workflows that start pods work
            without a cluster; turn it off when pods are only data (tests of the API itself) or
            another controller plays the kubelet. **Pods run as the user running the server**:
            whoever holds the token can run commands as that user (Pod Security Admission,
            ``baseline`` by default, refuses privileged pods, host namespaces and host paths,
            not commands). So the server refuses to start with pods on a ``host`` that is not
            a loopback address.
        limits: The HTTP layer's bounds on connections and watches (timeouts for headers and
            idle connections, the number of connections and of watches, the bytes a watch may
            have waiting); ``token`` and ``server_address`` in it are ignored.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path | None = field(default_factory=default_data_dir)
    kubeconfig: Path | None = None
    token: str | None = None
    event_history: int = 100_000
    history_bytes: int = HISTORY_BYTES
    bookmark_interval: float = 60.0
    run_jobs: bool = True
    run_pods: bool = True
    limits: RouteSettings = field(
        default_factory=lambda: RouteSettings(token="", server_address="")
    )

    @classmethod
    def ephemeral(cls, **overrides: Any) -> DevServerSettings:
        """In memory, on a free port: for tests and throwaway servers."""
        values: dict[str, Any] = {"port": 0, "data_dir": None}
        values.update(overrides)
        return cls(**values)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is this machine's loopback only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file readable by its owner only, renamed into place: whatever
    was at ``path`` (a file another user can read, a symbolic link to somewhere else) is
    replaced, never written through."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


#: What the server keeps in its data directory (pods/ holds each pod's folder and logs).
_PRIVATE_FILES = (
    "state.db", "state.db-wal", "state.db-shm", "token", "kubeconfig", "lock", "ca.crt",
    "server.crt", "server.key", "server.hosts", ".serving.crt", ".serving.key",
)  # fmt: skip


def _tighten(data_dir: Path) -> None:
    """Make the data directory its owner's alone (0700), and the server's files in it 0600
    and its pods/ folder 0700, as they should have been from the start (older versions left
    0755 and 0644). Other files (in a directory shared with something else) are left alone."""
    os.chmod(data_dir, 0o700)
    for name in _PRIVATE_FILES:
        path = data_dir / name
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)
    pods = data_dir / "pods"
    if pods.is_dir() and not pods.is_symlink():
        os.chmod(pods, 0o700)


def kubeconfig_document(
    url: str, token: str, ca_data: str, namespace: str = "default"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT_NAME,
                "cluster": {"server": url, "certificate-authority-data": ca_data},
            }
        ],
        "users": [{"name": CONTEXT_NAME, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT_NAME,
                "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    }


class DevServer:
    """A Kubernetes-compatible API server backed by SQLite, on the current event loop."""

    def __init__(
        self,
        settings: DevServerSettings | None = None,
        *,
        clock: Clock | None = None,
        log_source: LogSource | None = None,
        controllers: Sequence[Controller] = (),
    ) -> None:
        self.settings = settings or DevServerSettings()
        self.clock: Clock = clock or SystemClock()
        self.log_source = log_source
        self.controllers = list(controllers)
        self._started: list[Controller] = []
        self._lock_file: IO[str] | None = None
        self._runner: web.ServerRunner | None = None
        self._store: Store | None = None
        self._registry: Registry | None = None
        self._collector: Collector | None = None
        self.port = 0
        self.token = ""
        self.kubeconfig_path: Path | None = None
        self._tmp: Any = None

    @property
    def url(self) -> str:
        host = self.settings.host
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def registry(self) -> Registry:
        """The server's registry, for in-process controllers (e.g. a pod runner)."""
        if self._registry is None:
            raise RuntimeError("the dev server is not running")
        return self._registry

    @property
    def collector(self) -> Collector:
        if self._collector is None:
            raise RuntimeError("the dev server is not running")
        return self._collector

    def _prepare_data_dir(self) -> Path | None:
        data_dir = self.settings.data_dir
        if data_dir is None:
            return None
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            _tighten(data_dir)
            probe = data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise DevServerError(
                f"the data directory {data_dir} is not writable ({exc.strerror}); "
                "choose another with --data-dir or use --in-memory"
            ) from exc
        lock_fd = os.open(data_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        lock = open(lock_fd, "a+")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.close()
            raise DevServerError(
                f"the data directory {data_dir} is in use by another kontinue dev server; "
                "stop it or choose another --data-dir"
            ) from exc
        self._lock_file = lock
        return data_dir

    def _open_store(self, data_dir: Path | None) -> Store:
        """The store, in ``data_dir/state.db`` (created 0600) or in memory; a database that
        cannot be read is a :class:`DevServerError` saying what to do, never a silent start
        from nothing."""
        bounds = {
            "history": self.settings.event_history,
            "history_bytes": self.settings.history_bytes,
        }
        if data_dir is None:
            return Store(None, **bounds)
        path = data_dir / "state.db"
        advice = f"move it away to start afresh, or choose another --data-dir than {data_dir}"
        try:
            # SQLite gives its WAL and shared memory the database's mode
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            if path.stat().st_size == 0:  # SQLite would take it for a new, empty database
                raise DevServerError(
                    f"the database {path} is empty (0 bytes): it was truncated or replaced, "
                    f"and starting from it would lose every object; {advice}"
                ) from None
        try:
            return Store(path, **bounds)
        except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: a row is not JSON
            raise DevServerError(f"the database {path} cannot be read ({exc}); {advice}") from exc

    def _token(self, data_dir: Path | None) -> str:
        if self.settings.token:
            return self.settings.token
        if data_dir is None:
            return secrets.token_urlsafe(32)
        path = data_dir / "token"
        if path.exists():
            token = path.read_text().strip()
            if token:
                return token
        token = secrets.token_urlsafe(32)
        _write_private(path, token + "\n")
        return token

    def _scratch_dir(self, data_dir: Path | None) -> Path:
        if data_dir is not None:
            return data_dir
        self._tmp = tempfile.TemporaryDirectory(prefix="kontinue-dev-")
        return Path(self._tmp.name)

    async def start(self) -> None:
        """Open the store, bind the port and write the kubeconfig."""
        if self.settings.run_pods and not is_loopback(self.settings.host):
            raise DevServerError(
                f"--host {self.settings.host} is not a loopback address, and pods run as host "
                "processes as the user running this server: anyone who can reach it with the "
                "token could run commands as you. Serve on 127.0.0.1, or pass --no-run-pods"
            )
        data_dir = self._prepare_data_dir()
        try:
            scratch = self._scratch_dir(data_dir)
            hosts = tuple(dict.fromkeys(("127.0.0.1", "localhost", "::1", self.settings.host)))
            certs = ServingCertificates.load_or_create(scratch, hosts)
            self.token = self._token(data_dir)
            store = self._open_store(data_dir)
            self._store = store
            self._registry = Registry(store, self.clock)
            self._bootstrap()
            self._collector = Collector(self._registry, root_ca=certs.ca_pem.decode())
            self._collector.start()
            builtin: list[Controller] = []
            log_source = self.log_source
            if self.settings.run_pods:
                runner = PodRunner(scratch, clock=self.clock)
                builtin.append(runner)
                log_source = log_source or runner.logs
            await self._listen(certs.server_context(scratch), log_source)
            self._write_kubeconfig(scratch, certs)
            if self.settings.run_jobs:
                builtin.append(JobController())
            for controller in [*builtin, *self.controllers]:
                await controller.start(self._registry)
                self._started.append(controller)
        except BaseException:
            await self.stop()
            raise

    async def _listen(self, ssl_context: Any, log_source: LogSource | None) -> None:
        host = self.settings.host
        routes = dataclasses.replace(
            self.settings.limits,
            token=self.token,
            server_address=f"{host}:{self.settings.port}",
            bookmark_interval=self.settings.bookmark_interval,
        )
        http = build_server(self.registry, routes, log_source)
        self._runner = web.ServerRunner(http, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            # SO_REUSEADDR: a restart after a crash can bind while old connections sit in
            # TIME_WAIT (a port another server listens on is still refused on Linux)
            self._runner,
            host,
            self.settings.port,
            reuse_address=True,
            ssl_context=ssl_context,
        )
        try:
            await site.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DevServerError(
                    f"port {self.settings.port} on {host} is already in use; stop what is "
                    "listening there or pass --port"
                ) from exc
            raise DevServerError(f"cannot listen on {host}:{self.settings.port}: {exc}") from exc
        server = site._server  # the bound asyncio server, to learn the port chosen for 0
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.port
        routes.server_address = f"{host}:{self.port}"

    def _bootstrap(self) -> None:
        registry = self.registry
        rt = registry.catalog.by_key(NAMESPACES_KEY)
        assert rt is not None
        for name in BOOTSTRAP_NAMESPACES:
            if registry.store.get(NAMESPACES_KEY, "", name) is None:
                registry.create(
                    rt,
                    "v1",
                    "",
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                )

    def _write_kubeconfig(self, scratch: Path, certs: ServingCertificates) -> None:
        path = self.settings.kubeconfig or scratch / "kubeconfig"
        document = kubeconfig_document(self.url, self.token, certs.ca_data)
        _write_private(path, yaml.safe_dump(document, sort_keys=False))
        self.kubeconfig_path = path

    async def stop(self) -> None:
        """Close watches, stop serving and close the database. Safe to call twice."""
        while self._started:
            await self._started.pop().stop()
        if self._registry is not None:
            self._registry.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._collector is not None:
            await self._collector.stop()
            self._collector = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._registry = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def settle(self) -> None:
        """Wait until the built-in controllers have nothing left to do."""
        await self.collector.idle()

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class DevServerThread:
    """A :class:`DevServer` on its own event loop in a daemon thread."""

    def __init__(
        self,
        settings: DevServerSettings | None = None,
        *,
        clock: Clock | None = None,
        log_source: LogSource | None = None,
        controllers: Sequence[Controller] = (),
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.server = DevServer(
            settings or DevServerSettings.ephemeral(),
            clock=clock,
            log_source=log_source,
            controllers=controllers,
        )
        self._loop = loop or asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="kontinue-devserver"
        )

    def start(self) -> DevServerThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=30)
        return self

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    def settle(self, timeout: float = 30) -> None:
        self.call(self.server.settle(), timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> DevServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
