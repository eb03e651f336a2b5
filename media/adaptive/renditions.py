"""Renditions: one per router. Starts a producer's transcoder when the first subscriber needs a lower
rung, shares it with every subscriber on that rung, and stops it when the last one leaves.

A rung is a name from the ladder: `T0` (the producer itself), `T1`–`T3` (video tiers), `full` (the
producer's own audio) or `low` (the shared low-rate audio tier). `A` (video paused) needs no source.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import TYPE_CHECKING

from media.sfu.consumer import Source
from media.sfu.producer import Producer
from media.sfu.router import Router

from .ladder import ORIGINAL, Ladder

if TYPE_CHECKING:
    from .audio_transcoder import AudioTranscoder
    from .transcoder import VideoTranscoder

AUDIO_FULL = "full"
AUDIO_LOW = "low"


class Renditions:
    def __init__(self, router: Router, ladder: Ladder, executor: Executor | None = None) -> None:
        self.router = router
        self.ladder = ladder
        self._executor = executor
        self._video: dict[str, VideoTranscoder] = {}
        self._audio: dict[str, AudioTranscoder] = {}

    def acquire(self, producer: Producer, rung: str) -> Source:
        """The source for `rung` of `producer`; every acquire of a transcoded rung needs its release."""
        if rung in (ORIGINAL, AUDIO_FULL):
            return producer
        if producer.kind == "audio":
            from .audio_transcoder import AudioTranscoder

            audio = self._audio.get(producer.id)
            if audio is None:
                audio = self._audio[producer.id] = AudioTranscoder(
                    self.router, producer, self.ladder.audio_low, self._executor)
                producer.on_close.append(lambda: self._closed(producer.id))
            return audio.acquire()
        from .transcoder import VideoTranscoder

        video = self._video.get(producer.id)
        if video is None:
            video = self._video[producer.id] = VideoTranscoder(self.router, producer, self.ladder, self._executor)
            producer.on_close.append(lambda: self._closed(producer.id))
        return video.acquire(rung)

    def release(self, producer: Producer, rung: str) -> None:
        if rung in (ORIGINAL, AUDIO_FULL):
            return
        if producer.kind == "audio":
            audio = self._audio.get(producer.id)
            if audio is not None:
                audio.release()
        else:
            video = self._video.get(producer.id)
            if video is not None:
                video.release(rung)

    def video_transcoder(self, producer_id: str) -> VideoTranscoder | None:
        return self._video.get(producer_id)

    def _closed(self, producer_id: str) -> None:
        for transcoders in (self._video, self._audio):
            transcoder = transcoders.pop(producer_id, None)
            if transcoder is not None:
                transcoder.close()

    def close(self) -> None:
        """Idempotent: stops every transcoder."""
        for producer_id in list(self._video) + list(self._audio):
            self._closed(producer_id)
