"""glibc's allocator under churn (signaling/memory.py): freed native memory goes back to the kernel; and
Python's collector leaves what start-up built out of its walks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from signaling import memory

pytestmark = pytest.mark.skipif(memory._glibc() is None, reason="not glibc")

# Many 4 KB blocks (above pymalloc's limit: glibc's), then all but every 64th freed: the survivors pin the
# heap, so glibc keeps the freed pages mapped until something trims them.
CHURN = """
import sys
from signaling import memory

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

blocks = [bytes(4096) for _ in range(40_000)]
kept = blocks[::64]
del blocks
before = rss_mb()
{action}
print(before, rss_mb())
"""


def _churn(action: str) -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", CHURN.format(action=action)], capture_output=True, text=True,
                          timeout=60, cwd=os.getcwd(), env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    assert done.returncode == 0, done.stderr
    before, after = map(float, done.stdout.split())
    return before, after


def test_a_trim_gives_freed_pages_back_and_nothing_else_does():
    before, untouched = _churn("pass")
    assert before > 120 and untouched > before - 10, "without a trim glibc keeps the freed 150 MB"
    before, trimmed = _churn("assert memory.trim()")
    assert trimmed < before - 100, (before, trimmed)


def test_the_periodic_trim_runs_off_the_event_loop():
    before, after = _churn("import asyncio\n"
                           "async def main():\n"
                           "    task = asyncio.create_task(memory.trim_periodically(0.05))\n"
                           "    await asyncio.sleep(0.5)\n"
                           "    task.cancel()\n"
                           "asyncio.run(main())")
    assert after < before - 100, (before, after)


def test_the_arena_cap_is_set_for_workers_and_an_operators_own_wins(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_arenas() is True
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is True
    assert os.environ["MALLOC_ARENA_MAX"] == "4"


def test_objects_alive_at_start_up_leave_the_collectors_walk() -> None:
    """In a fresh process (freezing is process-wide): after start-up, a full collection walks only what
    came later."""
    script = (
        "import gc\n"
        "import signaling.app, signaling.worker\n"
        "from signaling.memory import freeze_startup_objects\n"
        "gc.collect()\n"
        "before = len(gc.get_objects())\n"
        "frozen = freeze_startup_objects()\n"
        "print(before, frozen, len(gc.get_objects()))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    before, frozen, after = map(int, out.stdout.split())
    assert frozen >= before * 0.95
    assert after < before * 0.05
