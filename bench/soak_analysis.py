"""The soak's verdict from its timeline: does anything grow that should hold steady?

A leak under steady load shows as a trend, not a level: the server's memory, tasks, descriptors and
objects rise with the number of consultations in progress and fall when they leave, so one sample says
little and churn adds noise. The first `WARM_UP_SHARE` of the run is left out (caches, pools, the
allocator's arenas and the first JIT-like warm paths fill there); after it, each series is fitted with a
least-squares line (for the counts, with the participants in progress as a second variable: the line's
slope is what time adds beyond what the load explains). A series is **growing** when the line's rise over
the measured span exceeds both the noise around the line (`NOISE_SIGMAS` standard deviations of the
residuals: a flat, noisy series rarely rises that far by chance) and a floor of its own (a few tasks, or
a share of its level), below which a rise does not matter within the run's length. Memory is judged by the issue's threshold, RSS growth
below `RSS_GROWTH_LIMIT_PCT` both from the first to the last interval and along the fitted line.
Latencies drift when their per-interval p50 grows by that rule, with a floor of `LATENCY_DRIFT_LIMIT_PCT`
of its level (a shared machine's latency moves by tens of percent from one minute to the next).
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

WARM_UP_SHARE = 0.2
RSS_GROWTH_LIMIT_PCT = 5.0
LATENCY_DRIFT_LIMIT_PCT = 25.0
NOISE_SIGMAS = 2.0
COUNT_FLOORS: dict[str, tuple[float, float]] = {
    "tasks": (5.0, 0.02),
    "fds": (5.0, 0.02),
    "threads": (2.0, 0.02),
    "udp_sockets": (4.0, 0.02),
    "gc_objects": (1000.0, 0.02),
}
"""Count → (absolute, relative to its median) floor under which a rise is not called growth."""
LATENCIES = ("join_ms_p50", "portal_ms_p50", "g2g_ms_p50")
MIN_POINTS = 4
"""Fewer points after warm-up than this fit no line worth judging."""


def after_warm_up(timeline: list[dict[str, Any]], share: float = WARM_UP_SHARE) -> list[dict[str, Any]]:
    """The intervals that end after the first `share` of the run (by time, `t` = seconds since start)."""
    if not timeline:
        return []
    end = timeline[-1]["t"]
    return [point for point in timeline if point["t"] > share * end]


def fit(ts: list[float], values: list[float], load: list[float] | None = None) -> dict[str, float]:
    """Least-squares fit of value = a + b·t (+ c·load): the slope in time per second, the rise it makes
    over the span, and the standard deviation of the residuals (the series' noise around its trend).
    With `load` (participants at each point, when it varies), what the load explains is not trend: a
    count that dips while a stall drops clients and comes back with them is not growing."""
    t, v = np.asarray(ts, float), np.asarray(values, float)
    columns = [np.ones_like(t), t]
    if load is not None and np.ptp(np.asarray(load, float)) > 0:
        columns.append(np.asarray(load, float))
    x = np.column_stack(columns)
    coefficients, *_ = np.linalg.lstsq(x, v, rcond=None)
    residuals = v - x @ coefficients
    slope = float(coefficients[1])
    dof = len(v) - len(columns)
    return {"slope_per_s": slope, "rise": slope * float(t[-1] - t[0]),
            "noise_sd": float(np.sqrt(np.sum(residuals**2) / dof)) if dof > 0 else 0.0,
            "load_adjusted": len(columns) == 3}


def trend(points: list[dict[str, Any]], key: str, floor_abs: float, floor_rel: float,
          by_load: bool = False) -> dict[str, Any] | None:
    """`key`'s fitted trend over `points` (those with a value), and whether it is growing; None when too
    few points have it. `by_load`: fit the participants in progress too (`fit`'s `load`)."""
    have = [p for p in points if p.get(key) is not None]
    if len(have) < MIN_POINTS:
        return None
    values = [float(p[key]) for p in have]
    known = by_load and all(p.get("participants") is not None for p in have)
    line = fit([p["t"] for p in have], values, [float(p["participants"]) for p in have] if known else None)
    level = statistics.median(values)
    floor = max(floor_abs, floor_rel * abs(level))
    return {
        "min": min(values), "max": max(values), "first": values[0], "last": values[-1], "median": level,
        "rise": round(line["rise"], 3), "per_10_min": round(line["slope_per_s"] * 600, 3),
        "noise_sd": round(line["noise_sd"], 3), "floor": round(floor, 3), "load_adjusted": line["load_adjusted"],
        "growing": line["rise"] > max(floor, NOISE_SIGMAS * line["noise_sd"]),
    }


def pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def rss_report(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """RSS growth after warm-up: last interval vs first, and along the fitted line (per 10 min and over
    the span), in % of the first interval's."""
    line = trend(points, "rss_mb", 0.0, 0.0)
    if line is None:
        return None
    first = line["first"]
    growth, fitted = pct(line["last"] - first, first), pct(line["rise"], first)
    return {"first_mb": first, "last_mb": line["last"], "min_mb": line["min"], "max_mb": line["max"],
            "growth_pct": growth, "fitted_growth_pct": fitted, "slope_pct_per_10_min": pct(line["per_10_min"], first),
            "noise_sd_mb": line["noise_sd"],
            "ok": growth is not None and fitted is not None
            and growth < RSS_GROWTH_LIMIT_PCT and fitted < RSS_GROWTH_LIMIT_PCT}


def latency_report(points: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """`key` (a per-interval p50) and its p95 partner: their range, first vs last, and whether the p50 drifts."""
    line = trend(points, key, 0.0, LATENCY_DRIFT_LIMIT_PCT / 100)
    if line is None:
        return None
    p95 = [p[key.replace("_p50", "_p95")] for p in points if p.get(key.replace("_p50", "_p95")) is not None]
    return {"p50_first": line["first"], "p50_last": line["last"], "p50_min": line["min"], "p50_max": line["max"],
            "p95_first": p95[0] if p95 else None, "p95_last": p95[-1] if p95 else None,
            "p95_max": max(p95) if p95 else None,
            "drift_pct": pct(line["last"] - line["first"], line["first"]),
            "fitted_drift_pct": pct(line["rise"], line["median"]), "drifting": line["growing"]}


def analyse(timeline: list[dict[str, Any]], warm_up_share: float = WARM_UP_SHARE) -> dict[str, Any]:
    """The soak's verdict: RSS growth, each count's trend, each latency's drift, and `pass` with the
    reasons it failed (`problems`)."""
    points = after_warm_up(timeline, warm_up_share)
    rss = rss_report(points)
    counts = {key: trend(points, key, *floors, by_load=True) for key, floors in COUNT_FLOORS.items()}
    latencies = {key.removesuffix("_p50"): latency_report(points, key) for key in LATENCIES}
    problems = []
    if rss is None:
        problems.append(f"fewer than {MIN_POINTS} intervals after warm-up: nothing to judge")
    elif not rss["ok"]:
        problems.append(f"RSS grew {rss['growth_pct']} % (fitted {rss['fitted_growth_pct']} %), "
                        f"limit {RSS_GROWTH_LIMIT_PCT:g} %")
    problems += [f"{key} growing: +{c['rise']} over the run (noise sd {c['noise_sd']}, floor {c['floor']})"
                 for key, c in counts.items() if c is not None and c["growing"]]
    problems += [f"{key} latency drifting: p50 {d['p50_first']} → {d['p50_last']} ms (fitted {d['fitted_drift_pct']} %)"
                 for key, d in latencies.items() if d is not None and d["drifting"]]
    return {"warm_up_share": warm_up_share, "intervals_judged": len(points), "rss": rss, "counts": counts,
            "latency": latencies, "pass": not problems, "problems": problems}


RETURNING_COUNTS = ("tasks", "fds", "udp_sockets")
"""What must come back to its idle value once every client has left. Not threads: thread pools (the
database's, asyncio's default executor) start their threads on first use and keep them, which is not a
leak; their trend under load is judged with the other counts."""


def returned_to_baseline(baseline: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Once every client has left: each of `RETURNING_COUNTS` against its value before anyone joined, and
    whether it came back within its absolute floor (what is left over then is held by nobody: a leak)."""
    keys = [key for key in RETURNING_COUNTS if key in baseline and key in after]
    excess = {key: after[key] - baseline[key] for key in keys}
    left = [key for key in keys if excess[key] > COUNT_FLOORS[key][0]]
    return {"baseline": {key: baseline[key] for key in keys}, "after": {key: after[key] for key in keys},
            "excess": excess, "ok": not left, "left_over": left}
