"""Each real server the suite depends on starts through its class and does one real thing."""

from __future__ import annotations

import io
import os
import secrets
import socket
import struct
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.services.coturn import Coturn
from tests.services.minio import MinioServer
from tests.services.nginx import Nginx
from tests.services.stripe_mock import TEST_API_KEY, StripeMock

STUN_MAGIC_COOKIE = 0x2112A442
STUN_BINDING_REQUEST = 0x0001
STUN_BINDING_SUCCESS = 0x0101


def test_minio_put_and_get_object() -> None:
    from minio import Minio

    with MinioServer() as server:
        client = Minio(
            server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            secure=False,
        )
        client.make_bucket("smoke")
        payload = secrets.token_bytes(4096)
        client.put_object(
            "smoke",
            "dir/blob.bin",
            io.BytesIO(payload),
            len(payload),
            content_type="application/octet-stream",
        )
        response = client.get_object("smoke", "dir/blob.bin")
        try:
            assert response.read() == payload
        finally:
            response.close()
            response.release_conn()


def test_stripe_mock_creates_customer(monkeypatch: pytest.MonkeyPatch) -> None:
    import stripe

    with StripeMock() as mock:
        monkeypatch.setattr(stripe, "api_base", mock.url)
        monkeypatch.setattr(stripe, "api_key", TEST_API_KEY)
        customer = stripe.Customer.create(email="smoke@echoel.test", name="Smoke Test")
        assert customer.id.startswith("cus_")


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AssertionError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def test_coturn_answers_stun_binding_over_tcp() -> None:
    with Coturn() as turn:
        transaction_id = secrets.token_bytes(12)
        request = struct.pack("!HHI", STUN_BINDING_REQUEST, 0, STUN_MAGIC_COOKIE) + transaction_id
        with socket.create_connection(("127.0.0.1", turn.port), timeout=5) as sock:
            sock.sendall(request)
            header = _recv_exact(sock, 20)
            msg_type, length, cookie = struct.unpack("!HHI", header[:8])
            _recv_exact(sock, length)  # attributes (XOR-MAPPED-ADDRESS, ...)
        assert msg_type == STUN_BINDING_SUCCESS
        assert cookie == STUN_MAGIC_COOKIE
        assert header[8:20] == transaction_id


NGINX_STATIC_CONF = """
worker_processes 1;
events { worker_connections 64; }
http {
    access_log {prefix}/logs/access.log;
    server {
        listen 127.0.0.1:{port};
        location /static/ {
            alias {static_root}/;
        }
    }
}
"""


def test_nginx_serves_static_file() -> None:
    with tempfile.TemporaryDirectory(prefix="echoel-static-") as static_root:
        body = b"hello from nginx " + secrets.token_hex(8).encode()
        Path(static_root, "hello.txt").write_bytes(body)
        os.chmod(static_root, 0o755)
        with Nginx(NGINX_STATIC_CONF, static_root=static_root) as nginx:
            url = f"{nginx.url}/static/hello.txt"
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200
                assert response.read() == body
