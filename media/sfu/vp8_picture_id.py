"""VP8 picture IDs and TL0PICIDX kept continuous across a consumer's source switches (RFC 7741 §4.2).

A subscriber's decoder sees one stream even when the consumer moves between the original and a
transcoded tier: a jump in picture ID reads as lost pictures (and a request for a new keyframe). Until
the first switch nothing is rewritten, so the forwarding path pays nothing.
"""

from __future__ import annotations


def read_picture_ids(payload: bytes) -> tuple[int | None, int, int | None, int, int]:
    """(picture id, its width in bits, TL0PICIDX, offset of the picture id, offset of TL0PICIDX);
    offsets are 0 where absent."""
    if len(payload) < 2 or not payload[0] & 0x80:
        return None, 0, None, 0, 0
    ext = payload[1]
    i = 2
    pic, bits, pic_at = None, 0, 0
    if ext & 0x80 and i < len(payload):
        pic_at = i
        if payload[i] & 0x80:
            if i + 1 >= len(payload):
                return None, 0, None, 0, 0
            pic, bits = ((payload[i] & 0x7F) << 8) | payload[i + 1], 15
            i += 2
        else:
            pic, bits = payload[i], 7
            i += 1
    tl0, tl0_at = None, 0
    if ext & 0x40 and i < len(payload):
        tl0, tl0_at = payload[i], i
    return pic, bits, tl0, pic_at, tl0_at


class PictureIdRewriter:
    """One consumer's mapping from its source's picture IDs to the ones its subscriber sees."""

    def __init__(self) -> None:
        self._pic_offset = 0
        self._tl0_offset = 0
        self.active = False  # a switch has happened: payloads are rewritten from now on

    def restart(self, last_sent: bytes | None, first_new: bytes) -> None:
        """A new epoch starts at `first_new` (a keyframe) after `last_sent` (rewritten, as sent)."""
        if last_sent is None:
            return
        old_pic, _, old_tl0, _, _ = read_picture_ids(last_sent)
        new_pic, bits, new_tl0, _, _ = read_picture_ids(first_new)
        if old_pic is not None and new_pic is not None:
            self._pic_offset = (old_pic + 1 - new_pic) % (1 << bits)
        if old_tl0 is not None and new_tl0 is not None:
            self._tl0_offset = (old_tl0 + 1 - new_tl0) % 256
        self.active = self.active or self._pic_offset != 0 or self._tl0_offset != 0

    def rewrite(self, payload: bytes) -> bytes:
        pic, bits, tl0, pic_at, tl0_at = read_picture_ids(payload)
        if pic is None and tl0 is None:
            return payload
        out = bytearray(payload)
        if pic is not None:
            value = (pic + self._pic_offset) % (1 << bits)
            if bits == 15:
                out[pic_at] = 0x80 | (value >> 8)
                out[pic_at + 1] = value & 0xFF
            else:
                out[pic_at] = value
        if tl0 is not None:
            out[tl0_at] = (tl0 + self._tl0_offset) % 256
        return bytes(out)
