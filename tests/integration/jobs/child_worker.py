"""A worker in its own process: ``python -m tests.integration.jobs.child_worker URL DIR [POLL [SLOTS]]``.

Its ``test.slow`` handler writes ``DIR/started-<job id>`` and then hangs, holding the lease, until
the test kills the process with SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.core import db
from app.jobs.registry import JobContext, Registry
from app.jobs.worker import Worker

LEASE_SECONDS = 3.0


async def main(url: str, folder: Path, poll_seconds: float, concurrency: int) -> None:
    engine = db.make_engine(url)
    db.bind_tables(engine)
    await db.start(engine)
    registry = Registry()

    @registry.register("test.slow")
    async def slow(job: JobContext) -> None:
        (folder / f"started-{job.id}").write_text(str(job.attempt))
        await asyncio.sleep(3600)

    worker = Worker(registry=registry, concurrency=concurrency, lease_seconds=LEASE_SECONDS, poll_seconds=poll_seconds)
    (folder / "worker-id").write_text(worker.id)
    await worker.run()


if __name__ == "__main__":
    poll, slots = (float(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0.1, 1)
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), poll, slots))
