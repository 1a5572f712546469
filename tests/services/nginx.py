"""A real nginx for tests, running a caller-supplied nginx.conf in a temp prefix."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.services.binaries import ServerProcess, find_binary, free_port, port_accepts

_TEMP_PATH_DIRECTIVES = {
    "client_body_temp_path": "client_body",
    "proxy_temp_path": "proxy",
    "fastcgi_temp_path": "fastcgi",
    "uwsgi_temp_path": "uwsgi",
    "scgi_temp_path": "scgi",
}


def render_conf(template: str, prefix: str | Path, port: int, **values: object) -> str:
    """Substitute ``{prefix}`` (the temp dir), ``{port}`` and any ``{name}`` in ``values``.

    Only those exact placeholders are replaced, so nginx's own ``{ }`` blocks need no escaping.
    """
    text = template.replace("{prefix}", str(prefix)).replace("{port}", str(port))
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _has_main_directive(text: str, directive: str) -> bool:
    return re.search(rf"^\s*{directive}\s", text, flags=re.MULTILINE) is not None


def _add_temp_paths(text: str, prefix: Path) -> str:
    """Point the http-level temp paths into the prefix (Debian compiles in /var/lib/nginx)."""
    missing = [d for d in _TEMP_PATH_DIRECTIVES if not re.search(rf"\b{d}\b", text)]
    if not missing:
        return text
    lines = "".join(f"\n    {d} {prefix / 'temp' / _TEMP_PATH_DIRECTIVES[d]};" for d in missing)
    new_text, count = re.subn(r"\bhttp\s*\{", lambda m: m.group(0) + lines, text, count=1)
    return new_text if count else text


class Nginx(ServerProcess):
    """nginx run as ``nginx -p <tmp> -c <tmp>/nginx.conf -g 'daemon off; ...'``.

    ``conf_text_template`` is a full nginx.conf; ``{prefix}`` becomes the temp dir, ``{port}``
    a free port (the one readiness is checked on) and ``{name}`` any key of ``values``.
    The class adds, unless the config sets them: ``pid`` and the error log inside the temp dir,
    the http temp paths inside the temp dir, and ``user root`` when running as root (so the
    workers can read mkdtemp's 0700 dirs).

    Attributes once started: ``port``, ``url`` ("http://127.0.0.1:PORT"), ``prefix``,
    ``conf_text`` (the rendered config).
    """

    name = "nginx"
    startup_timeout = 15.0

    def __init__(self, conf_text_template: str, **values: object) -> None:
        super().__init__()
        self.binary = find_binary("nginx")
        self.template = conf_text_template
        self.values = values
        self.port = 0
        self.conf_text = ""

    @property
    def prefix(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def conf_path(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def pid_path(self) -> Path:
        """Where the master writes its pid, unless the config sets ``pid`` itself."""
        return self.prefix / "nginx.pid"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def _allocate(self) -> None:
        self.port = free_port()

    def _prepare(self) -> None:
        (self.prefix / "logs").mkdir(exist_ok=True)
        for sub in _TEMP_PATH_DIRECTIVES.values():
            (self.prefix / "temp" / sub).mkdir(parents=True, exist_ok=True)
        text = render_conf(self.template, self.prefix, self.port, **self.values)
        self.conf_text = _add_temp_paths(text, self.prefix)
        self.conf_path.write_text(self.conf_text)

    def _command(self) -> list[str]:
        globals_ = ["daemon off;"]
        if not _has_main_directive(self.conf_text, "pid"):
            globals_.append(f"pid {self.pid_path};")
        if not _has_main_directive(self.conf_text, "error_log"):
            globals_.append(f"error_log {self.error_log} info;")
        if os.geteuid() == 0 and not _has_main_directive(self.conf_text, "user"):
            globals_.append("user root;")
        return [
            self.binary,
            "-p",
            f"{self.prefix}/",
            "-e",
            str(self.error_log),  # log used before the config is read (default: /var/log/...)
            "-c",
            str(self.conf_path),
            "-g",
            " ".join(globals_),
        ]

    def _ready(self) -> bool:
        return port_accepts(self.port)

    def _extra_logs(self) -> list[Path]:
        return [self.error_log]
