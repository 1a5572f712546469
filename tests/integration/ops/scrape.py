"""Reading /metrics in tests: one sample's value out of Prometheus' text format."""

from __future__ import annotations

import httpx

_ABSENT = object()


def sample(text: str, name: str, default: float | object = _ABSENT, **labels: str) -> float:
    """The value of one sample (labels must include those given); ``default`` when there is none.

    A labelled counter shows no sample until something counts under those labels, so tests that
    compare before and after pass ``default=0.0``.
    """
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            return float(value)
    if isinstance(default, float):
        return default
    raise AssertionError(f"no sample {name} {labels}")


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    return r.text
