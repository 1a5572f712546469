"""scripts/deploy run for real: over ssh to this machine, processes runtime, under load.

The "VPS" is a checkout cloned from a bare origin, with its own .env, a PostgreSQL database set
up by sql/init (the app runs as echoel_app, migrations as echoel_owner) and the host's nginx
running the configuration the deploy renders. A developer's clone pushes releases to origin;
`scripts/deploy USER@127.0.0.1 main` reaches the VPS through a real sshd, fetches, migrates,
starts the new app, moves nginx to it and retires the old one, while clients keep signing up
and reading through nginx. Failed deploys must leave the old app serving, untouched.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.edge.load import CLIENTS, NGINX_UNLIMITED, UNLIMITED_AUTH, Load
from tests.integration.edge.stack import HostNginx, nginx_env
from tests.services.binaries import REPO_ROOT, free_port, wait_until
from tests.services.postgres import PostgresServer, provision_database
from tests.services.sshd import SshServer
from tests.support import test_env

# Releases are committed by the drill itself: no one's identity, no signing the machine may ask for.
GIT_COMMIT = ["-c", "user.name=Deploy drill", "-c", "user.email=deploy@example.invalid", "-c", "commit.gpgsign=false"]


def git(*args: str | Path) -> str:
    result = subprocess.run(["git", *map(str, args)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(map(str, args))}: {result.stderr}"
    return result.stdout.strip()


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not reaped by the reparented-to init) is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Vps:
    sshd: SshServer
    checkout: Path
    dev: Path  # a developer's clone, pushing releases to origin
    nginx: HostNginx
    postgres: PostgresServer
    database: str

    def deploy(self, ref: str = "main") -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
        env |= {
            "ECHOEL_DEPLOY_DIR": str(self.checkout),
            "ECHOEL_DEPLOY_RUNTIME": "processes",
            "ECHOEL_DEPLOY_SSH": self.sshd.ssh_command,
        }
        command = [str(REPO_ROOT / "scripts" / "deploy"), self.sshd.target, ref]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)

    def release(self, path: str, text: str, message: str) -> str:
        """Commit ``text`` appended to ``path`` in the developer's clone, push it; the commit."""
        with (self.dev / path).open("a") as f:
            f.write(text)
        git("-C", self.dev, "add", path)
        git("-C", self.dev, *GIT_COMMIT, "commit", "--quiet", "--message", message)
        git("-C", self.dev, "push", "--quiet", "origin", "HEAD:main")
        return git("-C", self.dev, "rev-parse", "HEAD")

    def head(self) -> str:
        return git("-C", self.checkout, "rev-parse", "HEAD")

    def state(self) -> dict[str, str]:
        """The serving app as the deploy recorded it: port, pid, commit."""
        lines = (self.checkout / ".deploy" / "state").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)

    def set_env(self, name: str, value: str) -> None:
        env = self.checkout / ".env"
        kept = [line for line in env.read_text().splitlines() if not line.startswith(f"{name}=")]
        env.write_text("\n".join([*kept, f"{name}={shlex.quote(value)}", ""]))

    def stop_apps(self) -> None:
        """Stop every app a deploy left running (each is its own session leader: setsid)."""
        pids = [int(p.read_text()) for p in (self.checkout / ".deploy").glob("app-*.pid")]
        for pid in pids:
            if alive(pid):
                os.killpg(pid, signal.SIGTERM)
        for pid in pids:
            if not wait_until(lambda pid=pid: not alive(pid), timeout=15):
                os.killpg(pid, signal.SIGKILL)


