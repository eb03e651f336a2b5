"""PyAV/libopus settings for the shared low-rate audio tier: every codec choice in one place, with why.

Measured with PyAV 18.1 (FFmpeg 8, libopus 1.6.1). The decoder reads whatever Opus the publisher sends
(Chromium: 20 ms packets, ~32 kbit/s); the encoder writes the tier's long, low-rate, FEC-carrying packets.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.audio.codeccontext import AudioCodecContext

#: Opus in RTP always runs a 48 kHz clock (RFC 7587), whatever the audio bandwidth: decoding and
#: encoding at 48 kHz keeps one sample per RTP tick, so tier packets keep the producer's timestamps.
SAMPLE_RATE = 48000

#: Speech needs one channel; the decoder folds a stereo stream down, halving what the encoder must carry.
LAYOUT = "mono"

#: libopus decodes to and encodes from 16-bit samples without a conversion step in between.
SAMPLE_FORMAT = "s16"

#: "voip" favours speech intelligibility (SILK, high-pass, formant emphasis) over music fidelity.
APPLICATION = "voip"

#: The loss rate the encoder is told to expect. libopus decides per packet whether in-band FEC (a
#: coarse copy of the previous frame) fits the bitrate, and that rate is what sways it: with 1.6.1, at
#: 16 kbit/s FEC appears only from 25 %, at 17 kbit/s from 15 %, at 18 kbit/s from 10 % (measured; at
#: 14 kbit/s never). 25 % also makes SILK predict less across frames, so one lost packet hurts less.
EXPECTED_LOSS_PERCENT = 25

#: "constrained" VBR: speech still gets fewer bits in pauses, but no packet overshoots the target by
#: much, so the tier's cost on a 2G link is what the ladder says.
VBR = "constrained"

#: Opus is cheap (3 decodes + 1 encode per 60 ms cost ≈ 0.47 ms CPU here, under 1 % of a core); one
#: thread avoids FFmpeg's per-CPU thread pools on a 2-core machine shared with the event loop.
THREADS = 1

# DTX is off: libopus's default, and FFmpeg 8's libopusenc has no option to turn it on. A tier that
# stops sending in pauses would look like loss to the receivers' jitter buffers.


def samples_per_packet(ptime_ms: int) -> int:
    """Samples (per channel) in one encoded packet of `ptime_ms` milliseconds."""
    return SAMPLE_RATE * ptime_ms // 1000


def open_decoder() -> AudioCodecContext:
    """A libopus decoder giving mono 48 kHz 16-bit frames, whatever the stream's channel count."""
    decoder = av.CodecContext.create("libopus", "r")
    assert isinstance(decoder, AudioCodecContext)
    decoder.sample_rate = SAMPLE_RATE
    decoder.layout = LAYOUT
    decoder.thread_count = THREADS
    return decoder


def open_encoder(kbps: int, ptime_ms: int, fec: bool = True) -> AudioCodecContext:
    """A libopus encoder for the tier: `kbps`, one packet per `ptime_ms`, in-band FEC when `fec`."""
    encoder = av.CodecContext.create("libopus", "w")
    assert isinstance(encoder, AudioCodecContext)
    encoder.sample_rate = SAMPLE_RATE
    encoder.layout = LAYOUT
    encoder.format = SAMPLE_FORMAT
    encoder.bit_rate = kbps * 1000
    encoder.time_base = Fraction(1, SAMPLE_RATE)
    encoder.thread_count = THREADS
    encoder.options = {
        "application": APPLICATION,
        "frame_duration": str(ptime_ms),
        "fec": "1" if fec else "0",
        "packet_loss": str(EXPECTED_LOSS_PERCENT if fec else 0),
        "vbr": VBR,
    }
    encoder.open()
    if encoder.options:  # PyAV leaves the options FFmpeg did not take: a setting silently ignored
        raise ValueError(f"libopus ignored {sorted(encoder.options)}")
    if encoder.frame_size != samples_per_packet(ptime_ms):
        raise ValueError(f"libopus cannot make {ptime_ms} ms packets")
    return encoder


def mono_resampler() -> av.AudioResampler:
    """Brings decoded frames to what the encoder takes (a pass-through when they already match)."""
    return av.AudioResampler(format=SAMPLE_FORMAT, layout=LAYOUT, rate=SAMPLE_RATE)
