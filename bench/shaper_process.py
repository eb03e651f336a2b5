"""Runs the shaping relay in a process of its own and controls it over sockets.

The relay's CPU (tens of µs per packet) must not land on the server or the load generator it sits
between, so it gets its own process (`python -m bench.shaper_process FD PATH`) with a uvloop event loop.
Control calls are short synchronous round trips of pickled tuples (well under a millisecond when the
relay is not saturated): the owner talks over a socket pair (`ShaperProcess`); load-generator worker
processes connect to the relay's Unix socket at `control_path` (`ShaperClient`). A plain subprocess
rather than `multiprocessing` keeps it independent of how the parent was started.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Any

import psutil

from bench.profiles import LinkProfile
from bench.shaper import Addr, Relay

START_TIMEOUT = 20.0
CALL_TIMEOUT = 10.0


class ShaperError(RuntimeError):
    """The relay process refused a command or stopped answering."""


def _serve(owner: Connection, control_path: str) -> None:
    """Child process: run the relay and answer commands until the owner says stop or goes away."""
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop = asyncio.new_event_loop()
    relay = Relay(loop)

    def handle(command: str, args: tuple[Any, ...]) -> Any:
        if command == "add_link":
            up, down, seed = args
            return relay.add_link(LinkProfile(**up), LinkProfile(**down) if down else None, seed)
        if command == "route":
            return relay.link(args[0]).route(tuple(args[1]))
        if command == "expose":
            return relay.link(args[0]).expose(tuple(args[1]))
        if command == "set_profile":
            up, down = args[1], args[2]
            return relay.set_profile(args[0], LinkProfile(**up), LinkProfile(**down) if down else None)
        if command == "stats":
            return relay.link(args[0]).stats()
        if command == "close_link":
            return relay.close_link(args[0])
        raise ValueError(f"unknown command {command!r}")

    def on_command(conn: Connection, is_owner: bool) -> None:
        while True:
            try:
                if not conn.poll():
                    return
                command, args = conn.recv()
            except (EOFError, OSError):
                loop.remove_reader(conn.fileno())
                if is_owner:
                    loop.stop()
                conn.close()
                return
            if command == "stop" and is_owner:
                conn.send(("ok", None))
                loop.stop()
                return
            try:
                conn.send(("ok", handle(command, args)))
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
                conn.send(("error", f"{type(exc).__name__}: {exc}"))

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control_path)
    listener.listen(64)
    listener.setblocking(False)

    def on_connect() -> None:
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(True)
        conn = Connection(sock.detach())
        loop.add_reader(conn.fileno(), on_command, conn, False)

    loop.add_reader(listener.fileno(), on_connect)
    loop.add_reader(owner.fileno(), on_command, owner, True)
    owner.send(("ok", "ready"))
    try:
        loop.run_forever()
    finally:
        relay.close()
        listener.close()
        loop.close()


class ShaperControl:
    """Commands to a relay process: create links, get relay addresses, read what each link did."""

    name = "python-udp-relay"

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def _alive(self) -> bool:
        return True

    def _call(self, command: str, *args: Any) -> Any:
        with self._lock:
            if not self._alive():
                raise ShaperError("the shaper process has exited")
            try:
                self._conn.send((command, args))
                if not self._conn.poll(CALL_TIMEOUT):
                    raise ShaperError(f"the shaper process did not answer {command!r}")
                status, value = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise ShaperError(f"lost the shaper process: {exc}") from None
        if status != "ok":
            raise ShaperError(value)
        return value

    def add_link(self, up: LinkProfile, down: LinkProfile | None = None, seed: int | None = None) -> int:
        """A new shaped link; `down` defaults to the same profile as `up`."""
        return int(self._call("add_link", up.to_dict(), down.to_dict() if down else None, seed))

    def route(self, link: int, server: Addr) -> Addr:
        """Relay address through which the link's client reaches `server`."""
        host, port = self._call("route", link, tuple(server))
        return host, port

    def expose(self, link: int, client: Addr) -> Addr:
        """Relay address under which the server will see `client`."""
        host, port = self._call("expose", link, tuple(client))
        return host, port

    def set_profile(self, link: int, up: LinkProfile, down: LinkProfile | None = None) -> None:
        """Reshape a live link from now on (a link schedule); `down` defaults to the same profile as `up`."""
        self._call("set_profile", link, up.to_dict(), down.to_dict() if down else None)

    def stats(self, link: int) -> dict[str, Any]:
        """What the link did per direction (`Link.stats()`): each profile it had is its own segment."""
        return dict(self._call("stats", link))

    def close_link(self, link: int) -> None:
        self._call("close_link", link)

    def close(self) -> None:
        self._conn.close()


class ShaperClient(ShaperControl):
    """Another process's handle on a running relay, through its `control_path`."""

    def __init__(self, control_path: str) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(control_path)
        except OSError as exc:
            sock.close()
            raise ShaperError(f"cannot reach the shaper at {control_path}: {exc}") from None
        super().__init__(Connection(sock.detach()))


class ShaperProcess(ShaperControl):
    """Starts and owns the relay process."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="vaidya-shaper-")
        self.control_path = os.path.join(self._dir.name, "control")
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.shaper_process", str(child.fileno()), self.control_path],
            pass_fds=[child.fileno()],
        )
        child.close()
        super().__init__(Connection(parent.detach()))
        try:
            if not self._conn.poll(START_TIMEOUT):
                raise ShaperError("no answer")
            self._conn.recv()
        except (EOFError, OSError, ShaperError) as exc:
            self._process.kill()
            self._process.wait()
            self._dir.cleanup()
            raise ShaperError(f"the shaper process did not start: {exc}") from None
        self._ps = psutil.Process(self._process.pid)

    @property
    def pid(self) -> int:
        return self._process.pid

    def _alive(self) -> bool:
        return self._process.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU the relay process has used so far."""
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._call("stop")
                self._process.wait(5)
            except (ShaperError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait(5)
        super().close()
        self._dir.cleanup()

    def __enter__(self) -> ShaperProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), sys.argv[2])
