"""Storage benchmark: presigned uploads/downloads vs the minio SDK, and the presign endpoint's cost.

Run: ``uv run python scripts/bench/storage.py [--size-mib 1024]``. Starts its own MinIO, a fresh
SQLite database and the app (``echoel run`` on S3 storage), then prints, side by side in one run:

1. a file uploaded through the presigned multipart flow (POST /api/v1/uploads, parts PUT straight
   to MinIO, POST .../complete) vs the minio SDK's ``fput_object`` of the same file, with the same
   part size and parallelism; plus the app process's CPU seconds and RSS growth over the flow;
2. requests/s of the presign endpoint vs a plain authenticated JSON endpoint (GET
   /api/v1/account/), both under wrk with requests spread over 50 creators; plus CPU µs per
   signed URL, measured in-process;
3. the file downloaded through the presigned URL the app hands out vs the SDK's ``get_object``.

Nothing here asserts: it prints figures for the issue note.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import urllib3

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.services.minio import MinioServer  # noqa: E402
from tests.services.postgres import PostgresServer  # noqa: E402
from tests.support import LiveApp, run_cli, test_env  # noqa: E402

MiB = 1024 * 1024
PART = 64 * MiB
CREATORS = 50  # accounts the endpoint figures spread their requests over
PARALLEL = 3  # the minio SDK's default for fput_object
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(8 * MiB, left))
            f.write(chunk)
            left -= len(chunk)


# urllib3, the HTTP client the minio SDK itself uses: the comparison is of the paths, not the clients.
POOL = urllib3.PoolManager(maxsize=PARALLEL)


def put_part(url: str, path: Path, offset: int, length: int) -> None:
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read(length)
    r = POOL.request("PUT", url, body=data, timeout=300)
    assert r.status == 200, r.data


def wrk(url: str, seconds: int, variants: list[tuple[dict[str, str], str | None]]) -> float:
    """Requests/s from wrk (2 threads, 16 connections), each request one of ``variants`` at random.

    A variant is (headers, body); a body makes it a JSON POST.
    """

    def lua(text: str) -> str:
        return "[==[" + text + "]==]"

    lines = ["local requests = {}", "init = function()"]
    for headers, body in variants:
        method = "POST" if body is not None else "GET"
        named = {**headers, "Content-Type": "application/json"}
        fields = ", ".join(f"[ {lua(k)} ] = {lua(v)}" for k, v in named.items())  # "[ [==[" : "[[" opens a string
        payload = lua(body) if body is not None else "nil"
        lines.append(f'  requests[#requests + 1] = wrk.format("{method}", nil, {{{fields}}}, {payload})')
    lines += ["end", "request = function() return requests[math.random(#requests)] end"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script.name, url], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(script.name)
    non2xx = next((line for line in out.splitlines() if "Non-2xx" in line), "")
    if non2xx:
        print(f"   warning: {non2xx.strip()}")
    return float(next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1])


def creator(api: httpx.Client) -> tuple[dict[str, str], dict[str, Any]]:
    """A new creator's auth headers and a draft sample pack of theirs."""
    me = {"email": f"b{uuid.uuid4().hex[:8]}@example.com", "handle": f"b{uuid.uuid4().hex[:8]}",
          "password": "correct horse battery staple"}  # fmt: skip
    api.post("/api/v1/auth/signup", json=me).raise_for_status()
    login = {"email": me["email"], "password": me["password"], "refresh_in_body": True}
    token = api.post("/api/v1/auth/login", json=login).json()["access_token"]
    api.post("/api/v1/account/creator", headers={"Authorization": f"Bearer {token}"}).raise_for_status()
    # A new token: the first was minted before the account became a creator.
    auth = {"Authorization": f"Bearer {api.post('/api/v1/auth/login', json=login).json()['access_token']}"}
    listing = api.post("/api/v1/listings", json={"kind": "sample_pack", "title": "Bench"}, headers=auth).json()
    return auth, listing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per transfer (medians)")
    args = parser.parse_args()
    size = args.size_mib * MiB

    with tempfile.TemporaryDirectory() as tmp, MinioServer() as minio, contextlib.ExitStack() as stack:
        from minio import Minio

        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'bench.db'}"
        if args.db == "postgres":
            db_url = stack.enter_context(PostgresServer()).create_database("bench")
        env = test_env(
            db_url,
            folder / "var",
            ECHOEL_STORAGE="s3",
            ECHOEL_S3_ENDPOINT=minio.endpoint,
            ECHOEL_S3_ACCESS_KEY=minio.access_key,
            ECHOEL_S3_SECRET_KEY=minio.secret_key,
            ECHOEL_S3_BUCKET="bench",
            ECHOEL_UPLOAD_QUOTA_BYTES=str(1024 * 1024 * MiB),
            ECHOEL_AUTH_REQUESTS_PER_MINUTE="100000",
            ECHOEL_AUTH_MAX_FAILURES="1000000",  # signups from one address count against it too
        )
        assert run_cli(["migrate"], env).returncode == 0
        sdk = Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False)
        source = folder / "blob.bin"
        print(f"making a {args.size_mib} MiB file of random bytes …", flush=True)
        make_file(source, size)

        with LiveApp(env) as app, httpx.Client(base_url=app.url, timeout=300) as api:
            pid = app.process.pid  # type: ignore[union-attr]
            auth, listing = creator(api)

            # 1. Upload: presigned multipart through the app vs the SDK straight to MinIO, in
            # alternating rounds (medians), so background load hits both sides alike.
            def sdk_upload() -> float:
                start = time.perf_counter()
                sdk.fput_object("bench", "direct/blob.bin", str(source), part_size=PART, num_parallel_uploads=PARALLEL)
                return time.perf_counter() - start

            def presigned_upload() -> tuple[float, float, int, dict[str, Any]]:
                cpu0, rss0 = cpu_seconds(pid), rss_bytes(pid)
                start = time.perf_counter()
                body = {"listing_id": listing["id"], "version": "1.0", "file_name": "blob.bin", "size": size,
                        "content_type": "application/octet-stream"}  # fmt: skip
                out = api.post("/api/v1/uploads", json=body, headers=auth).json()
                with ThreadPoolExecutor(PARALLEL) as pool:
                    jobs = [
                        pool.submit(put_part, p["url"], source, (p["number"] - 1) * out["part_size"], out["part_size"])
                        for p in out["parts"]
                    ]
                    for job in jobs:
                        job.result()
                done = api.post(f"/api/v1/uploads/{out['id']}/complete", headers=auth)
                if done.is_error:
                    raise RuntimeError(f"complete failed: {done.status_code} {done.text}")
                elapsed = time.perf_counter() - start
                return elapsed, cpu_seconds(pid) - cpu0, rss_bytes(pid) - rss0, done.json()

            sdk_runs, presigned_runs, cpu_runs, rss_runs = [], [], [], []
            for _ in range(args.rounds):
                sdk_runs.append(sdk_upload())
                elapsed, cpu_used, rss_growth, completed = presigned_upload()
                presigned_runs.append(elapsed)
                cpu_runs.append(cpu_used)
                rss_runs.append(rss_growth)
            sdk_s, presigned_s = statistics.median(sdk_runs), statistics.median(presigned_runs)
            cpu_used, rss_growth = max(cpu_runs), max(rss_runs)
            parts = math.ceil(size / PART)

            # 3. Download: the presigned URL the app hands out vs the SDK, alternating rounds.
            file_id = completed["file"]["id"]

            def sdk_download() -> float:
                start = time.perf_counter()
                response = sdk.get_object("bench", "direct/blob.bin")
                got = sum(len(c) for c in response.stream(MiB))
                response.close()
                response.release_conn()
                assert got == size
                return time.perf_counter() - start

            def presigned_download() -> float:
                start = time.perf_counter()
                url = api.get(f"/api/v1/listings/{listing['id']}/files/{file_id}/download", headers=auth).json()["url"]
                r = POOL.request("GET", url, preload_content=False, timeout=300)
                got = sum(len(c) for c in r.stream(MiB))
                r.release_conn()
                assert got == size
                return time.perf_counter() - start

            sdk_dl, presigned_dl = [], []
            for _ in range(args.rounds):
                sdk_dl.append(sdk_download())
                presigned_dl.append(presigned_download())
            sdk_dl_s, presigned_dl_s = statistics.median(sdk_dl), statistics.median(presigned_dl)

            # 2. The presign endpoint vs a plain authenticated JSON endpoint, under wrk.
            # Many creators, as on a real site: each presign sums its uploader's pending uploads
            # for the quota, and one account taking thousands of presigns a second would measure
            # that sum over an ever longer list instead of the endpoint.
            creators = [(auth, listing)] + [creator(api) for _ in range(CREATORS - 1)]
            small = [
                (h, f'{{"listing_id": "{item["id"]}", "version": "1.0", "file_name": "p.fxp", "size": 1000, '
                    f'"content_type": "application/octet-stream"}}')
                for h, item in creators
            ]  # fmt: skip
            plain = [(h, None) for h, _ in creators]
            # Alternating rounds, medians: a burst of load from elsewhere hits both sides alike.
            plain_runs, presign_runs = [], []
            for _ in range(args.rounds):
                plain_runs.append(wrk(f"{app.url}/api/v1/account/", args.seconds, plain))
                presign_runs.append(wrk(f"{app.url}/api/v1/uploads", args.seconds, small))
            plain_rps, presign_rps = statistics.median(plain_runs), statistics.median(presign_runs)

        # CPU per signed URL, in this process (signing is pure CPU: no I/O once the region is set).
        from app.storage.s3 import S3Storage
        from tests.support import test_settings

        storage = S3Storage.from_settings(
            test_settings(db_url, folder / "var", **{k: v for k, v in env.items() if k.startswith("ECHOEL_S3")})
        )
        n = 2000
        timings = {}
        for name, fn in {
            "POST policy": lambda: storage.presign_post(
                "listings/a/1.0/b/c.bin", "application/zip", MiB, timedelta(hours=1)
            ),
            "part PUT URL": lambda: storage.presign_part("listings/a/1.0/b/c.bin", "upload-id", 7, timedelta(hours=1)),
            "download GET URL": lambda: storage.presign_get("listings/a/1.0/b/c.bin", "Pads.zip", timedelta(minutes=5)),
        }.items():
            fn()
            t0 = time.process_time()
            for _ in range(n):
                fn()
            timings[name] = (time.process_time() - t0) / n * 1e6

    gib = size / (1024 * MiB)
    print(
        f"\n== upload of {args.size_mib} MiB ({parts} parts of {PART // MiB} MiB, {PARALLEL} at once;"
        f" median of {args.rounds}) =="
    )
    print(f"  minio SDK fput_object       {sdk_s:7.2f} s  {gib / sdk_s * 1024:7.1f} MiB/s")
    print(f"  presigned multipart via app {presigned_s:7.2f} s  {gib / presigned_s * 1024:7.1f} MiB/s")
    print(f"  ratio (presigned / SDK throughput) {sdk_s / presigned_s:.2f}   (goal >= 0.8)")
    print(
        f"  app process per flow (worst round): {cpu_used:.2f} s CPU (goal <= 1),"
        f" RSS {rss_growth / MiB:+.1f} MiB (goal <= 5)"
    )
    print(
        f"\n== presign endpoint vs plain JSON endpoint (wrk, 16 connections, {CREATORS} creators, {args.db};"
        f" median of {args.rounds}) =="
    )
    print(f"  GET /api/v1/account/   {plain_rps:8.0f} req/s")
    print(f"  POST /api/v1/uploads   {presign_rps:8.0f} req/s")
    print(f"  ratio {presign_rps / plain_rps:.2f}   (goal >= 0.5)")
    for name, us in timings.items():
        print(f"  CPU per {name:<16} {us:6.1f} µs   (goal <= 50)")
    print(f"\n== download of {args.size_mib} MiB (median of {args.rounds}) ==")
    print(f"  minio SDK get_object        {sdk_dl_s:7.2f} s  {gib / sdk_dl_s * 1024:7.1f} MiB/s")
    print(f"  presigned URL from the app  {presigned_dl_s:7.2f} s  {gib / presigned_dl_s * 1024:7.1f} MiB/s")
    print(f"  ratio (presigned / SDK throughput) {sdk_dl_s / presigned_dl_s:.2f}   (goal >= 0.9)")


if __name__ == "__main__":
    main()
