"""Which worker owns which room: a room lives on one worker, placed on the least loaded one.

Load is what the workers measure (their CPU share and packet rate, reported each second), not how many
rooms they hold: one 4-party consultation with video costs more than ten empty waiting rooms. A room
stays where it was placed while any client connection that joined it is still there, so its members
always meet on one worker; the placement is forgotten when the last of them leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Packet-hops (received + forwarded) one core carries: the ramp's figure (docs/benchmarks.md), rounded down.
PACKETS_PER_CORE = 40_000
#: Until its next load report, each room just placed on a worker counts as this much load (a consultation
#: at 360p: ~2 % of a core), so a burst of joins spreads instead of all landing on the same idle worker.
PLACED_ROOM_LOAD = 0.02


@dataclass
class WorkerLoad:
    """A worker's last report, plus the rooms placed on it since."""

    cpu: float = 0.0
    packets_per_s: float = 0.0
    placed_since_report: int = 0
    alive: bool = True

    @property
    def score(self) -> float:
        measured = max(self.cpu, self.packets_per_s / PACKETS_PER_CORE)
        return measured + PLACED_ROOM_LOAD * self.placed_since_report


@dataclass
class RoomPlacement:
    """The room → worker map of one node, and who holds each placement open."""

    workers: list[WorkerLoad] = field(default_factory=list)
    _rooms: dict[str, int] = field(default_factory=dict)
    _members: dict[str, set[int]] = field(default_factory=dict)  # room -> client connections

    def worker_of(self, room: str) -> int | None:
        return self._rooms.get(room)

    def place(self, room: str, conn: int) -> int:
        """The room's worker, placing it on the least loaded live worker if it has none; `conn` holds it."""
        worker = self._rooms.get(room)
        if worker is None:
            live = [i for i, w in enumerate(self.workers) if w.alive]
            if not live:
                raise LookupError("no worker is running")
            worker = min(live, key=lambda i: (self.workers[i].score, i))
            self._rooms[room] = worker
            self.workers[worker].placed_since_report += 1
        self._members.setdefault(room, set()).add(conn)
        return worker

    def release(self, room: str, conn: int) -> bool:
        """`conn` is out of the room; the last one out frees the placement (returns True then)."""
        members = self._members.get(room)
        if members is None:
            return False
        members.discard(conn)
        if members:
            return False
        del self._members[room]
        self._rooms.pop(room, None)
        return True

    def rooms(self) -> list[str]:
        """Every room placed on this node's workers."""
        return list(self._rooms)

    def lowest_load(self) -> float | None:
        """The score of the worker a new room would go to (the node's load figure in the room directory);
        None when no worker runs."""
        return min((w.score for w in self.workers if w.alive), default=None)

    def report(self, worker: int, cpu: float, packets_per_s: float) -> None:
        load = self.workers[worker]
        load.cpu, load.packets_per_s, load.placed_since_report = cpu, packets_per_s, 0

    def worker_lost(self, worker: int) -> list[str]:
        """Forget every room on a worker that died; returns their names (their clients must rejoin)."""
        self.workers[worker].alive = False
        gone = [room for room, w in self._rooms.items() if w == worker]
        for room in gone:
            del self._rooms[room]
            self._members.pop(room, None)
        return gone

    def worker_back(self, worker: int) -> None:
        self.workers[worker] = WorkerLoad()

    def rooms_on(self, worker: int) -> int:
        return sum(1 for w in self._rooms.values() if w == worker)
