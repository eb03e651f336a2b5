"""A redis-server of our own on a free loopback port (the failover bench and the multi-node tests use it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """Started at once; `stop` then `start` restarts it empty on the same port (nothing is saved)."""

    def __init__(self, directory: Path | None = None) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (scripts/install-system-deps.sh installs it)")
        self._temporary = tempfile.TemporaryDirectory(prefix="vaidya-redis-") if directory is None else None
        self.directory = Path(self._temporary.name) if self._temporary else directory
        self.directory.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start within 10 s")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        """Stop it and remove its directory if it made one."""
        self.stop()
        if self._temporary is not None:
            self._temporary.cleanup()
