"""stripe-mock with its own fixtures, amended so a retrieved Checkout Session reads as paid.

stripe-mock is stateless: it answers every retrieve with its bundled fixture, where a session is
``unpaid`` and the balance transaction's fee is 0. To exercise the success page's confirm path
and the fee arithmetic, we start it with a copy of its own bundled fixtures (from the module the
binary was built from, in Go's module cache) where the session is ``paid``/``complete`` and the
fee is an awkward number of cents. Everything else is stripe-mock's unchanged behaviour.
"""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
from pathlib import Path

from tests.services.stripe_mock import StripeMock

FEE = 317  # cents; odd on purpose, so pro-rata allocation has remainders to place


def bundled_fixtures() -> Path:
    """stripe-mock's own fixtures3.json from Go's module cache (downloaded there if missing)."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise RuntimeError("stripe-mock's fixtures are read from Go's module cache: install Go")
    cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    pattern = f"{cache}/github.com/stripe/stripe-mock@*/embedded/openapi/fixtures3.json"
    found = sorted(glob.glob(pattern))
    if not found:
        subprocess.run([go, "mod", "download", "github.com/stripe/stripe-mock@latest"], check=True)
        found = sorted(glob.glob(pattern))
    if not found:
        raise RuntimeError(f"stripe-mock fixtures not found at {pattern}")
    return Path(found[-1])


class PaidStripeMock(StripeMock):
    """stripe-mock whose sessions read back as paid and whose fee is ``FEE``."""

    def _prepare(self) -> None:
        assert self.tmpdir is not None
        data = json.loads(bundled_fixtures().read_text())
        resources = data["resources"]
        resources["checkout.session"].update(payment_status="paid", status="complete")
        resources["balance_transaction"].update(fee=FEE, net=resources["balance_transaction"]["amount"] - FEE)
        self.fixtures = self.tmpdir / "fixtures.json"
        self.fixtures.write_text(json.dumps(data))

    def _command(self) -> list[str]:
        return [*super()._command(), "-fixtures", str(self.fixtures)]
