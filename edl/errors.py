"""Every error `edl` raises on hostile input, with a stable code and a plain sentence.

This module owns the exception tree; it does not decide verdicts (see ``edl.verify``).
Hostile input raises an :class:`EdlError`; a caller's own mistake (a wrong type, an
impossible option) raises ``ValueError`` or ``TypeError`` as Python code expects.

::

    EdlError
    ├── MalformedError            "malformed"          bytes that are not what they claim to be
    │   └── StatusIndexError      "status_index"       an index outside its status list
    ├── UnsupportedError          "unsupported"        well-formed but outside what we accept
    ├── KeyStoreError             "key_store"          a key could not be read or used
    ├── MixedCarouselError        "mixed_carousel"     QR frames of two licences read together
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
    ├── TrustError
    │   ├── TrustListRollbackError "trust_rollback"
    │   ├── TrustListExpiredError  "trust_expired"
    │   ├── ThresholdError         "insufficient_signatures"
    │   └── PinConflictError       "pin_conflict"
    ├── StatusListError           "status_list"        a status list refused; its code says why
    │     status_malformed, status_too_large, status_bits, status_uri, status_unsupported,
    │     status_bad_signature, status_untrusted, status_signer_revoked, status_signer_expired,
    │     status_signer_eku, status_signer_key_usage, status_signer_is_ca,
    │     status_signer_validity_period, status_signer_country, status_signed_outside_certificate,
    │     status_expired, status_not_yet_valid, status_uri_mismatch, status_rollback
    └── BundleError               "bundle"             a handheld bundle refused as a whole
          bundle_too_large, bundle_malformed, bundle_version, bundle_damaged, bundle_unknown_city,
          bundle_duplicate, bundle_misfiled
          (a part that fails its own check raises that part's error: TrustError, StatusListError)

Untrusted values never go into a message as they are: :func:`safe_repr` renders them short and
safe (an attacker's 5,000-digit CBOR integer would make ``str()`` itself raise).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Set
from typing import Any

from cryptography.exceptions import InternalError, UnsupportedAlgorithm
from cryptography.x509 import InvalidVersion

__all__ = [
    "BundleError",
    "CRYPTOGRAPHY_LOAD_ERRORS",
    "CertificateProfileError",
    "DeviceAuthError",
    "DigestMismatchError",
    "DocTypeMismatchError",
    "EdlError",
    "ExpiredError",
    "KeyStoreError",
    "MalformedError",
    "MixedCarouselError",
    "NotYetValidError",
    "PinConflictError",
    "RevokedError",
    "SignatureError",
    "StalePresentationError",
    "StatusIndexError",
    "StatusListError",
    "SuspendedError",
    "ThresholdError",
    "TrustError",
    "TrustListExpiredError",
    "TrustListRollbackError",
    "UnsupportedError",
    "UntrustedIssuerError",
    "VerificationError",
    "safe_repr",
]

CRYPTOGRAPHY_LOAD_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    InternalError,
    InvalidVersion,
)
"""Everything ``cryptography``'s PEM/DER loaders raise on bad input (``load_pem_*``,
``load_der_*``): not only ``ValueError`` but an unknown key type or curve
(``UnsupportedAlgorithm``), a certificate version other than 1 or 3 (``InvalidVersion``),
OpenSSL trouble (``InternalError``), and ``TypeError`` for a password given or missing."""


class EdlError(Exception):
    """Base of every error raised on hostile or unusable input.

    ``code`` is stable (scripts and apps match on it); ``str(err)`` is a sentence
    for a person; ``diagnostics()`` adds what to do about it.
    """

    code: str = "error"
    advice: str = ""

    def __init__(self, message: str, *, code: str | None = None, advice: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if advice is not None:  # what to do, when the class's advice does not fit the input
            self.advice = advice

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code

    def diagnostics(self) -> str:
        """The message plus advice, for a terminal or a log line: each a sentence, said once."""
        message = self.message.strip()
        if not self.advice or self.advice in message:
            return message
        if message and message[-1] not in ".!?":
            message += "."
        return f"{message} {self.advice}".strip()


class MalformedError(EdlError):
    """Bytes that cannot be read as what was expected: not CBOR, a wrong shape, trailing bytes,
    duplicate keys, a size or nesting over its bound (``malformed``)."""

    code = "malformed"
    advice = "The data is damaged or is not a driving licence credential."


class StatusIndexError(MalformedError):
    """A status index outside its list: the credential and the list do not belong together."""

    code = "status_index"
    advice = "The licence names a place its status list does not have."


class UnsupportedError(EdlError):
    """Well-formed input that edl does not accept: an algorithm, curve, version or credential
    kind outside its allowlist (``unsupported``)."""

    code = "unsupported"
    advice = "This kind of credential or algorithm is not accepted here."


class KeyStoreError(EdlError):
    """A key store that cannot be used: missing, damaged, locked by a wrong passphrase or PIN,
    or an unknown city or key name; the message names the file and the fix."""

    code = "key_store"


class MixedCarouselError(EdlError):
    """The main QR frames of two different licences were read together."""

    code = "mixed_carousel"
    advice = "Scan one phone at a time."


class VerificationError(EdlError):
    """Base of the reasons a credential is not valid (a check ran and failed); each subclass
    has its own stable ``code``."""

    code = "verification_failed"


class SignatureError(VerificationError):
    """A signature does not verify over the bytes received (``bad_signature``)."""

    code = "bad_signature"
    advice = "The licence has been altered or was not signed by its claimed issuer."


class UntrustedIssuerError(VerificationError):
    """No chain from the signer to a trusted root, or the signer is revoked in the trust list
    (``untrusted_issuer``)."""

    code = "untrusted_issuer"
    advice = "The issuing authority is not in this device's trust material."


class CertificateProfileError(VerificationError):
    code = "certificate_profile"
    advice = "The issuer's certificate is not fit for signing licences."


class DigestMismatchError(VerificationError):
    """A disclosed element's bytes do not hash to the digest the issuer signed (``tampered``)."""

    code = "tampered"
    advice = "A data element was changed after the licence was issued."


