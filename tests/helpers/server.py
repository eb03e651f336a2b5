"""Running a real Vaidya server for tests: in this process (aiohttp test server) or in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from signaling.grants import mint_token

SECRET = "test-secret-" + "x" * 40


def token(room: str, identity: str, role: str = "patient", **kw: object) -> str:
    return mint_token(SECRET, room=room, identity=identity, role=role, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Ask a helper process to end; kill it if it has not after `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float) -> None:
    """Until something listens on the loopback `port`; fail at once if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"{what} exited:\n{output}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


class ServerProcess:
    """`vaidya serve` (or a wrapper script) in a child process, on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        script: Path | None = None,
        extra_env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        # no SMS gateway in tests: codes go to the log unless a test says otherwise (VAIDYA_SMS_LOG_OTPS=0)
        env = {**os.environ, "VAIDYA_SECRET": SECRET, "VAIDYA_SMS_LOG_OTPS": "1", **(extra_env or {})}
        args = [str(script)] if script else ["-m", "signaling.cli"]
        self.proc = subprocess.Popen(
            [sys.executable, *args, "serve", "--port", str(self.port), "--data-dir", str(data_dir),
             *(extra_args if "--workers" in extra_args else ("--workers", "0", *extra_args))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for_port(self.port, self.proc, "server", 30.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> str:
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out or ""


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, made by openssl as an operator would; returns (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key
