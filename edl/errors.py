"""Every error `edl` raises on hostile input, with a stable code and a plain sentence.

This module owns the exception tree; it does not decide verdicts (see ``edl.verify``).
Hostile input raises an :class:`EdlError`; a caller's own mistake (a wrong type, an
impossible option) raises ``ValueError`` or ``TypeError`` as Python code expects.

::

    EdlError
    ├── MalformedError            "malformed"          bytes that are not what they claim to be
    ├── UnsupportedError          "unsupported"        well-formed but outside what we accept
    ├── KeyStoreError             "key_store"          a key could not be read or used
    ├── VerificationError
    │   ├── SignatureError        "bad_signature"      a signature or MAC does not verify
    │   ├── UntrustedIssuerError  "untrusted_issuer"   no trust anchor vouches for the signer
    │   ├── CertificateProfileError "certificate_profile" a certificate breaks its profile
    │   ├── DigestMismatchError   "tampered"           a data element differs from what was signed
    │   ├── DocTypeMismatchError  "doc_type_mismatch"  the document claims another docType
    │   ├── ExpiredError          "expired"            past its validity
    │   ├── NotYetValidError      "not_yet_valid"      before its validity
    │   ├── StalePresentationError "stale_qr"          a presentation older than the window
    │   ├── DeviceAuthError       "not_holder"         the holder's device did not sign this
    │   ├── RevokedError          "revoked"
    │   └── SuspendedError        "suspended"
    └── TrustError
        ├── TrustListRollbackError "trust_rollback"
        ├── TrustListExpiredError  "trust_expired"
        └── ThresholdError         "insufficient_signatures"
"""

from __future__ import annotations

__all__ = [
    "CertificateProfileError",
    "DeviceAuthError",
    "DigestMismatchError",
    "DocTypeMismatchError",
    "EdlError",
    "ExpiredError",
    "KeyStoreError",
    "MalformedError",
    "NotYetValidError",
    "RevokedError",
    "SignatureError",
    "StalePresentationError",
    "SuspendedError",
    "ThresholdError",
    "TrustError",
    "TrustListExpiredError",
    "TrustListRollbackError",
    "UnsupportedError",
    "UntrustedIssuerError",
    "VerificationError",
]


class EdlError(Exception):
    """Base of every error raised on hostile or unusable input.

    ``code`` is stable (scripts and apps match on it); ``str(err)`` is a sentence
    for a person; ``diagnostics()`` adds what to do about it.
    """

    code: str = "error"
    advice: str = ""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code

    def diagnostics(self) -> str:
        """The message plus advice, for a terminal or a log line."""
        return f"{self.message} {self.advice}".strip()


class MalformedError(EdlError):
    code = "malformed"
    advice = "The data is damaged or is not a driving licence credential."


class UnsupportedError(EdlError):
    code = "unsupported"
    advice = "This kind of credential or algorithm is not accepted here."


class KeyStoreError(EdlError):
    code = "key_store"


class VerificationError(EdlError):
    code = "verification_failed"


class SignatureError(VerificationError):
    code = "bad_signature"
    advice = "The licence has been altered or was not signed by its claimed issuer."


class UntrustedIssuerError(VerificationError):
    code = "untrusted_issuer"
    advice = "The issuing authority is not in this device's trust material."


class CertificateProfileError(VerificationError):
    code = "certificate_profile"
    advice = "The issuer's certificate is not fit for signing licences."


class DigestMismatchError(VerificationError):
    code = "tampered"
    advice = "A data element was changed after the licence was issued."


class DocTypeMismatchError(VerificationError):
    code = "doc_type_mismatch"


class ExpiredError(VerificationError):
    code = "expired"


class NotYetValidError(VerificationError):
    code = "not_yet_valid"


class StalePresentationError(VerificationError):
    code = "stale_qr"
    advice = "QR expired: ask the holder to refresh."


class DeviceAuthError(VerificationError):
    code = "not_holder"
    advice = "The licence is not being presented from the holder's own device."


class RevokedError(VerificationError):
    code = "revoked"


class SuspendedError(VerificationError):
    code = "suspended"


class TrustError(EdlError):
    code = "trust"


class TrustListRollbackError(TrustError):
    code = "trust_rollback"


class TrustListExpiredError(TrustError):
    code = "trust_expired"


class ThresholdError(TrustError):
    code = "insufficient_signatures"
