"""Load-generator worker processes (`--workers K`): each runs a `ClientGroup` for the coordinator.

One Python process decodes and measures on one core at most; spreading the synthetic clients over K
processes keeps a saturated generator from passing for a slow server. A worker is
`python -m bench.worker FD CONFIG`: it answers JSON-line requests on the socket FD (never stdout, which
libraries may write to). Requests mirror `ClientGroup`'s methods: add, settle, open, tick, close_window,
quit. Shaped links are created through the relay's control socket (`ShaperClient`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from typing import Any

import psutil

from bench.clients import ClientGroup
from bench.role_links import RoleLinks
from bench.shaper_process import ShaperClient

START_TIMEOUT = 60.0


class WorkerError(RuntimeError):
    """A worker process failed or stopped answering."""


class WorkerGroup:
    """The coordinator's handle on one worker process; the same async interface as `ClientGroup`."""

    def __init__(self, config: dict[str, Any]) -> None:
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", str(child.fileno()), json.dumps(config)],
            pass_fds=[child.fileno()],
        )
        child.close()
        self._sock = parent
        self._ps = psutil.Process(self._process.pid)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def _request(self, op: str, timeout: float = START_TIMEOUT, **fields: Any) -> Any:
        async with self._lock:
            if self._reader is None:
                self._reader, self._writer = await asyncio.open_connection(sock=self._sock, limit=1 << 26)
            assert self._writer is not None
            self._writer.write((json.dumps({"op": op, **fields}) + "\n").encode())
            await self._writer.drain()
            try:
                line = await asyncio.wait_for(self._reader.readline(), timeout)
            except asyncio.TimeoutError:
                raise WorkerError(f"worker {self._process.pid} did not answer {op!r}") from None
        if not line:
            raise WorkerError(f"worker {self._process.pid} exited (code {self._process.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"worker {self._process.pid}: {reply['error']}")
        return reply.get("result")

    async def add_consult(self, index: int, light: bool = False) -> None:
        await self._request("add", index=index, light=light)

    async def settle(self) -> None:
        await self._request("settle")

    async def open_window(self) -> None:
        await self._request("open")

    async def tick(self) -> dict[str, Any]:
        return dict(await self._request("tick", timeout=10.0))

    async def close_window(self) -> dict[str, Any]:
        return dict(await self._request("close_window"))

    def cpu_seconds(self) -> float:
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    async def close(self) -> None:
        try:
            await self._request("quit", timeout=15.0)
        except (WorkerError, OSError):
            pass
        if self._writer is not None:
            self._writer.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


async def _serve(fd: int, config: dict[str, Any]) -> None:
    from media.sfu.aiortc_bridge import compact_rate_windows, restrict_host_addresses, wait_longer_for_consent

    restrict_host_addresses(["127.0.0.1"])
    wait_longer_for_consent()  # the clients' own checks cross the same slow links
    compact_rate_windows()
    shaper = ShaperClient(config["shaper"]) if config.get("shaper") else None
    group = ClientGroup(config["url"], config["secret"], RoleLinks.from_dict(config["links"]),
                        config["third_party"], shaper, config.get("kinds"))
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
    try:
        while line := await reader.readline():
            request = json.loads(line)
            op, result = request["op"], None
            try:
                if op == "add":
                    await group.add_consult(request["index"], request.get("light", False))
                elif op == "settle":
                    await group.settle()
                elif op == "open":
                    await group.open_window()
                elif op == "tick":
                    result = await group.tick()
                elif op == "close_window":
                    result = await group.close_window()
                elif op != "quit":
                    raise ValueError(f"unknown request {op!r}")
                reply: dict[str, Any] = {"result": result}
            except Exception as exc:  # noqa: BLE001 - the coordinator decides what a failure means
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
            if op == "quit":
                break
    finally:
        await group.close()
        if shaper is not None:
            shaper.close()
        writer.close()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), json.loads(sys.argv[2])))
