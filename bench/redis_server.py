"""A redis-server of our own on a free loopback port (the failover bench and the multi-node tests use it),
and a primary + replica watched by three sentinels (`RedisSentinels`, the Sentinel tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """Started at once; `stop` then `start` restarts it empty on the same port (nothing is saved).
    `leading` goes before the options (a config file, `--sentinel`), `options` after them."""

    def __init__(self, directory: Path | None = None, leading: tuple[str, ...] = (),
                 options: tuple[str, ...] = ()) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (scripts/install-system-deps.sh installs it)")
        self._temporary = tempfile.TemporaryDirectory(prefix="vaidya-redis-") if directory is None else None
        self.directory = Path(self._temporary.name) if self._temporary else directory
        self.directory.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.leading, self.options = leading, options
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.proc = subprocess.Popen(
            [REDIS_SERVER, *self.leading, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--save", "", "--appendonly", "no", *self.options],
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


class RedisSentinels:
    """A primary, one replica (`--replicaof`) and three sentinels (quorum 2) watching them as `MASTER`, each on
    a free loopback port under `directory`; quick to fail over (`down_after_ms`). `url` is the
    `redis+sentinel://` URL a node is given. With `password`, every one of them requires it."""

    MASTER = "vaidya"

    def __init__(self, directory: Path, down_after_ms: int = 1000, failover_timeout_ms: int = 4000,
                 password: str | None = None) -> None:
        self.password = password
        auth = ("--requirepass", password, "--masterauth", password) if password else ()
        self.primary = RedisServer(directory / "primary", options=auth)
        self.replica = RedisServer(directory / "replica",
                                   options=("--replicaof", "127.0.0.1", str(self.primary.port), *auth))
        self.sentinels: list[RedisServer] = []
        for index in range(3):
            home = directory / f"sentinel{index}"
            home.mkdir(parents=True, exist_ok=True)
            conf = home / "sentinel.conf"  # a sentinel rewrites its own file as it learns
            conf.write_text(f"sentinel monitor {self.MASTER} 127.0.0.1 {self.primary.port} 2\n"
                            f"sentinel down-after-milliseconds {self.MASTER} {down_after_ms}\n"
                            f"sentinel failover-timeout {self.MASTER} {failover_timeout_ms}\n"
                            + (f'sentinel auth-pass {self.MASTER} "{password}"\nrequirepass "{password}"\n'
                               if password else ""))
            self.sentinels.append(RedisServer(home, leading=(str(conf), "--sentinel")))

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        if self.password:
            return f"redis+sentinel://:{self.password}@{hosts}/{self.MASTER}?sentinel_password={self.password}"
        return f"redis+sentinel://{hosts}/{self.MASTER}"

    def _ask(self, sentinel: RedisServer, *command: str) -> object:
        import redis

        client = redis.Redis(port=sentinel.port, password=self.password, socket_timeout=1.0, decode_responses=True)
        try:
            return client.execute_command(*command)
        finally:
            client.close()

    def primary_port(self) -> int | None:
        """The port the first answering sentinel names as the primary's."""
        import redis

        for sentinel in self.sentinels:
            if sentinel.proc is None:
                continue
            try:
                return int(self._ask(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.MASTER)[1])
            except redis.RedisError:
                continue
        return None

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Until every sentinel knows the replica and the two other sentinels (a failover needs both)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            views = [self._ask(s, "SENTINEL", "MASTER", self.MASTER) for s in self.sentinels]  # parsed: a dict
            if all(int(v["num-slaves"]) == 1 and int(v["num-other-sentinels"]) == 2 for v in views):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the sentinels did not discover each other and the replica within {timeout:.0f} s")

    def close(self) -> None:
        for server in (*self.sentinels, self.replica, self.primary):
            server.close()
