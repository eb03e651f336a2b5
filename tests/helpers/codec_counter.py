"""Counts every encode and decode through aiortc's codecs in this process."""

from __future__ import annotations

import collections
import functools

import aiortc.codecs.g711 as g711
import aiortc.codecs.g722 as g722
import aiortc.codecs.h264 as h264
import aiortc.codecs.opus as opus
import aiortc.codecs.vpx as vpx

COUNTS: collections.Counter[str] = collections.Counter()

_TARGETS = [
    (vpx.Vp8Encoder, "encode"), (vpx.Vp8Decoder, "decode"),
    (h264.H264Encoder, "encode"), (h264.H264Decoder, "decode"),
    (opus.OpusEncoder, "encode"), (opus.OpusDecoder, "decode"),
    (g711.PcmuEncoder, "encode"), (g711.PcmuDecoder, "decode"),
    (g711.PcmaEncoder, "encode"), (g711.PcmaDecoder, "decode"),
    (g722.G722Encoder, "encode"), (g722.G722Decoder, "decode"),
]


def install() -> None:
    for cls, name in _TARGETS:
        original = getattr(cls, name)
        if getattr(original, "_counted", False):
            continue
        key = f"{cls.__name__}.{name}"

        @functools.wraps(original)
        def counted(self, *args, _original=original, _key=key, **kwargs):
            COUNTS[_key] += 1
            return _original(self, *args, **kwargs)

        counted._counted = True
        setattr(cls, name, counted)
