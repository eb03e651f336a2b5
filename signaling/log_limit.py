"""Rate-limited logging of repeated bad input: one line per kind and interval, with a count.

One client sending malformed messages (or a scanner probing the portal) must not be able to flood the
log. The first occurrence of each kind is logged at once; later ones within `interval_s` are only
counted, and the next occurrence after the interval logs one line saying how many were held back.
Pure and stdlib-only, so the portal's error middleware uses it as signaling's sessions do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Kinds are chosen by the caller (error codes, exception types): this only bounds a caller's mistake.
MAX_KINDS = 1024


@dataclass
class _Kind:
    next_at: float
    held: int = 0


class RepeatLimitedLog:
    """Logs each kind at most once per `interval_s`; held-back occurrences are counted in the next line."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}
        self._lock = threading.Lock()

    def log(self, level: int, kind: str, msg: str, *args: object, exc_info: bool = False) -> bool:
        """Log `msg % args` now if this kind was quiet for an interval; otherwise count it. True if logged."""
        now = self._clock()
        with self._lock:
            state = self._kinds.get(kind)
            if state is not None and now < state.next_at:
                state.held += 1
                return False
            held = state.held if state is not None else 0
            if len(self._kinds) >= MAX_KINDS and state is None:
                self._kinds.pop(next(iter(self._kinds)))
            self._kinds[kind] = _Kind(next_at=now + self.interval_s)
        if held:
            msg += " (and %d more like it in the last %g s, not logged)"
            args = (*args, held, self.interval_s)
        self.logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def info(self, kind: str, msg: str, *args: object) -> bool:
        return self.log(logging.INFO, kind, msg, *args)

    def warning(self, kind: str, msg: str, *args: object) -> bool:
        return self.log(logging.WARNING, kind, msg, *args)

    def exception(self, kind: str, msg: str, *args: object) -> bool:
        """An unexpected error: the traceback once per interval and kind, a count otherwise."""
        return self.log(logging.ERROR, kind, msg, *args, exc_info=True)
