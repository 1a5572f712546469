"""The ``jobs`` table: one row per background job, shared by every worker process.

Times are milliseconds since the epoch (``_ms``): backoff and leases need finer steps than the
whole seconds other tables use.
"""

from __future__ import annotations

from piccolo.columns import JSON, BigInt, Integer, Serial, Text, Varchar
from piccolo.table import Table


class Job(Table, tablename="jobs"):
    id = Serial(primary_key=True)
    kind = Varchar(length=100)
    payload = JSON(default="{}")
    # queued (waiting or running), done, dead (gave up; last_error says why).
    status = Varchar(length=8, default="queued", index=True)
    run_at_ms = BigInt(index=True)
    attempts = Integer(default=0)
    max_attempts = Integer(default=5)
    # Which worker holds the job and until when; an expired lease means the worker is gone.
    locked_by = Varchar(length=64, null=True, default=None)
    locked_until_ms = BigInt(null=True, default=None)
    last_error = Text(default="")
    # Optional caller-chosen key: enqueueing the same key twice makes one job.
    dedupe_key = Varchar(length=200, null=True, default=None, unique=True)
    created_at_ms = BigInt()
    done_at_ms = BigInt(null=True, default=None)
