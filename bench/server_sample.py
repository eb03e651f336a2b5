"""What a soak reads from the server under test at each sample: the counts a leak makes grow.

From the operating system, for the server's process and its worker processes (`psutil` reads
/proc/<pid>/status, /proc/<pid>/fd and /proc/net/udp): resident memory, open file descriptors, threads
and UDP sockets (every ICE candidate is one; a peer connection that is never closed keeps them). From
the server's own `/metrics` (loopback only): asyncio tasks and garbage-collected objects in its main
process, which no outside view can count, and its rooms and participants, so a sample says what load it
was taken under.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import psutil

METRIC_GAUGES = {
    "vaidya_asyncio_tasks": "tasks",
    "vaidya_gc_objects": "gc_objects",
    "vaidya_rooms": "rooms",
    "vaidya_participants": "participants",
}
"""Gauge in the server's /metrics → the sample's key."""


def process_counts(processes: list[psutil.Process]) -> dict[str, float]:
    """RSS (MiB), open fds, threads and UDP sockets summed over `processes` (one that exited is skipped)."""
    rss = fds = threads = udp = 0
    for process in processes:
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                fds += process.num_fds()
                threads += process.num_threads()
            udp += len(process.net_connections(kind="udp"))
        except psutil.Error:
            continue
    return {"rss_mb": round(rss / 2**20, 2), "fds": fds, "threads": threads, "udp_sockets": udp}


def parse_gauges(text: str) -> dict[str, float]:
    """The `METRIC_GAUGES` found in Prometheus text, under the sample's keys."""
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in METRIC_GAUGES:
            found[METRIC_GAUGES[name]] = float(value)
    return found


class ServerSampler:
    """Samples one server: its processes (`processes()` is asked each time, workers may be restarted) and
    its /metrics at `http_url`."""

    def __init__(self, processes: Any, http_url: str) -> None:
        self._processes = processes
        self._url = http_url + "/metrics"
        self._http: aiohttp.ClientSession | None = None

    async def sample(self) -> dict[str, Any]:
        """One sample: `t` (Unix time), the process counts, and the /metrics gauges (absent when the
        scrape failed: `metrics_error` says why)."""
        sample: dict[str, Any] = {"t": time.time(), **process_counts(self._processes())}
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.get(self._url) as response:
                if response.status != 200:
                    sample["metrics_error"] = f"HTTP {response.status}"
                else:
                    sample.update(parse_gauges(await response.text()))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            sample["metrics_error"] = f"{type(exc).__name__}: {exc}"
        return sample

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
