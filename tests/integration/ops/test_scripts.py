"""Every chore script parses, is executable, and is listed in scripts/README.md."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.services.binaries import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"
SHELL_SCRIPTS = sorted(p for p in SCRIPTS.iterdir() if p.is_file() and p.suffix == "" and p.name != "README")


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_script_parses_and_is_executable(script: os.PathLike[str]) -> None:
    path = SCRIPTS / os.fspath(script)
    assert os.access(path, os.X_OK), f"{path.name} is not executable"
    shell = "sh" if path.read_text().startswith("#!/bin/sh") else "bash"
    result = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_readme_lists_every_script() -> None:
    readme = (SCRIPTS / "README.md").read_text()
    names = [p.name for p in SHELL_SCRIPTS] + [f"bench/{p.name}" for p in (SCRIPTS / "bench").glob("[!_]*.py")]
    for name in names:
        assert f"`{name.split('/')[-1]}" in readme or f"`{name}" in readme, f"{name} missing from scripts/README.md"


def test_refresh_cloudflare_ips_fails_clearly_offline_and_keeps_the_list(tmp_path: os.PathLike[str]) -> None:
    target = REPO_ROOT / "nginx/snippets/cloudflare-ips.conf"
    before = target.read_text()
    # An unroutable proxy makes the fetch fail the same way being offline does.
    env = {**os.environ, "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    result = subprocess.run([str(SCRIPTS / "refresh-cloudflare-ips")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "left unchanged" in result.stderr
    assert target.read_text() == before
    assert before.count("set_real_ip_from") >= 20 and "real_ip_header CF-Connecting-IP;" in before
