"""A network that carries TCP to chosen ports and nothing else: a fresh Linux network namespace holding
only its own loopback and an interface that leads nowhere, with a bridge process relaying each chosen TCP port to the same port on the host's
loopback. A browser started inside it (`launcher`) reaches the web server and a TURN relay over
TCP, and has no UDP path to anything outside: no interface leaves the namespace, and its 127.0.0.1 is its own.
That is what a hospital or carrier network that blocks UDP leaves a client, enforced by the kernel rather
than by asking the browser to behave.

Needs root (namespaces); `available()` says whether this machine allows them. The bridge is this module
run as a program: `python -m tests.helpers.isolated_network PORT [PORT ...]`.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.helpers.server import stop_process

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def available() -> str | None:
    """None when this process may create network namespaces; otherwise why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"`{tool}` is not installed (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "--net", "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"this machine refuses a network namespace: {probe.stderr.strip()}"
    return None


class IsolatedNetwork:
    """The namespace and its bridge, alive until `close()`; `launcher(path)` writes a Chromium wrapper.

    With `link_to_host`, the namespace also gets a cable to the host instead of its dead-end interface: a
    veth pair, `host_address` on the host's end and `address` inside, the default route over it. Everything
    the browser sends then crosses that cable, UDP included, and `unplug()` / `plug()` cut and restore it:
    a network drop at the packet level."""

    def __init__(self, ports: list[int], link_to_host: bool = False) -> None:
        self.ports = ports
        self._host_end = self._inner_end = ""
        if link_to_host:
            tag = os.getpid() % 100_000
            self._host_end, self._inner_end = f"vh{tag}", f"vn{tag}"
            subnet = f"10.231.{tag % 250}"
            self.host_address, self.address = f"{subnet}.1", f"{subnet}.2"
            subprocess.run(["ip", "link", "add", self._host_end, "type", "veth", "peer", "name", self._inner_end],
                           check=True, capture_output=True)
            subprocess.run(["ip", "address", "add", f"{self.host_address}/30", "dev", self._host_end], check=True)
            subprocess.run(["ip", "link", "set", self._host_end, "up"], check=True)
        self._bridge = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.isolated_network", *map(str, ports)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[2], env={**os.environ, "CABLE": self._inner_end},
        )
        self._expect("unshared")
        if link_to_host:
            subprocess.run(["ip", "link", "set", self._inner_end, "netns", str(self._bridge.pid)], check=True)
            self._bridge.stdin.write(f"{self.address} {self.host_address}\n")
        else:
            self._bridge.stdin.write("\n")
        self._bridge.stdin.flush()
        self._expect("ready")

    def _expect(self, word: str) -> None:
        line = self._bridge.stdout.readline() if self._bridge.stdout else ""
        if line.strip() != word:
            self.close()
            raise RuntimeError(f"the namespace bridge did not start: {line!r} "
                               f"{self._bridge.stderr.read() if self._bridge.stderr else ''}")

    def unplug(self) -> None:
        """Pull the cable: nothing crosses between the namespace and the host until `plug()`."""
        subprocess.run(["ip", "link", "set", self._host_end, "down"], check=True)

    def plug(self) -> None:
        subprocess.run(["ip", "link", "set", self._host_end, "up"], check=True)

    @property
    def namespace(self) -> str:
        return f"/proc/{self._bridge.pid}/ns/net"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """A command inside the namespace (e.g. `ip -brief address` to show what it has)."""
        return subprocess.run(["nsenter", f"--net={self.namespace}", *argv], capture_output=True, text=True)

    def launcher(self, executable: str, directory: Path) -> str:
        """A script that starts `executable` inside the namespace, for Playwright's `executable_path`."""
        script = directory / "in-isolated-network"
        script.write_text(f'#!/bin/sh\nexec nsenter --net={self.namespace} {executable} "$@"\n')
        script.chmod(0o755)
        return str(script)

    def close(self) -> None:
        stop_process(self._bridge)
        if self._host_end:  # gone with the namespace already, unless the bridge never took its end
            subprocess.run(["ip", "link", "del", self._host_end], capture_output=True)


# ---- the bridge process ---------------------------------------------------------------------------------

#: Inside the namespace: loopback, and a pair of virtual interfaces whose ends both stay inside, so the
#: browser has an ordinary network interface and a default route (as a phone on a carrier network has)
#: that leads nowhere: what it sends there is dropped at the other end.
_SETUP = (
    "link set lo up",
    "link add v0 type veth peer name v1",
    "address add 10.99.0.2/24 dev v0",
    "address add 10.99.0.1/24 dev v1",
    "link set v0 up",
    "link set v1 up",
    "route add default dev v0",
)

def _enter(namespace_fd: int) -> None:
    if _libc.setns(namespace_fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _bridge(ports: list[int], host_ns: int, inner_ns: int) -> None:
    loop = asyncio.get_running_loop()

    def relay_to(port: int):
        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # A socket belongs to the namespace it was created in: make the outward one on the host's side.
            _enter(host_ns)
            try:
                outward = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            finally:
                _enter(inner_ns)
            outward.setblocking(False)
            try:
                await loop.sock_connect(outward, ("127.0.0.1", port))
            except OSError:
                outward.close()
                writer.close()
                return
            host_reader, host_writer = await asyncio.open_connection(sock=outward)
            await asyncio.gather(_pipe(reader, host_writer), _pipe(host_reader, writer))
        return relay

    servers = [await asyncio.start_server(relay_to(p), "127.0.0.1", p) for p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers), asyncio.Event().wait())  # until terminated


def main(argv: list[str]) -> None:
    ports = [int(p) for p in argv]
    host_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    if _libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    print("unshared", flush=True)
    cable = sys.stdin.readline().split()  # "<address> <gateway>" once the host moved the cable in, or nothing
    if cable:
        address, gateway = cable
        name = os.environ["CABLE"]
        setup = ("link set lo up", f"address add {address}/30 dev {name}", f"link set {name} up",
                 f"route add default via {gateway}")
    else:
        setup = _SETUP
    for command in setup:
        subprocess.run(["ip", *command.split()], check=True)
    inner_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    asyncio.run(_bridge(ports, host_ns, inner_ns))


if __name__ == "__main__":
    main(sys.argv[1:])
