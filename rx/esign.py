"""The seam where a licensed electronic-signature provider could sign the PDF later (interface only).

In India a "digital signature" is one made with a Digital Signature Certificate from a certifying
authority licensed by the Controller of Certifying Authorities (Information Technology Act 2000, s. 3,
24 and 35), or an Aadhaar eSign through a licensed eSign service provider (IT Act Second Schedule;
CCA eSign API specification). Vaidya's own Ed25519 signature is an electronic signature the service
can verify, not one of those, and the printout says "Electronically signed". A provider that signs the
PDF itself (PAdES) would implement `ExternalSigner` and be called on the rendered PDF before it is
stored or sent; none is shipped.
"""

from __future__ import annotations

from typing import Protocol


class ExternalSigner(Protocol):
    """A licensed signing service (a DSC token, or an eSign service provider) that signs a rendered PDF."""

    #: Shown on the verification page and in logs, e.g. "eMudhra eSign"; "none" for the null signer.
    name: str

    def sign_pdf(self, pdf: bytes, doctor_id: str) -> bytes:
        """The PDF with the provider's signature embedded; raise on refusal, never return it unsigned."""
        ...


class NoExternalSigner:
    """The default: no licensed provider; the PDF carries Vaidya's electronic signature only."""

    name = "none"

    def sign_pdf(self, pdf: bytes, doctor_id: str) -> bytes:
        return pdf
