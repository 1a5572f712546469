"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from app.core import db
from app.core.http import NO_STORE


class HealthController(Controller):
    tags = ["ops"]
    opt = {"public": True}

    @get("/healthz", response_headers=NO_STORE)
    async def healthz(self) -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}

    @get("/readyz", response_headers=NO_STORE)
    async def readyz(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Every configured backend answers; 503 names the ones that do not."""
        checks: dict[str, str] = {}
        try:
            await db.ping(request.app.state.engine)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; say which kind
            checks["database"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        return Response(body, status_code=200 if ready else 503, headers=NO_STORE)
