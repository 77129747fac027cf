"""edl: electronic driving licences (ISO/IEC 18013-5 mdoc), issued and verified offline.

The recipes here are safe without COSE knowledge::

    from edl import Licence, KeySigner, issue_mdoc, respond, verify_device_response

    issued = issue_mdoc(licence, device_key=phone_public_key, signer=KeySigner(ds_key),
                        signer_certificate=ds_cert, now=now)
    response = respond(issued, device_key=KeySigner(phone_key), transcript=transcript)
    result = verify_device_response(response.to_bytes(), trust=[city_root], now=now,
                                    transcript=transcript)
    result.verdict   # Verdict.GREEN, AMBER or RED, with result.checks saying why

``edl.cbor``, ``edl.cose`` and ``edl.mdoc`` are the hazmat layer underneath.
The library never reads the clock and never touches the network.
"""

from .cose import KeySigner, Signer
from .errors import (
    DeviceAuthError,
    DigestMismatchError,
    EdlError,
    ExpiredError,
    MalformedError,
    SignatureError,
    UnsupportedError,
    UntrustedIssuerError,
    VerificationError,
)
from .issue import issue_mdoc
from .mdoc import DeviceResponse, IssuerSigned, SessionTranscript
from .model import Licence, LicenceError
from .verify import (
    Check,
    CheckStatus,
    Verdict,
    VerificationResult,
    verify_device_response,
    verify_issuer_signed,
)
from .wallet import respond
from .x509 import TrustAnchors

__version__ = "0.1.0"

__all__ = [
    "Check",
    "CheckStatus",
    "DeviceAuthError",
    "DeviceResponse",
    "DigestMismatchError",
    "EdlError",
    "ExpiredError",
    "IssuerSigned",
    "KeySigner",
    "Licence",
    "LicenceError",
    "MalformedError",
    "SessionTranscript",
    "SignatureError",
    "Signer",
    "TrustAnchors",
    "UnsupportedError",
    "UntrustedIssuerError",
    "VerificationError",
    "VerificationResult",
    "Verdict",
    "issue_mdoc",
    "respond",
    "verify_device_response",
    "verify_issuer_signed",
]
