"""Edge benchmark: the app behind the repo's real nginx config (rendered for local ports).

Run: ``uv run python scripts/bench/edge.py [--seconds 8] [--rounds 5]``. Starts a fresh SQLite
database, the app (``echoel run``, 2 workers) and nginx, then prints in one run:

1. requests/s of a cached public GET (a published listing's JSON, served from nginx's proxy cache)
   vs nginx serving a static file of exactly the same size: the goal is a ratio >= 0.8, i.e.
   the cache costs little more than sendfile. The two alternate (static, cached, static, ...)
   for ``--rounds`` rounds after a warm-up; each round's figures are printed with how nginx's
   access log says the cached requests were answered (HIT, UPDATING, STALE, MISS, ...), then
   the medians and the median of the per-round ratios. wrk sends no Accept-Encoding, so
   neither answer is gzipped: both are the same bytes through the same sendfile path.
   wrk corrects its latencies for coordinated omission (each stalled request also counts the
   requests its connection would have sent meanwhile), so a few dozen requests held 500 ms by
   nginx's cache lock on a missing entry show as a p99 of ~400 ms.
2. the same public GET uncached (an authenticated request bypasses the cache) at 200 concurrent
   connections through nginx: p50/p99 latency and requests/s, next to the app reached directly.

Nothing here asserts: it prints figures for the issue note.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from scripts.bench._load import median  # noqa: E402
from tests.integration.edge.stack import EdgeNginx  # noqa: E402
from tests.services.binaries import free_port  # noqa: E402
from tests.support import LiveApp, run_cli, test_env  # noqa: E402


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    """requests/s and latency percentiles (ms) from ``wrk --latency`` (2 threads)."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        print(f"   warning, wrk saw errors against {url}:\n{out}")
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for pct in ("50", "99"):
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        result[f"p{pct}"] = float(found[1]) * units[found[2]] if found else float("nan")
    return result


def publish_listing(base: str, auth: dict[str, str]) -> str:
    """A published listing with a real-sized description and tags; its public JSON's path."""
    listing = {
        "kind": "preset_bank",
        "title": "Analog Dreams Vol. 2",
        "description_md": "Warm evolving pads, plucks and basses for Serum. " * 20,
        "tags": ["pad", "pluck", "bass", "analog", "warm"],
        "genre": "synthwave",
        "synth": "Serum",
        "bpm": 110,
    }
    made = httpx.post(f"{base}/api/v1/listings/", json=listing, headers=auth)
    assert made.status_code == 201, made.text
    listing_id = made.json()["id"]
    # Publishing needs a file: one preset, uploaded the way the browser does (presigned POST).
    preset = b"FPCh" + bytes(2044)
    body = {"listing_id": listing_id, "version": "1.0", "file_name": "Dreams.fxp", "size": len(preset),
            "content_type": "application/octet-stream"}  # fmt: skip
    presigned = httpx.post(f"{base}/api/v1/uploads", json=body, headers=auth)
    assert presigned.status_code == 201, presigned.text
    form = presigned.json()["post"]
    files = {"file": ("Dreams.fxp", preset, form["fields"]["Content-Type"])}
    sent = httpx.post(httpx.URL(base).join(form["url"]), data=form["fields"], files=files)
    assert sent.status_code in (200, 204), sent.text
    done = httpx.post(f"{base}/api/v1/uploads/{presigned.json()['id']}/complete", headers=auth)
    assert done.status_code == 200, done.text
    published = httpx.post(f"{base}/api/v1/listings/{listing_id}/status", json={"status": "published"}, headers=auth)
    assert published.status_code == 200, published.text
    return f"/api/v1/listings/{listing_id}"


def cache_statuses(access_log: Path, path: str) -> Counter[str]:
    """How nginx answered ``path`` since the log was last emptied ($upstream_cache_status), then empties it.

    The log is buffered (flushed at least once a second), so wait a little longer than that first.
    """
    time.sleep(1.5)
    wanted = f'"GET {path} '.encode()
    counts: Counter[str] = Counter()
    with access_log.open("rb") as log:
        for line in log:
            if wanted in line:
                found = re.search(rb" cache=(\S+)", line)
                counts[found[1].decode() if found else "?"] += 1
    access_log.write_bytes(b"")  # nginx appends (O_APPEND), so it goes on writing at the new end
    return counts


def show_statuses(counts: Counter[str]) -> str:
    return " ".join(f"{status} {n:,}" for status, n in counts.most_common())


