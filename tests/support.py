"""Helpers shared by tests: settings for a test run and a live app process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.core.settings import Settings, load_settings
from tests.services.binaries import REPO_ROOT, free_port

# Cheap hashing keeps the suite fast; cost 12 is checked by its own test and by the benchmark.
TEST_ENV = {
    "ECHOEL_ENVIRONMENT": "test",
    "ECHOEL_BCRYPT_ROUNDS": "4",
    "ECHOEL_SECRET_KEY": "test-secret-key-" + "x" * 32,
    "ECHOEL_PASSWORD_PEPPER": "test-pepper-" + "y" * 32,
    "ECHOEL_LOG_LEVEL": "warning",
    # Tests that need the BitTorrent seeder start it themselves (it listens on a port).
    "ECHOEL_SEEDER_IN_PROCESS": "false",
}


def test_env(db_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {**TEST_ENV, "ECHOEL_DATABASE_URL": db_url, "ECHOEL_VAR_DIR": str(var_dir), **extra}


def test_settings(db_url: str, var_dir: Path, **extra: str) -> Settings:
    return load_settings(test_env(db_url, var_dir, **extra))


# Helpers named test_* are not tests.
test_env.__test__ = False  # type: ignore[attr-defined]
test_settings.__test__ = False  # type: ignore[attr-defined]


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``echoel`` command in a child process with ``env`` on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**base, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


class LiveApp:
    """``echoel run`` in a child process on a free port (several workers if asked)."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.env, self.workers = env, workers
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return Path(self.env["ECHOEL_VAR_DIR"]) / f"app-{self.port}.log"

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the app's output, for a failure's message."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def __enter__(self) -> LiveApp:
        base = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "run", "--port", str(self.port), "--workers", str(self.workers)],
            env={**base, **self.env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"app did not become ready: {self.log_tail()}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
