"""edl: electronic driving licences (ISO/IEC 18013-5 mdoc), issued and verified offline.

The recipes here are safe without COSE knowledge::

    from edl import Licence, KeySigner, issue_mdoc, respond, verify_device_response

    issued = issue_mdoc(licence, device_key=phone_public_key, signer=KeySigner(ds_key),
                        signer_certificate=ds_cert, now=now)
    response = respond(issued, device_key=KeySigner(phone_key), transcript=transcript)
    result = verify_device_response(response.to_bytes(), trust=[city_root], now=now,
                                    transcript=transcript)
    result.verdict   # Verdict.GREEN, AMBER or RED, with result.checks saying why

The rotating QR: ``issue_licence`` (the mdoc and the compact credentials), ``Wallet.frames``
on the phone, ``verify_presentation`` on the handheld with a ``verify_trust_list`` result.
``edl.cbor``, ``edl.cose``, ``edl.mdoc``, ``edl.compact`` and ``edl.presentation`` are the
hazmat layer underneath.
The library never reads the clock and never touches the network.
"""

from .cose import KeySigner, Signer
from .credentials import issue_licence
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
from .issue import DocumentSigner, issue_mdoc
from .mdoc import DeviceResponse, IssuerSigned, SessionTranscript
from .model import Licence, LicenceError
from .trust import TrustList, TrustRoot, verify_trust_list
from .verify import (
    Check,
    CheckStatus,
    Verdict,
    VerificationResult,
    verify_device_response,
    verify_issuer_signed,
)
from .verify_qr import verify_presentation
from .wallet import Wallet, respond
from .x509 import TrustAnchors

__version__ = "0.1.0"

__all__ = [
    "Check",
    "CheckStatus",
    "DeviceAuthError",
    "DeviceResponse",
    "DigestMismatchError",
    "DocumentSigner",
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
    "TrustList",
    "TrustRoot",
    "UnsupportedError",
    "UntrustedIssuerError",
    "VerificationError",
    "VerificationResult",
    "Verdict",
    "Wallet",
    "issue_licence",
    "issue_mdoc",
    "respond",
    "verify_device_response",
    "verify_issuer_signed",
    "verify_presentation",
    "verify_trust_list",
]