class DocTypeMismatchError(VerificationError):
    code = "doc_type_mismatch"


class ExpiredError(VerificationError):
    """A certificate, signed object or credential is past its end of validity (``expired``)."""

    code = "expired"


class NotYetValidError(VerificationError):
    code = "not_yet_valid"


class StalePresentationError(VerificationError):
    code = "stale_qr"
    advice = "QR expired: ask the holder to refresh."


class DeviceAuthError(VerificationError):
    """The presentation is not signed by the device key the issuer bound the licence to
    (``not_holder``)."""

    code = "not_holder"
    advice = "The licence is not being presented from the holder's own device."


class RevokedError(VerificationError):
    code = "revoked"


class SuspendedError(VerificationError):
    code = "suspended"


class TrustError(EdlError):
    """Base of trust-material failures: a trust list or root that does not verify under the
    pins, a rollback, a threshold not met, a clock turned back, a pin conflict."""

    code = "trust"


class TrustListRollbackError(TrustError):
    code = "trust_rollback"
    advice = (
        "Load the newest trust list from the operator. If the operator really started over with "
        "new keys, pin its new root with 'edl trust pin --replace ROOT_FILE' ('edl trust pins' "
        "shows what this device trusts)."
    )


class TrustListExpiredError(TrustError):
    code = "trust_expired"


class ThresholdError(TrustError):
    code = "insufficient_signatures"


class ClockTurnedBackError(TrustError):
    """The device's clock reads earlier than a time a trusted authority signed and the device
    has seen: expired data must not come back to life on a turned-back clock."""

    code = "clock_turned_back"
    advice = "Set this device's clock to the right time; until then nothing can be checked."


class PinConflictError(TrustError):
    """Pinning a root of other keys under the name of a pinned operator, without ``replace``."""

    code = "pin_conflict"


class StatusListError(EdlError):
    """A status list (``specs/status-list.md``) that cannot be used: damaged, too large, not
    signed by its city's status signer, expired, or not the list asked for. ``code`` says which
    (the codes are listed in the module docstring and in the spec's verification table)."""

    code = "status_list"
    advice = "Load the city's current status list, as published."


class BundleError(EdlError):
    """A handheld bundle refused as a whole: damaged, of another format version, or holding a
    status list of a city its trust lists do not know, one list twice, or one filed under the
    wrong city. A part that fails its own check raises that part's own error instead."""

    code = "bundle"
    advice = "Load a complete bundle, as published."


# --- untrusted values in messages -----------------------------------------------------------

_MAX_DEPTH = 3
_MAX_INT_BITS = 128
_MAX_BYTES_SHOWN = 16


def safe_repr(value: object, *, limit: int = 60) -> str:
    """``value`` as one short line for an error message, whatever an attacker made it.

    Safe for everything decoded CBOR or JSON can hold: an integer too big for ``str()``
    (Python refuses more than 4,300 digits) is shown by its size, nesting is cut after three
    levels, texts and byte strings are cut (bytes shown as ``h'hex'`` with their length),
    control characters are escaped, and a value of any other type is shown only by its type's
    name. The result has at most ``limit`` characters.

    >>> safe_repr(10**5000)
    '<integer of 16610 bits>'
    >>> safe_repr({"version": [[["1.0"]]], "x": b"\\x00" * 20}, limit=80)
    "{'version': [[[…]]], 'x': h'00000000000000000000000000000000…' (20 bytes)}"
    """
    if limit < 8:
        raise ValueError("limit must be at least 8")
    text = _render(value, 0, limit)
    return text if len(text) <= limit else text[: limit - 1].rstrip("…") + "…"


def _render(value: object, depth: int, room: int) -> str:
    # ``room``: how much more text is worth making; the caller cuts the result.
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() <= _MAX_INT_BITS:
            return int.__repr__(value)
        return f"<{'negative ' if value < 0 else ''}integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        shown = repr(value[:room])
        return shown + "…" if len(value) > room else shown
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value[:_MAX_BYTES_SHOWN])
        size = len(value) if not isinstance(value, memoryview) else value.nbytes
        if size <= _MAX_BYTES_SHOWN:
            return f"h'{data.hex()}'"
        return f"h'{data.hex()}…' ({size} bytes)"
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        if depth >= _MAX_DEPTH:
            return "{…}"
        return _join("{", "}", value.items(), depth, room, pairs=True)
    if isinstance(value, (list, tuple, Set)):
        if depth >= _MAX_DEPTH:
            return "[…]"
        open_, close = ("{", "}") if isinstance(value, Set) else ("[", "]")
        return _join(open_, close, value, depth, room, pairs=False)
    tag = getattr(value, "tag", None)
    if type(value).__name__ == "CBORTag" and isinstance(tag, int):
        return f"{_render(tag, depth, room)}({_render(getattr(value, 'value', None), depth + 1, room)})"
    return f"<{type(value).__name__}>"


def _join(open_: str, close: str, items: Iterable[Any], depth: int, room: int, *, pairs: bool) -> str:
    parts: list[str] = []
    used = 2
    for item in items:
        if used >= room:
            parts.append("…")
            break
        if pairs:
            k, v = item
            part = f"{_render(k, depth + 1, room - used)}: {_render(v, depth + 1, room - used)}"
        else:
            part = _render(item, depth + 1, room - used)
        parts.append(part)
        used += len(part) + 2
    return open_ + ", ".join(parts) + close
