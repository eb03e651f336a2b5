"""The room page probe's microphone worklet (bench/browser_probe.js) tells which marker a burst is, so the
microphone's error is read against that marker's second, not modulo a second: on a starved machine the
microphone opened over a second late, and every receiver's audio latency then read a second high."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.audio_marks import MARKS, mark_hz

PROBE = Path(__file__).parents[2] / "bench" / "browser_probe.js"

# Runs the worklet's class in Node with AudioWorkletGlobalScope's names stood in, feeding 128-sample blocks
# of 48 kHz audio: quiet noise, then a 100 ms burst at `hz` from 0.4 s (the shape bench/audio_marks.py plays).
HARNESS = """
globalThis.AudioWorkletProcessor = class {};
globalThis.sampleRate = 48000;
globalThis.currentTime = 0;
globalThis.registerProcessor = (name, cls) => { globalThis.Onsets = cls; };
(0, eval)(process.argv[1]);
const found = [];
for (const hz of JSON.parse(process.argv[2])) {
  const node = new Onsets();
  node.port = { postMessage: (m) => found.push(m) };
  for (let i = 0; i < 48000; i += 128) {
    const block = new Float32Array(128);
    for (let j = 0; j < 128; j++) {
      const t = (i + j) / 48000;
      block[j] = t >= 0.4 && t < 0.5 ? 0.4 * Math.sin(2 * Math.PI * hz * t) : 0.004 * Math.sin(7 * (i + j));
    }
    globalThis.currentTime = i / 48000;
    node.process([[block]]);
  }
}
console.log(JSON.stringify(found));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is installed by `make test` (system-deps)")
def test_the_microphone_worklet_names_every_marker_and_its_onset():
    worklet = re.search(r"const ONSETS = `([\s\S]*?)`;", PROBE.read_text(encoding="utf-8")).group(1)
    frequencies = [mark_hz(k) for k in range(MARKS)]
    out = subprocess.run(["node", "-e", HARNESS, worklet, json.dumps(frequencies)], capture_output=True,
                         text=True, timeout=60, check=True)
    found = json.loads(out.stdout)
    assert [m["k"] for m in found] == list(range(MARKS))
    assert all(abs(m["at"] - 0.4) <= 128 / 48000 for m in found)  # the block the burst starts in
