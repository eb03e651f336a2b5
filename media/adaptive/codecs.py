"""The one module holding PyAV / libvpx / x264 settings for the transcoder.

Every codec knob the server turns is here, with the reason, so a PyAV or FFmpeg upgrade has one file to
check (as `media/sfu/aiortc_bridge.py` is for aiortc). The defaults of PyAV, FFmpeg and aiortc suit a
desktop app, not a server that transcodes many streams on two cores:
- FFmpeg's "auto" thread count starts one thread per CPU in every codec context: tens of contexts
  oversubscribe the machine. Every context here gets an explicit, small count.
- aiortc's x264 runs the `medium` preset (~10x slower than `ultrafast`); its VP8 encoder uses cpu-used -6.
- PyAV's `VideoFrame.reformat` builds a new scaler (swscale context) on every call unless one
  `VideoReformatter` is kept per output size.
"""

from __future__ import annotations

import fractions

import av
from av.codec.context import CodecContext
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType, VideoFrame
from av.video.reformatter import Interpolation, VideoReformatter

VP8 = "video/vp8"
H264 = "video/h264"
#: RTP video clock: packet and frame timestamps are kept in it end to end.
VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)

#: Decoding a 720p frame costs 3-5 ms on one thread; a second thread helps only above ~720p, and the
#: transcoder already runs several producers in parallel, so more threads would just contend.
DECODER_THREADS = 1
#: Tier pictures are at most 360p: one encoder thread each (libvpx splits rows only above ~640 wide).
ENCODER_THREADS = 1
#: libvpx VP8 speed in realtime mode. A NEGATIVE value fixes the speed at |value|; a positive one lets
#: libvpx pick a speed from how long frames take against their duration, so it runs slow (high quality)
#: on an idle machine and changes under load (unpredictable CPU). Measured here on the bench's moving
#: content from 720p (ms per frame, median PSNR against the scaled input): 360p at 450 kbit/s —
#: auto 2.5 ms 47.7 dB, -6 1.4 ms 47.5 dB, -8 1.3 ms 46.5 dB, -12 1.1 ms 44.9 dB, -16 0.9 ms 37.5 dB;
#: 180p at 150 kbit/s — auto 0.86 ms 44.4 dB, -6 0.50 ms 42.9 dB. -6 (aiortc's choice too) halves the
#: cost for a fraction of a dB at 360p.
VP8_CPU_USED = -6
#: A keyframe at least this often even without requests: a subscriber that missed a PLI recovers.
KEYFRAME_INTERVAL_FRAMES = 3000


def open_decoder(mime: str) -> CodecContext:
    """A VP8 or H.264 decoder fed one whole frame (Annex-B for H.264) at a time, on one thread."""
    name = _decoder_name(mime)
    decoder = av.CodecContext.create(name, "r")
    decoder.thread_count = DECODER_THREADS
    # Frame threading delays output by one frame per thread; slice threading does not. With one thread
    # neither applies, but say it so a later thread bump keeps the latency.
    decoder.thread_type = "SLICE"
    return decoder


def _decoder_name(mime: str) -> str:
    mime = mime.lower()
    if mime == VP8:
        return "vp8"  # FFmpeg's native decoder: ~10-15 % cheaper than libvpx's on 720p here, same pictures
    if mime == H264:
        return "h264"  # FFmpeg's native decoder (x264 has none)
    raise ValueError(f"cannot transcode {mime}")


def open_encoder(mime: str, width: int, height: int, kbps: int, fps: float) -> VideoCodecContext:
    """A realtime VP8 or H.264 encoder for one tier: explicit rate caps, threads and no frame delay."""
    mime = mime.lower()
    if mime == VP8:
        encoder = _vp8_encoder(kbps)
    elif mime == H264:
        encoder = _h264_encoder(kbps)
    else:
        raise ValueError(f"cannot transcode {mime}")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = VIDEO_TIME_BASE  # frames keep their RTP timestamps as pts
    encoder.framerate = fractions.Fraction(round(fps * 1000), 1000)  # rate control spreads bits per frame
    encoder.gop_size = KEYFRAME_INTERVAL_FRAMES
    encoder.thread_count = ENCODER_THREADS
    encoder.open()
    return encoder


