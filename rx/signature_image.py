"""The doctor's handwritten signature as an image, printed above "Electronically signed by".

It is decoration for the reader, not the signature: the Ed25519 signature and the QR code are what can
be checked. Checked as the portal checks uploads (the type read from the content, never the name; a size
limit), and also decoded, so a damaged or enormous picture is refused when uploaded rather than when a
prescription is printed.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from portal.uploads import sniff

MAX_BYTES = 512 * 1024
MAX_PIXELS = (2000, 1000)
ACCEPTED = frozenset({"image/png", "image/jpeg"})


class SignatureImageError(ValueError):
    """An image that cannot be a doctor's signature on a prescription; nothing was stored."""


def check_signature_image(content: bytes) -> bytes:
    """The image bytes, if they are a readable PNG or JPEG of sensible size; else SignatureImageError."""
    if len(content) > MAX_BYTES:
        raise SignatureImageError(f"the signature image is too large (at most {MAX_BYTES // 1024} KB)")
    if sniff(content) not in ACCEPTED:
        raise SignatureImageError("the signature image must be a PNG or JPEG file")
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise SignatureImageError(f"the signature image cannot be read: {exc}") from None
    if width > MAX_PIXELS[0] or height > MAX_PIXELS[1]:
        raise SignatureImageError(f"the signature image is {width}×{height} pixels; at most "
                                  f"{MAX_PIXELS[0]}×{MAX_PIXELS[1]}")
    return content
