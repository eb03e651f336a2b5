"""Link profiles as data, and the parser for custom link specs.

A profile describes one direction of a client's access link; the harness applies it to both directions
(uplink and downlink), so a round trip through one shaped client adds twice `delay_ms`. `rate_bps`
counts IP + UDP bytes on the wire, like a real bottleneck does.

Custom spec, comma-separated `key=value` (order free, each key at most once):
    rate=150k,delay=300ms,jitter=20ms,loss=2%,burst=3,queue=250ms,reorder=no
rate: bit/s with optional k/M/G suffix (and optional "bit", "bps"); `rate=0` or omitted: unlimited.
delay, jitter, queue: milliseconds, with optional `ms` or `s` suffix.
loss: percent (`2%` or `2`); burst: mean loss-burst length in packets (>= 1) for Gilbert–Elliott loss;
without `burst` (or burst=1) losses are independent. reorder: let jitter reorder packets (default no).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_QUEUE_MS = 250.0
"""Drop-tail depth of the bottleneck queue, as time to drain at `rate_bps` (a modest mobile buffer)."""

MIN_QUEUE_BYTES = 3000
"""Even a slow link holds a couple of full-size packets."""


class ProfileError(ValueError):
    """A profile name or link spec that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class LinkProfile:
    """One direction of an access link: rate, one-way delay, jitter, loss."""

    name: str
    rate_bps: int | None = None
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    """Average fraction of packets lost, 0..1."""
    burst: float = 1.0
    """Mean length of a loss burst in packets; 1 means independent (Bernoulli) losses."""
    queue_ms: float = DEFAULT_QUEUE_MS
    reorder: bool = False

    def __post_init__(self) -> None:
        if self.rate_bps is not None and self.rate_bps <= 0:
            raise ProfileError(f"{self.name}: rate must be positive, got {self.rate_bps}")
        if self.delay_ms < 0 or self.jitter_ms < 0 or self.queue_ms <= 0:
            raise ProfileError(f"{self.name}: delay and jitter must be >= 0 and queue > 0")
        if not 0.0 <= self.loss < 1.0:
            raise ProfileError(f"{self.name}: loss must be in [0 %, 100 %), got {self.loss * 100:g} %")
        if self.burst < 1.0:
            raise ProfileError(f"{self.name}: burst is a mean burst length in packets and must be >= 1")

    @property
    def shaped(self) -> bool:
        """Whether this link needs the shaping relay at all (`lan` does not)."""
        return bool(self.rate_bps or self.delay_ms or self.jitter_ms or self.loss)

    @property
    def queue_bytes(self) -> int | None:
        """Drop-tail limit of the bottleneck queue, or None for an unlimited rate."""
        if not self.rate_bps:
            return None
        return max(MIN_QUEUE_BYTES, int(self.rate_bps / 8 * self.queue_ms / 1000))

    def gilbert_elliott(self) -> tuple[float, float]:
        """Transition probabilities (good→bad, bad→good) giving `loss` on average in bursts of `burst`.

        Simple Gilbert model: every packet in the bad state is lost, none in the good state. The
        stationary share of the bad state is p_gb / (p_gb + p_bg) = loss, and a burst lasts 1 / p_bg.
        """
        p_bg = 1.0 / self.burst
        p_gb = self.loss * p_bg / (1.0 - self.loss)
        return p_gb, p_bg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES: dict[str, LinkProfile] = {
    p.name: p
    for p in (
        LinkProfile("lan"),
        LinkProfile("4g", rate_bps=8_000_000, delay_ms=40, loss=0.001),
        LinkProfile("3g", rate_bps=1_500_000, delay_ms=100, loss=0.01),
        LinkProfile("2g", rate_bps=150_000, delay_ms=300, loss=0.02),
        LinkProfile("edge-bad", rate_bps=64_000, delay_ms=400, loss=0.05),
    )
}

_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]?)(?:bit|bps|bit/s|b)?$", re.IGNORECASE)
_TIME = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s)?$", re.IGNORECASE)
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%?$")
SPEC_KEYS = ("rate", "delay", "jitter", "loss", "burst", "queue", "reorder")


def _rate(text: str) -> int | None:
    m = _RATE.match(text.strip())
    if not m:
        raise ProfileError(f"rate={text!r}: expected bits per second like 150k, 1.5M or 64000")
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
    return int(value) or None


def _millis(key: str, text: str) -> float:
    m = _TIME.match(text.strip())
    if not m:
        raise ProfileError(f"{key}={text!r}: expected a duration like 300ms, 0.3s or 300")
    return float(m.group(1)) * (1000.0 if (m.group(2) or "ms").lower() == "s" else 1.0)


def parse_spec(spec: str, name: str | None = None) -> LinkProfile:
    """Parse `rate=…,delay=…,jitter=…,loss=…[,burst=…]` into a profile; raise ProfileError if invalid."""
    fields: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not value.strip():
            raise ProfileError(f"{part.strip()!r}: expected key=value (keys: {', '.join(SPEC_KEYS)})")
        if key not in SPEC_KEYS:
            raise ProfileError(f"unknown key {key!r} (keys: {', '.join(SPEC_KEYS)})")
        if key in fields:
            raise ProfileError(f"{key} given twice")
        fields[key] = value.strip()
    if not fields:
        raise ProfileError("empty link spec")
    kwargs: dict[str, Any] = {}
    if "rate" in fields:
        kwargs["rate_bps"] = _rate(fields["rate"])
    for key in ("delay", "jitter", "queue"):
        if key in fields:
            kwargs[f"{key}_ms"] = _millis(key, fields[key])
    if "loss" in fields:
        m = _PERCENT.match(fields["loss"])
        if not m:
            raise ProfileError(f"loss={fields['loss']!r}: expected a percentage like 2% or 0.5%")
        kwargs["loss"] = float(m.group(1)) / 100.0
    if "burst" in fields:
        try:
            kwargs["burst"] = float(fields["burst"])
        except ValueError:
            raise ProfileError(f"burst={fields['burst']!r}: expected a mean burst length in packets") from None
    if "reorder" in fields:
        flag = fields["reorder"].lower()
        if flag not in ("yes", "no", "on", "off", "1", "0", "true", "false"):
            raise ProfileError(f"reorder={fields['reorder']!r}: expected yes or no")
        kwargs["reorder"] = flag in ("yes", "on", "1", "true")
    return LinkProfile(name or spec, **kwargs)


def get_profile(name_or_spec: str) -> LinkProfile:
    """A named profile (`lan`, `4g`, `3g`, `2g`, `edge-bad`) or a custom spec containing `=`."""
    if name_or_spec in PROFILES:
        return PROFILES[name_or_spec]
    if "=" in name_or_spec:
        return parse_spec(name_or_spec)
    raise ProfileError(
        f"unknown profile {name_or_spec!r}: use one of {', '.join(PROFILES)} "
        "or a spec like rate=150k,delay=300ms,jitter=20ms,loss=2%"
    )


