"""The baseline: a bare Litestar hello-world JSON app, served the way ``echoel run`` serves Echoel.

Run as ``python scripts/bench/_hello.py PORT``. The uvicorn arguments mirror app/cli.py's
``cmd_run`` (one worker, proxy headers from 127.0.0.1 only, no access log, log level info, the
default uvloop + httptools), so the only difference measured is the app itself.
"""

from __future__ import annotations

import sys

import uvicorn
from litestar import Litestar, get


@get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar(route_handlers=[hello])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
        access_log=False,
    )
