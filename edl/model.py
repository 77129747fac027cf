"""The driving licence as a typed, validated domain object.

This module owns what a licence *is*: the ISO 18013-5 mDL elements (``org.iso.18013.5.1``)
with their types checked, plus elements of a city's own namespaces. A wrong or missing
field raises :class:`LicenceError` naming the field. It knows nothing about signing
(``edl.issue``) or wire encoding (``edl.mdoc``).

The portrait must be a JPEG (or JPEG 2000) image that decodes whole, at most
:data:`MAX_PORTRAIT_BYTES` and :data:`MAX_PORTRAIT_SIDE` pixels a side (:func:`check_portrait`).

>>> import base64
>>> from edl.demo import make_portrait
>>> lic = Licence.from_json({"family_name": "Li", "given_name": "Na", "birth_date": "1990-01-02",
...     "issue_date": "2024-01-01", "expiry_date": "2030-01-01", "issuing_country": "CN",
...     "issuing_authority": "Qingdao", "document_number": "QD1",
...     "portrait": base64.b64encode(make_portrait()).decode(),
...     "driving_privileges": [{"vehicle_category_code": "C1"}], "un_distinguishing_sign": "CHN"})
>>> lic.family_name, lic.expiry_date
('Li', datetime.date(2030, 1, 1))
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .mdoc.namespaces import (
    DOC_TYPE_MDL,
    ELEMENTS,
    NAMESPACE_MDL,
    element_spec,
    from_json_value,
    validate_value,
)

__all__ = ["MAX_PORTRAIT_BYTES", "MAX_PORTRAIT_SIDE", "Licence", "LicenceError", "check_portrait"]

MAX_PORTRAIT_BYTES = 512 * 1024
"""Largest portrait accepted for issuing (a DeviceResponse must stay under 1 MiB)."""
MAX_PORTRAIT_SIDE = 2048
"""Largest width or height of a portrait, in pixels; checked before the image is decoded."""


class LicenceError(ValueError):
    """A licence field is missing or wrong; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def check_portrait(data: bytes) -> tuple[int, int]:
    """(width, height) of a portrait that Pillow decodes whole as JPEG or JPEG 2000.

    Raises :class:`LicenceError` for anything else: not such an image, truncated or damaged
    data, more than :data:`MAX_PORTRAIT_BYTES`, or a side over :data:`MAX_PORTRAIT_SIDE`
    pixels (checked from the header, before decoding: a small file that decodes to a huge
    picture is refused without being decoded).
    """
    from PIL import Image

    if len(data) > MAX_PORTRAIT_BYTES:
        raise LicenceError("portrait", f"portrait: more than {MAX_PORTRAIT_BYTES // 1024} KiB")
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "JPEG2000")) as img:
            width, height = img.size
            if not (0 < width <= MAX_PORTRAIT_SIDE and 0 < height <= MAX_PORTRAIT_SIDE):
                raise LicenceError(
                    "portrait",
                    f"portrait: {width}x{height} pixels; at most {MAX_PORTRAIT_SIDE} a side",
                )
            img.load()
    except LicenceError:
        raise
    except Image.DecompressionBombError:
        raise LicenceError("portrait", "portrait: its header claims a picture too large to decode") from None
    except Exception as e:  # noqa: BLE001 - Pillow's decoders raise many unrelated types on bad data
        raise LicenceError(
            "portrait", f"portrait: not a JPEG or JPEG 2000 image that can be read ({type(e).__name__})"
        ) from None
    return width, height


def _field_of(message: str) -> str:
    return message.split(":", 1)[0].split("[", 1)[0].split(".", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Licence:
    """An mDL's data. ``elements``: ``org.iso.18013.5.1`` identifiers → Python values;
    ``extra``: other namespaces → identifiers → values (kept as given)."""

    elements: Mapping[str, Any]
    extra: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    doc_type: str = DOC_TYPE_MDL

    def __post_init__(self) -> None:
        for ident, value in self.elements.items():
            spec = element_spec(ident)
            if spec is None:
                raise LicenceError(ident, f"{ident}: not an element of {NAMESPACE_MDL}")
            try:
                validate_value(spec, value)
            except ValueError as e:
                raise LicenceError(ident, str(e)) from None
        missing = [
            s.identifier for s in ELEMENTS.values() if s.mandatory and s.identifier not in self.elements
        ]
        if missing:
            raise LicenceError(missing[0], f"missing mandatory element(s): {', '.join(missing)}")
        for ns, values in self.extra.items():
            if ns == NAMESPACE_MDL or not isinstance(ns, str) or "." not in ns:
                raise LicenceError(str(ns), f"{ns}: a city namespace is a dotted name such as 'cn.qingdao.1'")
            if not isinstance(values, Mapping) or not values:
                raise LicenceError(ns, f"{ns}: expected a non-empty object of elements")
        object.__setattr__(self, "elements", MappingProxyType(dict(self.elements)))
        object.__setattr__(
            self, "extra", MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.extra.items()})
        )

    @classmethod
    def from_json(cls, obj: Any) -> Licence:
        """From a JSON object keyed by ISO element identifiers (dates as ISO 8601 strings,
        binary values base64); elements of another namespace go under ``"NAMESPACE": {...}``."""
        if not isinstance(obj, dict):
            raise LicenceError("", "a licence is a JSON object keyed by element identifiers")
        elements: dict[str, Any] = {}
        extra: dict[str, dict[str, Any]] = {}
        for key, value in obj.items():
            if isinstance(value, dict) and "." in key:
                extra[key] = value
                continue
            spec = element_spec(key)
            if spec is None:
                raise LicenceError(key, f"{key}: not an element of {NAMESPACE_MDL}")
            try:
                elements[key] = from_json_value(spec, value)
            except ValueError as e:
                raise LicenceError(_field_of(str(e)), str(e)) from None
        if isinstance(elements.get("portrait"), bytes):
            check_portrait(elements["portrait"])
        return cls(elements=elements, extra=extra)

    def namespaces(self) -> dict[str, Mapping[str, Any]]:
        """Every namespace with its elements, the ISO one first."""
        return {NAMESPACE_MDL: self.elements, **self.extra}

    # Convenience views of the mandatory elements.
    @property
    def family_name(self) -> str:
        return str(self.elements["family_name"])

    @property
    def given_name(self) -> str:
        return str(self.elements["given_name"])

    @property
    def document_number(self) -> str:
        return str(self.elements["document_number"])

    @property
    def issuing_country(self) -> str:
        return str(self.elements["issuing_country"])

    @property
    def birth_date(self) -> _dt.date:
        value: _dt.date = self.elements["birth_date"]
        return value

    @property
    def expiry_date(self) -> _dt.date:
        value: _dt.date = self.elements["expiry_date"]
        return value

    @property
    def expires_at(self) -> _dt.datetime | None:
        """The first moment the licence is no longer valid: midnight UTC after its expiry date
        (the last day counts). ``None`` for an expiry on 9999-12-31, whose next day Python
        cannot hold: no time this library handles is past it."""
        day = self.expiry_date
        if day == _dt.date.max:
            return None
        return _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC) + _dt.timedelta(days=1)

    @property
    def portrait(self) -> bytes:
        return bytes(self.elements["portrait"])