def _vp8_encoder(kbps: int) -> VideoCodecContext:
    encoder = av.CodecContext.create("libvpx", "w")
    bps = kbps * 1000
    encoder.bit_rate = bps
    encoder.qmin = 4  # rc_min_quantizer: no bits wasted polishing static scenes
    encoder.qmax = 56  # rc_max_quantizer: libwebrtc's cap; above it VP8 turns to mush
    encoder.options = {
        "deadline": "realtime",  # one pass, no look-ahead search: milliseconds per frame
        "cpu-used": str(VP8_CPU_USED),
        "lag-in-frames": "0",  # output each frame as it goes in: no added latency
        "auto-alt-ref": "0",  # alt-ref frames need lag; off, as libwebrtc does for realtime
        "error-resilient": "default",  # frames decodable after a lost previous frame's probability updates
        # Constant bitrate with a 1 s buffer (rc_buf_sz = bufsize * 1000 / bit_rate ms): the tier's cap is
        # a link budget, so the encoder must not overshoot for long. minrate = maxrate = bit_rate is CBR.
        "bufsize": str(bps),
        "minrate": str(bps),
        "maxrate": str(bps),
        "undershoot-pct": "100",  # may undershoot freely (static scenes)
        "overshoot-pct": "15",  # but overshoot little: a weak link queues it
        "static-thresh": "1",  # skip encoding unchanged blocks
        "noise-sensitivity": "0",  # denoising costs CPU; the source is already an encoded stream
        "max-intra-rate": "300",  # a keyframe may take at most 3 frames' budget: no burst on the link
    }
    return encoder


def _h264_encoder(kbps: int) -> VideoCodecContext:
    encoder = av.CodecContext.create("libx264", "w")
    bps = kbps * 1000
    encoder.bit_rate = bps
    # Constrained baseline (no B-frames, CAVLC): what every Chromium decodes and what aiortc offers as
    # profile-level-id 42e01f; x264's "baseline" sets constraint_set1, i.e. constrained baseline.
    encoder.profile = "Baseline"
    encoder.options = {
        "preset": "ultrafast",  # ~10x cheaper than aiortc's `medium`; the tiers are small anyway
        "tune": "zerolatency",  # no frame lag, no B-frames, no look-ahead
        "level": "31",  # fits 720p30; our tiers are far below
        # Annex-B with SPS/PPS before every IDR (no global header): aiortc's H.264 packer splits on start
        # codes and a subscriber joining at a keyframe gets the parameter sets in-band.
        "x264-params": f"annexb=1:repeat-headers=1:vbv-maxrate={kbps}:vbv-bufsize={kbps}:nal-hrd=none",
    }
    return encoder


def force_keyframe(frame: VideoFrame) -> None:
    """Make the encoder code this frame as a keyframe (an intra frame the subscriber can start from)."""
    frame.pict_type = PictureType.I


def allow_any_picture(frame: VideoFrame) -> None:
    """Let the encoder choose the picture type (a decoded frame carries its source's type: reset it)."""
    frame.pict_type = PictureType.NONE


class Scaler:
    """One kept swscale context for one output size (PyAV would otherwise build one per frame)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._reformatter = VideoReformatter()

    def scale(self, frame: VideoFrame) -> VideoFrame:
        """`frame` at this size in yuv420p; the same frame when nothing needs doing."""
        # Bilinear: area averaging looks marginally better at 2:1 but costs ~2x; one thread, as above.
        return self._reformatter.reformat(
            frame, width=self.width, height=self.height, format="yuv420p",
            interpolation=Interpolation.BILINEAR, threads=1,
        )
