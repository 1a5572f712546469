"""A real coturn TURN/STUN server for tests, with shared-secret (TURN REST API) auth."""

from __future__ import annotations

import random
import secrets
import socket
import struct
from pathlib import Path

from tests.services.binaries import REPO_ROOT, ServerProcess, find_binary, free_port, log_tail

REALM = "echoel.test"
# The configuration the project ships (and docker-compose mounts).
SHIPPED_CONFIG = REPO_ROOT / "scripts" / "coturn" / "turnserver.conf"
STUN_MAGIC_COOKIE = 0x2112A442


def stun_binding_ok(host: str, port: int, transport: str = "udp", timeout: float = 1.0) -> bool:
    """True if a STUN Binding Request to ``host:port`` gets a Binding Success Response."""
    transaction_id = secrets.token_bytes(12)
    request = struct.pack("!HHI", 0x0001, 0, STUN_MAGIC_COOKIE) + transaction_id
    try:
        if transport == "tcp":
            with socket.create_connection((host, port), timeout=timeout) as sock:
                sock.sendall(request)
                reply = b""
                while len(reply) < 20:
                    chunk = sock.recv(20 - len(reply))
                    if not chunk:
                        return False
                    reply += chunk
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                sock.sendto(request, (host, port))
                reply = sock.recv(2048)
    except OSError:
        return False
    if len(reply) < 20:
        return False
    msg_type, _length, cookie = struct.unpack("!HHI", reply[:8])
    return msg_type == 0x0101 and cookie == STUN_MAGIC_COOKIE and reply[8:20] == transaction_id


def _relay_range(size: int = 40) -> tuple[int, int]:
    """A random small relay-port range, away from the kernel's ephemeral range start."""
    low = random.randrange(20000, 30000 - size)
    return low, low + size - 1


class Coturn(ServerProcess):
    """``turnserver`` on 127.0.0.1 (UDP and TCP on ``port``) reading the shipped configuration file.

    The file is used unchanged, as docker-compose mounts it, so its deny rules, quotas and
    authentication mode are what every test exercises. Like compose, the secret and realm come
    on the command line, together with what a loopback run needs (its own ports, 127.0.0.1, no
    TLS, file paths in the temp dir): coturn lets the command line win over the file for
    single-valued options. ``extra`` adds further options, such as the loopback allowance a
    relay-to-relay transfer on one machine needs.

    Attributes once started: ``port``, ``secret`` (the ``static-auth-secret``), ``realm``,
    ``min_port``/``max_port`` (relay range), ``host`` ("127.0.0.1").
    """

    name = "coturn"
    startup_timeout = 20.0

    def __init__(self, *extra: str) -> None:
        super().__init__()
        self.binary = find_binary("turnserver")
        self.secret = secrets.token_hex(16)
        self.realm = REALM
        self.host = "127.0.0.1"
        self.port = 0
        self.min_port = 0
        self.max_port = 0
        self.extra = list(extra)

    @property
    def log_path(self) -> Path:
        # The file's log-file=stdout wins over --log-file: the log is the process's output.
        return self.stdout_log

    def _allocate(self) -> None:
        self.port = free_port()
        self.min_port, self.max_port = _relay_range()

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        return [
            self.binary,
            "-c",
            str(SHIPPED_CONFIG),
            f"--listening-ip={self.host}",
            f"--listening-port={self.port}",
            f"--relay-ip={self.host}",
            f"--min-port={self.min_port}",
            f"--max-port={self.max_port}",
            f"--static-auth-secret={self.secret}",
            f"--realm={self.realm}",
            "--no-tls",
            "--no-dtls",
            # One listening address: RFC 5780 would want a second port (port+1) for
            # CHANGE-REQUEST, which may not be free.
            "--no-rfc5780",
            f"--pidfile={self.tmpdir / 'turnserver.pid'}",
            # Keep the (unused) user database out of /var/lib/turn.
            f"--userdb={self.tmpdir / 'turndb'}",
            *self.extra,
        ]

    def _ready(self) -> bool:
        # A real STUN exchange on both transports: a bare TCP connect could reach whatever
        # else holds the port, since coturn keeps running (retrying) when it cannot bind.
        return stun_binding_ok(self.host, self.port, "tcp", 0.5) and stun_binding_ok(self.host, self.port, "udp", 0.5)

    def _bind_failed(self) -> bool:
        text = log_tail(self.stdout_log, 200)
        return "Cannot bind" in text or "Address already in use" in text

    @property
    def stun_url(self) -> str:
        return f"stun:{self.host}:{self.port}"

    @property
    def turn_url(self) -> str:
        return f"turn:{self.host}:{self.port}"
