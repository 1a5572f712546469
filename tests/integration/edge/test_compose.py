"""docker-compose.yml and the Dockerfiles follow the deployment rules (no Docker engine needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.services.binaries import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# What may face the internet: web, TURN (+ its relay range), BitTorrent.
ALLOWED_PORTS = {
    "nginx": {"80:80", "443:443"},
    "coturn": {"3478:3478/udp", "3478:3478/tcp", "5349:5349/tcp", "49160-49200:49160-49200/udp"},
    "seeder": {"6881:6881/tcp", "6881:6881/udp"},
}
EXPECTED = {"app", "migrate", "worker", "seeder", "postgres", "minio", "meilisearch", "coturn", "nginx"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN|ACCESS_KEY", re.IGNORECASE)
PINNED_IMAGE = re.compile(r"^[\w./-]+:[\w.-]*\d[\w.-]*$")


def one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def test_every_component_is_a_service() -> None:
    assert set(SERVICES) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_service_rules(name: str) -> None:
    svc = SERVICES[name]
    image = svc.get("image", "")
    assert "build" in svc or PINNED_IMAGE.match(image), f"{name}: image {image!r} is not pinned"
    assert "latest" not in image
    assert svc.get("env_file") == ".env", f"{name}: reads .env"
    log = svc.get("logging", {})
    assert log.get("driver") == "json-file" and log["options"]["max-size"] and log["options"]["max-file"]
    if one_shot(svc):
        assert svc.get("healthcheck", {}).get("disable") is True
    else:
        check = svc.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name}: needs a healthcheck"
        assert svc.get("restart") == "unless-stopped"
    for dep, cond in (svc.get("depends_on") or {}).items():
        assert cond["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)
        if cond["condition"] == "service_completed_successfully":
            assert one_shot(SERVICES[dep])
    assert set(svc.get("ports", [])) <= ALLOWED_PORTS.get(name, set()), f"{name} publishes {svc.get('ports')}"
    assert "network_mode" not in svc and "expose" not in svc


def test_stores_are_never_published() -> None:
    for name in ("postgres", "minio", "meilisearch", "app", "worker", "migrate"):
        assert not SERVICES[name].get("ports"), name


def test_no_secret_is_written_inline() -> None:
    for name, svc in SERVICES.items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use a mapping"
        for key, value in env.items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), f"{name}: {key} must come from .env"
        for arg in svc.get("command") or []:
            if SECRET_NAME.search(str(arg).split("=")[0]):
                assert "${" in str(arg), f"{name}: secret in command {arg!r}"


def test_interpolated_variables_are_documented() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (REPO_ROOT / ".env.example").read_text(), re.MULTILINE))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]+)", text))
    assert used and used <= documented, used - documented


def test_volumes_are_named_or_read_only_binds() -> None:
    declared = set(COMPOSE["volumes"])
    for name, svc in SERVICES.items():
        for mount in svc.get("volumes", []):
            source, _, rest = mount.partition(":")
            if source.startswith((".", "/")):
                assert rest.endswith(":ro"), f"{name}: bind mount {mount} must be read-only"
                if source.startswith("./"):
                    assert (REPO_ROOT / source).exists(), f"{name}: {source} missing from the repo"
            else:
                assert source in declared, f"{name}: volume {source} not declared"


def test_nginx_is_the_only_trusted_proxy() -> None:
    nginx_ip = SERVICES["nginx"]["networks"]["backend"]["ipv4_address"]
    assert SERVICES["app"]["environment"]["FORWARDED_ALLOW_IPS"] == nginx_ip
    subnet = COMPOSE["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    assert nginx_ip.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0]


def test_turn_relay_range_matches_coturn_config() -> None:
    conf = (REPO_ROOT / "scripts/coturn/turnserver.conf").read_text()
    low = re.search(r"^min-port=(\d+)", conf, re.MULTILINE)
    high = re.search(r"^max-port=(\d+)", conf, re.MULTILINE)
    assert low and high
    assert f"{low[1]}-{high[1]}:{low[1]}-{high[1]}/udp" in SERVICES["coturn"]["ports"]


def test_postgres_initialised_from_sql_dir() -> None:
    assert "./sql/init:/docker-entrypoint-initdb.d:ro" in SERVICES["postgres"]["volumes"]
    assert sorted(p.name for p in (REPO_ROOT / "sql/init").iterdir())


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "scripts/docker/minio.Dockerfile"])
def test_dockerfiles_pin_bases_and_drop_root(dockerfile: str) -> None:
    text = (REPO_ROOT / dockerfile).read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE) + re.findall(r"COPY --from=(\S+:\S+)", text)
    assert bases
    for base in bases:
        assert PINNED_IMAGE.match(base) and "latest" not in base, base
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    if "minio" in dockerfile:
        assert re.search(r"go install .*github.com/minio/minio@\$\{MINIO_VERSION\}", text)
        assert "MINIO_VERSION=RELEASE." in text


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    assert {".env", ".git", "var/", "tests/"} <= ignored


def test_compose_paths_exist(tmp_path: Path) -> None:
    for name in ("scripts/render-nginx", "nginx/echoel.conf.template", "scripts/docker/minio.Dockerfile"):
        assert (REPO_ROOT / name).exists(), name
