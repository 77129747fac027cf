"""The driving licence as a typed, validated domain object.

This module owns what a licence *is*: the ISO 18013-5 mDL elements (``org.iso.18013.5.1``)
with their types checked, plus elements of a city's own namespaces. A wrong or missing
field raises :class:`LicenceError` naming the field. It knows nothing about signing
(``edl.issue``) or wire encoding (``edl.mdoc``).

>>> import datetime as dt
>>> lic = Licence.from_json({"family_name": "Li", "given_name": "Na", "birth_date": "1990-01-02",
...     "issue_date": "2024-01-01", "expiry_date": "2030-01-01", "issuing_country": "CN",
...     "issuing_authority": "Qingdao", "document_number": "QD1", "portrait": "/9j/2Q==",
...     "driving_privileges": [{"vehicle_category_code": "C1"}], "un_distinguishing_sign": "CHN"})
>>> lic.family_name, lic.expiry_date
('Li', datetime.date(2030, 1, 1))
"""

from __future__ import annotations

import datetime as _dt
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

__all__ = ["Licence", "LicenceError"]


class LicenceError(ValueError):
    """A licence field is missing or wrong; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


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
    def portrait(self) -> bytes:
        return bytes(self.elements["portrait"])
