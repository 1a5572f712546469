"""Finding server binaries, picking free ports, and running a server process for tests."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Self

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"

# Tools shipped by the Debian postgresql package under /usr/lib/postgresql/<version>/bin.
POSTGRES_TOOLS = frozenset(
    {
        "postgres",
        "initdb",
        "pg_ctl",
        "pg_dump",
        "pg_restore",
        "pg_isready",
        "psql",
        "createdb",
        "dropdb",
        "createuser",
        "pg_basebackup",
        "pg_upgrade",
        "pg_resetwal",
    }
)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _postgres_bin_dirs() -> list[Path]:
    """``/usr/lib/postgresql/*/bin``, highest major version first."""

    def version_key(path: str) -> tuple[int, ...]:
        version = Path(path).parent.name
        return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)

    return [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)]


def find_binary(name: str) -> str:
    """Absolute path of server binary ``name``, or ``RuntimeError`` if it is not installed.

    Looks in ``<repo>/.tools/bin`` (built by ``scripts/install-test-deps``), then ``PATH`` (plus
    the sbin directories, where Debian puts nginx), then for PostgreSQL tools the highest
    ``/usr/lib/postgresql/*/bin``.
    """
    candidate = TOOLS_BIN / name
    if _is_executable(candidate):
        return str(candidate)
    search_path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=search_path)
    # Prefer the versioned postgres dirs for server tools: Debian's /usr/bin/psql etc. are
    # wrappers, and postgres/initdb are not on PATH at all.
    if name in POSTGRES_TOOLS:
        for directory in _postgres_bin_dirs():
            candidate = directory / name
            if _is_executable(candidate):
                return str(candidate)
    if found:
        return found
    raise RuntimeError(f"missing {name}: run scripts/install-test-deps")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all sockets held open while choosing)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True if a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path | str, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' if there is none)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# Startup output meaning "someone took our port between free_port() and bind()".
_PORT_IN_USE = re.compile(r"address already in use|EADDRINUSE|port is already in use", re.IGNORECASE)


class ServerProcess:
    """A real server run as a child process in its own temp dir; subclasses fill in the hooks.

    ``start()`` makes the temp dir, calls ``_allocate()`` (pick ports), ``_prepare()`` (write
    config), launches ``_command()`` with output to ``<tmp>/<name>.out`` and polls ``_ready()``
    until ``startup_timeout``. If the process exits during startup (usually a port taken between
    choosing and binding, seen as "address already in use" in its output, or ``_bind_failed()``
    for servers that keep running without their port), it retries with new ports up to
    ``start_attempts`` times.
    ``stop()`` terminates, waits, kills the process group if needed, and removes the temp dir.
    """

    name = "server"
    startup_timeout = 30.0
    stop_timeout = 10.0
    start_attempts = 3

    def __init__(self) -> None:
        self.tmpdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    # -- hooks -------------------------------------------------------------------------
    def _allocate(self) -> None:
        """Choose ports (called again on each start attempt)."""

    def _prepare(self) -> None:
        """Write config files into ``self.tmpdir``."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str] | None:
        return None

    def _ready(self) -> bool:
        raise NotImplementedError

    def _bind_failed(self) -> bool:
        """True if the still-running server reports it cannot bind (it will never be ready)."""
        return False

    def _extra_logs(self) -> list[Path]:
        """Log files the server writes itself, shown in startup errors."""
        return []

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def stdout_log(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / f"{self.name}.out"

    def logs(self, lines: int = 40) -> str:
        """Tail of the server's output and own log files."""
        if self.tmpdir is None:
            return ""
        parts = []
        for path in [self.stdout_log, *self._extra_logs()]:
            tail = log_tail(path, lines)
            if tail:
                parts.append(f"--- {path.name} ---\n{tail}")
        return "\n".join(parts) or "(no output)"

    def start(self) -> Self:
        if self.process is not None:
            raise RuntimeError(f"{self.name} is already running")
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"echoel-{self.name}-"))
        try:
            for attempt in range(1, self.start_attempts + 1):
                self._allocate()
                self._prepare()
                command = self._command()
                if self._launch_and_wait(command, last_attempt=attempt == self.start_attempts):
                    return self
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")

    def _launch_and_wait(self, command: list[str], *, last_attempt: bool) -> bool:
        assert self.tmpdir is not None
        self._log_handle = open(self.stdout_log, "wb")  # noqa: SIM115 - closed in _terminate
        self.process = subprocess.Popen(
            command,
            cwd=self.tmpdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so stray children can be killed too
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                message = (
                    f"{self.name} exited with code {code} during startup\ncommand: {' '.join(command)}\n{self.logs()}"
                )
                self._terminate()
                if last_attempt or not _PORT_IN_USE.search(self.logs()):
                    raise RuntimeError(message)
                return False  # lost a port race: try again with new ports
            if self._bind_failed():
                message = f"{self.name} could not bind its port(s)\ncommand: {' '.join(command)}\n{self.logs()}"
                self._terminate()
                if last_attempt:
                    raise RuntimeError(message)
                return False
            try:
                if self._ready():
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        message = (
            f"{self.name} did not become ready within {self.startup_timeout:.0f}s\n"
            f"command: {' '.join(command)}\n{self.logs()}"
        )
        raise RuntimeError(message)

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    process.kill()
                process.wait(timeout=self.stop_timeout)
        if process is not None:
            # Children that outlived their parent (e.g. nginx workers after a crash).
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def stop(self) -> None:
        self._terminate()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
