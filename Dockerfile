# The Echoel app image: the web app, the job worker and the seeder all run from it
# (`echoel run`, `echoel worker`, `echoel seeder`). Dependencies come from uv.lock, unchanged.
FROM python:3.11.11-slim-bookworm AS base

# uv, pinned: the same resolver and lock format as development.
COPY --from=ghcr.io/astral-sh/uv:0.5.11 /uv /uvx /usr/local/bin/

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# pg_dump/pg_restore for `echoel backup`/`restore`; the major version matches the compose server (15).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/echoel

# Dependencies first (cached until the lock changes), then the code.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY static ./static
COPY sql ./sql
COPY README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# A fixed non-root user; named volumes for var/ are created owned by it.
RUN groupadd --system --gid 10001 echoel \
    && useradd --system --uid 10001 --gid echoel --home-dir /srv/echoel --shell /usr/sbin/nologin echoel \
    && mkdir -p /srv/echoel/var && chown echoel:echoel /srv/echoel/var
USER echoel

ENV ECHOEL_VAR_DIR=/srv/echoel/var \
    ECHOEL_HOST=0.0.0.0 \
    ECHOEL_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["echoel", "run"]
