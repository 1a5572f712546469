"""OpenSSH's sshd from Debian's package, on 127.0.0.1 with throwaway host and client keys."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

from tests.services.binaries import ServerProcess, find_binary, free_port, port_accepts

# What a login on a VPS has from its own system setup, taken from this machine: uv on PATH, and
# the package index reached as here (proxy, trusted certificates), for `uv sync`.
PASSED_ON = frozenset(
    {
        "PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
    }
)


class SshServer(ServerProcess):
    """``sshd -D -e -f <tmp>/sshd_config``: key login only, for the user running the tests.

    A session's environment is sshd's, not the test's: PASSED_ON and the ``UV_*`` variables are
    handed on (SetEnv). ``ssh_command`` is the client command line
    (for ECHOEL_DEPLOY_SSH) and ``target`` the ``user@host`` to give it.
    """

    name = "sshd"
    startup_timeout = 15.0

    def __init__(self) -> None:
        super().__init__()
        self.binary = find_binary("sshd")
        self.user = getpass.getuser()
        self.port = 0

    @property
    def target(self) -> str:
        return f"{self.user}@127.0.0.1"

    @property
    def ssh_command(self) -> str:
        assert self.tmpdir is not None
        return (
            f"ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR -p {self.port}"
            f" -i {self.tmpdir / 'client_ed25519'} -o UserKnownHostsFile={self.tmpdir / 'known_hosts'}"
            " -o StrictHostKeyChecking=accept-new"
        )

    def _allocate(self) -> None:
        self.port = free_port()

    def _prepare(self) -> None:
        assert self.tmpdir is not None
        for key in ("host_ed25519", "client_ed25519"):
            if not (self.tmpdir / key).exists():
                keygen = [find_binary("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(self.tmpdir / key)]
                subprocess.run(keygen, check=True, capture_output=True)
        (self.tmpdir / "authorized_keys").write_text((self.tmpdir / "client_ed25519.pub").read_text())
        if os.geteuid() == 0:
            # sshd's privilege separation directory, which it refuses to start without.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        passed_on = {k: v for k, v in os.environ.items() if k in PASSED_ON or k.startswith("UV_")}
        set_env = " ".join(f'"{k}={v}"' for k, v in sorted(passed_on.items()))
        (self.tmpdir / "sshd_config").write_text(
            f"""\
ListenAddress 127.0.0.1
Port {self.port}
HostKey {self.tmpdir / "host_ed25519"}
PidFile {self.tmpdir / "sshd.pid"}
AuthorizedKeysFile {self.tmpdir / "authorized_keys"}
AllowUsers {self.user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# Root logs in with its key only; no PAM stack and no ownership checks on the temp dir's files.
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
SetEnv {set_env}
"""
        )

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        return [self.binary, "-D", "-e", "-f", str(self.tmpdir / "sshd_config")]

    def _ready(self) -> bool:
        return port_accepts(self.port)
