"""stripe-mock (Stripe's own API test server) for tests."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.services.binaries import ServerProcess, find_binary, free_ports, port_accepts

TEST_API_KEY = "sk_test_123"


class StripeMock(ServerProcess):
    """stripe-mock on 127.0.0.1, plain HTTP.

    Attributes once started: ``url`` ("http://127.0.0.1:PORT"), ``port``, ``https_port``.
    Use it with ``stripe.api_base = url`` and any ``sk_test_...`` key.
    """

    name = "stripe-mock"
    startup_timeout = 30.0

    def __init__(self) -> None:
        super().__init__()
        self.binary = find_binary("stripe-mock")
        self.port = 0
        self.https_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _allocate(self) -> None:
        self.port, self.https_port = free_ports(2)

    def _command(self) -> list[str]:
        # Explicit addresses: `-http-port` alone binds every interface, and without any HTTPS
        # flag some versions also open HTTPS on the default 12112.
        return [
            self.binary,
            "-http-addr",
            f"127.0.0.1:{self.port}",
            "-https-addr",
            f"127.0.0.1:{self.https_port}",
        ]

    def _ready(self) -> bool:
        if not port_accepts(self.port):
            return False
        request = urllib.request.Request(
            f"{self.url}/v1/customers",
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError:
            return True  # it answered over HTTP; it is up
        except (urllib.error.URLError, OSError):
            return False
