"""How much forward error correction a subscriber's video gets, from its link's loss and round trip.

A NACK repair costs a round trip plus the receiver's wait before asking; on a short round trip it lands
in time and costs only what was lost, so FEC (paid on every packet, lost or not) is wasted there. On a
long round trip with persistent loss (2G: 300 ms each way, 2 % loss) a repair arrives after the frame was
due, and the picture freezes: FEC then repairs at once. Simpler than libwebrtc's tables, same shape:
protection grows with the loss, with a floor (one FEC packet per few media packets is the least that
repairs anything) and a ceiling (beyond it FEC eats the picture it protects).
"""

from __future__ import annotations

import math

#: FEC starts once the loss over the estimator's window reaches this, and stops below STOP_LOSS
START_LOSS = 0.01
STOP_LOSS = 0.005
#: once on, FEC stays on (at MIN_RATE) until the loss has stayed below STOP_LOSS this long: a 2 s loss
#: window on a link losing 2 % at random often shows none, and FEC flapped off and on with it
HOLD_S = 10.0
#: ... and only on a round trip at least this long (shorter: NACK/RTX repairs in time)
MIN_RTT_S = 0.1
#: FEC packets per media packet: LOSS_FACTOR × the loss, within [MIN_RATE, MAX_RATE]
LOSS_FACTOR = 3.0
MIN_RATE = 0.1
MAX_RATE = 0.5


def fec_rate(loss: float, rtt_s: float | None, current: float = 0.0, congested: bool = False,
             since_loss_s: float = math.inf) -> float:
    """FEC packets per media packet for a link losing `loss` (0–1) with round trip `rtt_s`; 0 means
    none. `current` is the rate sent now: while on, FEC stays on down to STOP_LOSS, and below it for
    HOLD_S after the loss was last at least STOP_LOSS (`since_loss_s`), so it does not flap.
    While the link is `congested` (the estimator saw a queue or heavy loss) the rate never rises, and
    FEC that starts then starts at the floor: that loss is our own overload, and more FEC would add to it."""
    if rtt_s is None or rtt_s < MIN_RTT_S:
        return 0.0
    if loss < (STOP_LOSS if current > 0 else START_LOSS):
        return MIN_RATE if current > 0 and since_loss_s < HOLD_S else 0.0
    rate = min(MAX_RATE, max(MIN_RATE, LOSS_FACTOR * loss))
    if congested:
        rate = min(rate, max(current, MIN_RATE))
    return rate
