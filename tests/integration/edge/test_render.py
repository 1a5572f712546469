"""scripts/render-nginx: the TLS + HTTP/2 variant serves, and bad input fails clearly."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.edge.stack import EdgeNginx
from tests.integration.edge.test_edge import assert_security_headers
from tests.services.binaries import REPO_ROOT, free_port

RENDER = str(REPO_ROOT / "scripts" / "render-nginx")


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_variant_serves_http2_and_redirects_port_80(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    https_port = free_port()
    nginx = EdgeNginx(
        tmp_path / "nginx",
        app_port=free_port(),
        NGINX_TLS="on",
        NGINX_HTTPS_PORT=str(https_port),
        NGINX_TLS_CERT=str(cert),
        NGINX_TLS_KEY=str(key),
        NGINX_ACME_ROOT=str(tmp_path / "acme"),
    )
    (nginx.static_root / "index.html").write_text("<!doctype html><title>tls</title>")
    (tmp_path / "acme" / ".well-known" / "acme-challenge").mkdir(parents=True)
    (tmp_path / "acme" / ".well-known" / "acme-challenge" / "tok").write_text("challenge-answer")
    with nginx:
        plain = httpx.get(f"{nginx.url}/some/page?x=1")
        assert plain.status_code == 301
        assert plain.headers["location"] == "https://127.0.0.1/some/page?x=1"
        assert httpx.get(f"{nginx.url}/.well-known/acme-challenge/tok").text == "challenge-answer"
        # A throwaway self-signed certificate: nothing to verify against.
        with httpx.Client(http2=False, verify=False) as client:
            page = client.get(f"https://127.0.0.1:{https_port}/")
        assert page.status_code == 200 and "<title>tls</title>" in page.text
        assert_security_headers(page)
    assert "ssl http2" in (tmp_path / "nginx" / "conf" / "snippets" / "listen.conf").read_text()


@pytest.mark.parametrize(
    ("env", "message"),
    [({"NGINX_SERVER_NAME": ""}, "NGINX_SERVER_NAME"), ({"NGINX_SERVER_NAME": "x", "NGINX_TLS": "maybe"}, "on or off")],
)
def test_bad_settings_fail_clearly(tmp_path: Path, env: dict[str, str], message: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NGINX_")}
    result = subprocess.run([RENDER, str(tmp_path / "out")], env={**clean, **env}, capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr
    assert not (tmp_path / "out" / "nginx.conf").exists()


def test_only_listed_variables_are_substituted(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NGINX_")}
    env = {**clean, "NGINX_SERVER_NAME": "example.test", "NGINX_TLS": "off", "NGINX_CACHE_DIR": str(tmp_path / "c")}
    subprocess.run([RENDER, str(tmp_path / "out")], env=env, check=True, capture_output=True)
    site = (tmp_path / "out" / "echoel.conf").read_text()
    # nginx's own variables survive; ours are gone.
    assert "$upstream_cache_status" in site and "$http_upgrade" in site and "$binary_remote_addr" in site
    assert "${" not in site and "server_name example.test;" in site