def measure_cached_vs_static(nginx: EdgeNginx, path: str, rounds: int, seconds: int) -> None:
    """Alternating rounds (static, cached, static, cached, ...); per-round figures and the medians."""
    static_url, cached_url = nginx.url + "/same-size.json", nginx.url + path
    # Warm-up: wrk's own request (no Accept-Encoding) fills whatever it would miss, files get paged in.
    for url in (static_url, cached_url):
        wrk(url, 2, 64)
    warmup = cache_statuses(nginx.access_log, path)
    print(f"set-up and warm-up (wrk, 2 s each), cached path answered: {show_statuses(warmup)}\n")
    print(f"{'round':<7}{'static req/s':>13}{'p50':>7}{'p99 ms':>8}{'cached req/s':>14}{'p50':>7}{'p99 ms':>8}"
          f"{'ratio':>7}   cached path answered (nginx log)")  # fmt: skip
    static_runs, cached_runs, ratios = [], [], []
    for number in range(1, rounds + 1):
        static = wrk(static_url, seconds, 64)
        cached = wrk(cached_url, seconds, 64)
        counts = cache_statuses(nginx.access_log, path)
        static_runs.append(static)
        cached_runs.append(cached)
        ratios.append(cached["rps"] / static["rps"])
        print(f"{number:<7}{static['rps']:>13,.0f}{static['p50']:>7.2f}{static['p99']:>8.2f}"
              f"{cached['rps']:>14,.0f}{cached['p50']:>7.2f}{cached['p99']:>8.2f}{ratios[-1]:>7.2f}"
              f"   {show_statuses(counts)}")  # fmt: skip
    med = {
        key: (median([r[key] for r in static_runs]), median([r[key] for r in cached_runs]))
        for key in ("rps", "p50", "p99")
    }
    print(f"{'median':<7}{med['rps'][0]:>13,.0f}{med['p50'][0]:>7.2f}{med['p99'][0]:>8.2f}"
          f"{med['rps'][1]:>14,.0f}{med['p50'][1]:>7.2f}{med['p99'][1]:>8.2f}{median(ratios):>7.2f}")  # fmt: skip
    verdict = "met" if median(ratios) >= 0.8 else "NOT met"
    print(f"\ncached / static ratio, median of {rounds} rounds: {median(ratios):.2f}  (goal >= 0.8: {verdict})\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="alternating static/cached rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = test_env(
            f"sqlite:///{folder / 'bench.db'}",
            folder / "var",
            ECHOEL_AUTH_REQUESTS_PER_MINUTE="100000",
            ECHOEL_LOG_LEVEL="error",
        )
        assert run_cli(["migrate"], env).returncode == 0
        made = run_cli(
            ["create-admin", "--email", "bench@example.com", "--handle", "bench", "--password-stdin"],
            env,
            "bench password 1",
        )
        assert made.returncode == 0, made.stderr
        app_port = free_port()
        # The access log stays on (buffered, as in production): it tells how each request was answered.
        nginx = EdgeNginx(folder / "nginx", app_port, NGINX_AUTH_RATE="100000r/m")
        app = LiveApp(env, workers=2)
        app.port, app.url = app_port, f"http://127.0.0.1:{app_port}"
        with app, nginx:
            token = httpx.post(
                f"{app.url}/api/v1/auth/login", json={"email": "bench@example.com", "password": "bench password 1"}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            path = publish_listing(app.url, auth)
            probe = httpx.get(nginx.url + path)
            assert probe.status_code == 200, probe.text
            assert "public" in probe.headers.get("cache-control", ""), probe.headers
            body = httpx.get(nginx.url + path).content
            (nginx.static_root / "same-size.json").write_bytes(b"x" * len(body))
            assert httpx.get(nginx.url + path).headers.get("x-cache-status") == "HIT", "not cached"
            assert httpx.get(nginx.url + path, headers=auth).headers.get("x-cache-status") == "BYPASS"

            print(f"edge benchmark: {path} ({len(body)} bytes), nginx {nginx.url}, app {app.url} (2 workers)\n")
            measure_cached_vs_static(nginx, path, args.rounds, args.seconds)
            uncached = wrk(nginx.url + path, args.seconds, 200, auth)
            direct = wrk(app.url + path, args.seconds, 200, auth)

    print(f"{'measure':<52}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    rows = [
        ("uncached GET via nginx (200 conns)", uncached),
        ("uncached GET straight to the app (200 conns)", direct),
    ]
    for label, r in rows:
        print(f"{label:<52}{r['rps']:>10,.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}")
    print(f"\nnginx overhead on uncached p99: {uncached['p99'] - direct['p99']:+.1f} ms")


if __name__ == "__main__":
    main()
