"""edl: electronic driving licences (ISO/IEC 18013-5 mdoc), issued and verified offline.

Everything an issuer, a wallet or a verifier integration needs is importable from here; the
recipes are safe without COSE knowledge (README.md "Library" runs each of these as written)::

    now = datetime.now(timezone.utc)          # read at the app's edge: edl never reads the clock
    signer = DocumentSigner(KeySigner(ds_key), ds_cert)  # or CityAdmin(folder, store).document_signer(city)
    issued = issue_mdoc(licence, device_key=phone_key.public_key(), signer=signer, now=now)
    transcript = nonce_transcript(secrets.token_bytes(16))  # or session_transcript(engagement, reader_key)
    response = respond(issued, device_key=KeySigner(phone_key), transcript=transcript)
    result = verify_device_response(response.to_bytes(), trust=TrustAnchors([city_root]), now=now,
                                    transcript=transcript)
    result.verdict   # Verdict.GREEN, AMBER or RED, with result.checks saying why

* keys: ``KeySigner`` over a ``cryptography`` private key, or a key store
  (``open_key_store``: encrypted files or a PKCS#11 token) and ``CityAdmin`` for a city's keys;
  ``make_iaca`` / ``make_document_signer`` for certificates of a first try;
* trust lists: ``TrustRoot``, ``sign_root``, ``verify_root``, ``TrustList`` of ``CityEntry`` /
  ``SignerEntry``, ``sign_trust_list``, ``verify_trust_list``; ``Pins`` keeps a verifier's pinned
  roots and refuses older lists;
* the rotating QR: ``issue_licence`` (the mdoc and the compact credentials), ``Wallet`` on the
  phone (``render_frame`` at each refresh), ``verify_images`` (camera images) or
  ``verify_presentation`` (QR texts) on the handheld, whose ``QrVerificationResult`` says
  ``portrait_pending`` while the licence is authentic and only its portrait is still to read.

``edl.cbor``, ``edl.cose``, ``edl.mdoc``, ``edl.compact`` and ``edl.presentation`` are the
hazmat layer underneath. The library never reads the clock and never touches the network.
"""

from .city import CityAdmin
from .cose import KeySigner, Signer
from .credentials import issue_licence
from .errors import (
    DeviceAuthError,
    DigestMismatchError,
    EdlError,
    ExpiredError,
    KeyStoreError,
    MalformedError,
    SignatureError,
    TrustError,
    UnsupportedError,
    UntrustedIssuerError,
    VerificationError,
)
from .issue import DocumentSigner, issue_mdoc
from .keys import FileKeyStore, KeyStore, Pkcs11KeyStore, open_key_store
from .mdoc import DeviceResponse, IssuerSigned, SessionTranscript
from .model import Licence, LicenceError
from .pins import Pins
from .scan import verify_images
from .transcript import nonce_transcript, session_transcript
from .trust import (
    CityEntry,
    SignerEntry,
    TrustList,
    TrustRoot,
    VerifiedTrustList,
    operator_key_id,
    sign_root,
    sign_trust_list,
    verify_root,
    verify_trust_list,
)
from .verify import (
    Check,
    CheckStatus,
    Verdict,
    VerificationResult,
    verify_device_response,
    verify_issuer_signed,
)
from .verify_qr import QrVerificationResult, verify_presentation
from .wallet import Wallet, respond
from .x509 import TrustAnchors, make_document_signer, make_iaca

__version__ = "0.1.0"

__all__ = [
    "Check",
    "CheckStatus",
    "CityAdmin",
    "CityEntry",
    "DeviceAuthError",
    "DeviceResponse",
    "DigestMismatchError",
    "DocumentSigner",
    "EdlError",
    "ExpiredError",
    "FileKeyStore",
    "IssuerSigned",
    "KeySigner",
    "KeyStore",
    "KeyStoreError",
    "Licence",
    "LicenceError",
    "MalformedError",
    "Pins",
    "Pkcs11KeyStore",
    "QrVerificationResult",
    "SessionTranscript",
    "SignatureError",
    "Signer",
    "SignerEntry",
    "TrustAnchors",
    "TrustError",
    "TrustList",
    "TrustRoot",
    "UnsupportedError",
    "UntrustedIssuerError",
    "Verdict",
    "VerificationError",
    "VerificationResult",
    "VerifiedTrustList",
    "Wallet",
    "issue_licence",
    "issue_mdoc",
    "make_document_signer",
    "make_iaca",
    "nonce_transcript",
    "open_key_store",
    "operator_key_id",
    "respond",
    "session_transcript",
    "sign_root",
    "sign_trust_list",
    "verify_device_response",
    "verify_images",
    "verify_issuer_signed",
    "verify_presentation",
    "verify_root",
    "verify_trust_list",
]