def write_vps_env(vps: Path, folder: Path, postgres: PostgresServer, database: str, nginx: HostNginx) -> None:
    """DIR/.env as the operator writes it: the app's settings, DB_OWNER_URL, NGINX_*, DEPLOY_*."""
    base = f"127.0.0.1:{postgres.port}/{database}"
    nginx_vars = nginx_env(folder, nginx.fixed_port, 0, **NGINX_UNLIMITED)
    del nginx_vars["NGINX_APP_UPSTREAM"]  # the deploy sets it, to the app it starts
    env = {
        **test_env(f"postgresql://echoel_app@{base}", vps / "var", ECHOEL_PUBLIC_URL=nginx.url, **UNLIMITED_AUTH),
        "DB_OWNER_URL": f"postgresql://echoel_owner@{base}",
        **nginx_vars,
        "NGINX_STATIC_ROOT": str(vps / "static"),
        "DEPLOY_NGINX_CONF_DIR": str(nginx.conf_dir),
        "DEPLOY_NGINX_PID": str(nginx.pid_file),
    }
    (vps / ".env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))


@pytest.fixture(scope="module")
def vps(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vps]:
    """The VPS after its first deploy (the app started by the deploy), nginx started in front."""
    folder = tmp_path_factory.mktemp("deploy")
    origin, checkout, dev = folder / "origin.git", folder / "vps", folder / "dev"
    git("init", "--quiet", "--bare", "--initial-branch=main", origin)
    # The committed tree (HEAD) is what gets deployed; the deploy logic is this checkout's.
    git("-C", REPO_ROOT, "push", "--quiet", origin, "HEAD:refs/heads/main")
    git("clone", "--quiet", origin, checkout)
    git("clone", "--quiet", origin, dev)
    database = provision_database(postgres, f"echoel_deploy_{uuid.uuid4().hex[:8]}")
    nginx = HostNginx(folder / "nginx" / "conf", free_port(), folder / "nginx" / "nginx.pid")
    write_vps_env(checkout, folder / "nginx", postgres, database, nginx)
    with SshServer() as sshd:
        vps = Vps(sshd, checkout, dev, nginx, postgres, database)
        try:
            # nginx is not running yet: the first deploy starts the app and renders nginx's
            # configuration for it, and nginx starts on that.
            first = vps.deploy()
            assert first.returncode == 0, first.stdout + first.stderr
            assert "nginx is not running" in first.stdout
            with nginx:
                yield vps
        finally:
            vps.stop_apps()


def test_deploy_over_ssh_replaces_the_app_and_drops_no_request(vps: Vps) -> None:
    before = vps.state()
    release = vps.release("RELEASE", "a harmless change\n", "Deploy drill: a new release")
    with Load(vps.nginx.url) as load:
        load.wait_for(50)  # the old app serves
        result = vps.deploy()
        load.wait_for(100)  # only the new one is left
    assert result.returncode == 0, result.stdout + result.stderr
    assert load.failures == [], f"{len(load.failures)} of {load.requests} failed: {load.failures[:5]}"
    # At most one per client for the one reload (see Load._send).
    assert load.resent <= CLIENTS, f"{load.resent} requests met a closed connection"
    after = vps.state()
    assert vps.head() == release == after["commit"] and (vps.checkout / "RELEASE").is_file()
    assert after["port"] != before["port"]
    assert not alive(int(before["pid"])), "the old app still runs"
    assert alive(int(after["pid"]))
    assert httpx.get(f"http://127.0.0.1:{after['port']}/readyz", timeout=5).status_code == 200
    assert f"127.0.0.1:{after['port']}" in (vps.nginx.conf_dir / "echoel.conf").read_text()
    # Every sign-up the clients were promised is in the database, whichever app took it.
    stored = set(vps.postgres.psql("SELECT email FROM users", vps.database).split())
    assert load.accepted and set(load.accepted) <= stored
    # The deploy applied sql/views as the schema owner.
    assert vps.postgres.psql("SELECT sum(accounts) FROM reporting.accounts_by_role", vps.database).strip()


def test_a_bad_ref_fails_and_the_old_app_keeps_serving(vps: Vps) -> None:
    before, head = vps.state(), vps.head()
    with Load(vps.nginx.url) as load:
        load.wait_for(30)
        result = vps.deploy("no-such-ref")
        load.wait_for(30)
    assert result.returncode != 0, result.stdout
    assert "no-such-ref" in result.stderr
    assert vps.state() == before and vps.head() == head and alive(int(before["pid"]))
    assert load.failures == [], load.failures[:5]


def test_a_new_app_that_never_gets_ready_is_removed_and_the_old_one_kept(vps: Vps) -> None:
    before, head = vps.state(), vps.head()
    # `echoel migrate` does not import app.asgi, so the release migrates; `echoel run` hangs
    # importing it, never listening: it has to be killed when the readiness wait runs out.
    vps.release("app/asgi.py", "\nimport time\n\ntime.sleep(3600)\n", "Deploy drill: a release that never gets ready")
    vps.set_env("DEPLOY_READY_SECONDS", "5")
    with Load(vps.nginx.url) as load:
        load.wait_for(30)
        result = vps.deploy()
        load.wait_for(30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "new app not ready after 5s; old one kept" in result.stderr
    started = re.search(r"new app: pid (\d+)", result.stdout)
    assert started, result.stdout
    assert wait_until(lambda: not alive(int(started[1])), timeout=10), "the new app still runs"
    # The old app serves, from the checkout it was started from (and .venv synced to it).
    assert vps.state() == before and vps.head() == head and alive(int(before["pid"]))
    assert load.failures == [], load.failures[:5]
