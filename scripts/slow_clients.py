"""Seconds until `vaidya serve` closes each kind of slow client, on real sockets (docs/security.md).

    PYTHONPATH=. .venv/bin/python scripts/slow_clients.py [IDLE_TIMEOUT_S]

Starts a server in its own process with that `http_idle_timeout_s` (default 2) and prints one line per
case. The assertions live in tests/signaling/test_http_timeouts.py; this prints the figures."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.helpers.server import ServerProcess
from tests.signaling.test_http_timeouts import FORM_HEAD, watch

CASES = {
    "silent connection": (b"", b""),
    "half a header": (b"GET /portal/ HTTP/1.1\r\nHost: x\r\n", b""),
    "header dripped a byte per 0.3 s": (b"GET /portal/ HTTP/1.1\r\n", b"X"),
    "header, then part of the body": (FORM_HEAD % 100 + b"mobile=98", b""),
    "idle after a reply": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b""),
}


def main() -> None:
    idle = sys.argv[1] if len(sys.argv) > 1 else "2"
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", extra_env={"VAIDYA_HTTP_IDLE_TIMEOUT_S": idle})
        try:
            for name, (first, drip) in CASES.items():
                closed_after, _ = watch(server, first, drip, limit_s=6 * float(idle))
                shown = f"still open after {6 * float(idle):.0f} s" if closed_after is None else f"closed after {closed_after:.3f} s"
                print(f"{name}: {shown}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
