"""A real coturn `turnserver` on loopback, configured as docs/deploy.md tells a deployment to (TURN REST
secret), for tests of clients whose network blocks UDP."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers.server import free_port, stop_process, wait_for_port

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
HAVE_TURNSERVER = Path(TURNSERVER).exists()
NO_TURNSERVER = "coturn's turnserver is not installed (scripts/install-system-deps.sh installs it as root)"


class TurnServer:
    """coturn on 127.0.0.1:<free port>, UDP and TCP, relaying to loopback peers (the SFU under test)."""

    def __init__(self, secret: str, log_dir: Path) -> None:
        self.secret = secret
        self.port = free_port()
        self.log = log_dir / "turnserver.log"
        relay_low = 49152 + (self.port % 1000) * 10
        self._proc = subprocess.Popen(
            [
                TURNSERVER, "-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
                "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(self.port),
                "--min-port", str(relay_low), "--max-port", str(relay_low + 9),
                "--use-auth-secret", f"--static-auth-secret={secret}", "--realm", "vaidya.test",
                "--allow-loopback-peers", "--userdb", str(log_dir / "turndb"), "--log-file", str(self.log), "--simple-log", "--verbose",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self._proc, "turnserver", timeout=10)

    @property
    def urls(self) -> str:
        """The `turn_urls` setting for this relay: TCP only, as a network that blocks UDP leaves it."""
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    def log_text(self) -> str:
        # coturn appends a date to --log-file names unless --simple-log; read whatever it wrote
        paths = sorted(self.log.parent.glob(self.log.stem + "*"))
        return "".join(p.read_text(errors="replace") for p in paths)

    def stop(self) -> None:
        stop_process(self._proc)
