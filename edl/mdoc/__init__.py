"""ISO/IEC 18013-5 mdoc structures (hazmat layer): items, MSO, IssuerSigned, DeviceResponse.

Parsing here never verifies; use ``edl.verify`` for a verdict and ``edl.issue`` to sign.
"""

from .device_response import (
    DeviceResponse,
    DeviceSigned,
    Document,
    SessionTranscript,
    derive_emac_key,
    device_authentication_bytes,
)
from .issuer_signed import IssuerSigned
from .items import IssuerSignedItem
from .mso import DeviceKeyInfo, MobileSecurityObject, StatusReference, ValidityInfo
from .namespaces import DOC_TYPE_MDL, NAMESPACE_MDL

__all__ = [
    "DOC_TYPE_MDL",
    "DeviceKeyInfo",
    "DeviceResponse",
    "DeviceSigned",
    "Document",
    "IssuerSigned",
    "IssuerSignedItem",
    "MobileSecurityObject",
    "NAMESPACE_MDL",
    "SessionTranscript",
    "StatusReference",
    "ValidityInfo",
    "derive_emac_key",
    "device_authentication_bytes",
]
