"""A publisher without a network: encodes numbered frames with PyAV and hands their RTP to a producer.

It is the producer's real `Upstream` too: a PLI makes its next frame a keyframe, as a browser's would.
And a tier receiver: a router tap that rebuilds a tier's frames and decodes them with a fresh decoder.
"""

from __future__ import annotations

import random

import av
import cv2
from aiortc.codecs import H264Encoder, Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media.adaptive.codecs import H264, VIDEO_TIME_BASE, allow_any_picture, force_keyframe, open_decoder, open_encoder
from media.adaptive.frame_assembler import FrameAssembler
from media.sfu.producer import Producer
from media.sfu.router import Router
from tests.helpers.media import read_stamp, stamped_frame

VP8_CODEC = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
H264_CODEC = RTCRtpCodecParameters(
    mimeType="video/H264", clockRate=90000, payloadType=102,
    parameters={"packetization-mode": "1", "level-asymmetry-allowed": "1", "profile-level-id": "42e01f"},
)


class RtpPublisher:
    """Frames 0, 1, 2, … at `width`×`height`, encoded live (so PLIs are honoured), as RTP packets."""

    def __init__(self, codec: RTCRtpCodecParameters, width: int, height: int, fps: int = 15, kbps: int = 800) -> None:
        self.codec = codec
        self.width, self.height, self.fps = width, height, fps
        mime = codec.mimeType.lower()
        self._kbps = kbps
        self._encoder = open_encoder(mime, width, height, kbps, fps)
        self._packer = H264Encoder() if mime == H264 else Vp8Encoder()
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._ssrc = random.getrandbits(32)
        self._keyframe_wanted = False
        self.sent_frames = 0
        self.plis = 0
        self.keyframes: list[int] = []  # numbers of the frames sent as keyframes
        self.nacks: list[int] = []

    def resize(self, width: int, height: int) -> None:
        """Change the picture size mid-stream, as a browser adapting its resolution does (keyframe next)."""
        self.width, self.height = width, height
        self._encoder = open_encoder(self.codec.mimeType.lower(), width, height, self._kbps, self.fps)
        self._keyframe_wanted = True

    # Upstream: what the producer may ask of this publisher
    async def send_pli(self) -> None:
        self.plis += 1
        self._keyframe_wanted = True

    async def send_nack(self, lost: list[int]) -> None:
        self.nacks += lost  # not answered: a lost packet stays lost

    def next_frame(self) -> list[RtpPacket]:
        """The next numbered frame's packets (marker on the last)."""
        n = self.sent_frames
        image = cv2.resize(stamped_frame(n), (self.width, self.height), interpolation=cv2.INTER_NEAREST)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = n * 90000 // self.fps
        frame.time_base = VIDEO_TIME_BASE
        if self._keyframe_wanted or n == 0:
            self._keyframe_wanted = False
            self.keyframes.append(n)
            force_keyframe(frame)
        else:
            allow_any_picture(frame)
        payloads: list[bytes] = []
        for packet in self._encoder.encode(frame):
            payloads += self._packer.pack(packet)[0]
        timestamp = (self._ts + n * 90000 // self.fps) & 0xFFFFFFFF
        packets = []
        for i, payload in enumerate(payloads):
            packets.append(RtpPacket(
                payload_type=self.codec.payloadType, marker=int(i == len(payloads) - 1),
                sequence_number=self._seq, timestamp=timestamp, ssrc=self._ssrc, payload=payload,
            ))
            self._seq = (self._seq + 1) & 0xFFFF
        self.sent_frames += 1
        return packets

    async def send_frame(self, producer: Producer, drop: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        """Send the next frame into `producer`, leaving out the packets whose index is in `drop`."""
        for i, packet in enumerate(self.next_frame()):
            if i not in drop:
                producer.receive_rtp(packet)


class TierReceiver:
    """A router tap on a tier: rebuilds its frames and decodes them as a subscriber's fresh decoder would."""

    def __init__(self, router: Router, source_id: str, codec: RTCRtpCodecParameters) -> None:
        self.packets = 0
        self.sizes: list[tuple[int, int]] = []
        self.numbers: list[int | None] = []
        self.keyframes = 0
        self.errors = 0
        self.losses = 0
        self._assembler = FrameAssembler(codec)
        self._decoder = open_decoder(codec.mimeType)
        router.add_tap(source_id, self)

    def send_rtp(self, packet: RtpPacket, abs_send_time: bytes) -> None:
        self.packets += 1
        frames, lost = self._assembler.add(packet)
        self.losses += lost
        for frame in frames:
            if not self.sizes and not frame.keyframe:
                self.errors += 1  # a stream must start at a keyframe
                continue
            self.keyframes += frame.keyframe
            try:
                pictures = self._decoder.decode(av.Packet(frame.data))
            except av.error.FFmpegError:
                self.errors += 1
                continue
            for picture in pictures:
                self.sizes.append((picture.width, picture.height))
                self.numbers.append(read_stamp(picture))

    @property
    def frames(self) -> int:
        return len(self.sizes)
