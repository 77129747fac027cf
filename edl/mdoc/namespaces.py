"""The mDL data elements of ISO/IEC 18013-5 §7.2.1 (Table 5) and how each is typed.

This module owns the element table: identifier → kind, mandatory or not, and the checks
and conversions between JSON-friendly values, Python values and CBOR values. It does not
sign or digest anything (see ``edl.mdoc.items``).

Python values: ``str``, ``int``, ``bool``, ``bytes``, ``datetime.date`` (full-date),
aware ``datetime.datetime`` (tdate), and for ``driving_privileges`` a list of dicts.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import cbor
from ..errors import safe_repr

__all__ = [
    "DOC_TYPE_MDL",
    "ELEMENTS",
    "ElementKind",
    "ElementSpec",
    "NAMESPACE_MDL",
    "SCALARS",
    "element_spec",
    "from_json_value",
    "to_cbor_value",
    "to_json_value",
    "validate_value",
]

DOC_TYPE_MDL = "org.iso.18013.5.1.mDL"
NAMESPACE_MDL = "org.iso.18013.5.1"


class ElementKind(enum.Enum):
    TEXT = "tstr"
    UINT = "uint"
    BOOL = "bool"
    BYTES = "bstr"
    FULL_DATE = "full-date"
    DATE = "tdate or full-date"
    TDATE = "tdate"
    DRIVING_PRIVILEGES = "DrivingPrivileges"


@dataclass(frozen=True, slots=True)
class ElementSpec:
    identifier: str
    kind: ElementKind
    mandatory: bool = False
    max_length: int | None = None


def _spec(
    identifier: str, kind: ElementKind, mandatory: bool = False, max_length: int | None = None
) -> ElementSpec:
    return ElementSpec(identifier=identifier, kind=kind, mandatory=mandatory, max_length=max_length)


_K = ElementKind
ELEMENTS: Mapping[str, ElementSpec] = {
    s.identifier: s
    for s in (
        _spec("family_name", _K.TEXT, True, 150),
        _spec("given_name", _K.TEXT, True, 150),
        _spec("birth_date", _K.FULL_DATE, True),
        _spec("issue_date", _K.DATE, True),
        _spec("expiry_date", _K.DATE, True),
        _spec("issuing_country", _K.TEXT, True, 2),
        _spec("issuing_authority", _K.TEXT, True, 150),
        _spec("document_number", _K.TEXT, True, 150),
        _spec("portrait", _K.BYTES, True),
        _spec("driving_privileges", _K.DRIVING_PRIVILEGES, True),
        _spec("un_distinguishing_sign", _K.TEXT, True),
        _spec("administrative_number", _K.TEXT, False, 150),
        _spec("sex", _K.UINT),
        _spec("height", _K.UINT),
        _spec("weight", _K.UINT),
        _spec("eye_colour", _K.TEXT),
        _spec("hair_colour", _K.TEXT),
        _spec("birth_place", _K.TEXT, False, 150),
        _spec("resident_address", _K.TEXT, False, 150),
        _spec("portrait_capture_date", _K.TDATE),
        _spec("age_in_years", _K.UINT),
        _spec("age_birth_year", _K.UINT),
        _spec("issuing_jurisdiction", _K.TEXT),
        _spec("nationality", _K.TEXT, False, 2),
        _spec("resident_city", _K.TEXT, False, 150),
        _spec("resident_state", _K.TEXT, False, 150),
        _spec("resident_postal_code", _K.TEXT, False, 150),
        _spec("resident_country", _K.TEXT, False, 2),
        _spec("family_name_national_character", _K.TEXT, False, 150),
        _spec("given_name_national_character", _K.TEXT, False, 150),
        _spec("signature_usual_mark", _K.BYTES),
    )
}

_AGE_OVER = re.compile(r"age_over_[0-9]{2}\Z")
_BIOMETRIC = re.compile(r"biometric_template_[a-z0-9_]+\Z")
_COUNTRY = re.compile(r"[A-Z]{2}\Z")
_EYE = {"black", "blue", "brown", "dichromatic", "grey", "green", "hazel", "maroon", "pink", "unknown"}
_HAIR = {"bald", "black", "blond", "brown", "grey", "red", "auburn", "sandy", "white", "unknown"}


def element_spec(identifier: str) -> ElementSpec | None:
    """The spec of an ``org.iso.18013.5.1`` element, including ``age_over_NN`` and biometrics."""
    spec = ELEMENTS.get(identifier)
    if spec is not None:
        return spec
    if _AGE_OVER.match(identifier):
        return _spec(identifier, _K.BOOL)
    if _BIOMETRIC.match(identifier):
        return _spec(identifier, _K.BYTES)
    return None


class _Invalid(ValueError):
    pass


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_date(v: Any, kind: ElementKind, where: str) -> None:
    if kind is _K.FULL_DATE and not (isinstance(v, _dt.date) and not isinstance(v, _dt.datetime)):
        raise _Invalid(f"{where}: expected a date (YYYY-MM-DD)")
    if kind is _K.TDATE and not isinstance(v, _dt.datetime):
        raise _Invalid(f"{where}: expected a date and time with a time zone")
    if kind is _K.DATE and not isinstance(v, _dt.date):
        raise _Invalid(f"{where}: expected a date or a date and time")
    if isinstance(v, _dt.datetime) and v.utcoffset() is None:
        raise _Invalid(f"{where}: a date and time needs a time zone")
    if isinstance(v, _dt.datetime):
        try:
            v.astimezone(_dt.UTC)  # a tdate is written in UTC: 9999-12-31T23:00-05:00 has none
        except OverflowError:
            raise _Invalid(f"{where}: the time falls outside the years 1 to 9999 in UTC") from None


def _check_privileges(v: Any, where: str) -> None:
    if not isinstance(v, list) or not v:
        raise _Invalid(f"{where}: expected a non-empty list of vehicle categories")
    for i, p in enumerate(v):
        w = f"{where}[{i}]"
        if not isinstance(p, dict):
            raise _Invalid(f"{w}: expected an object")
        code = p.get("vehicle_category_code")
        if not isinstance(code, str) or not code:
            raise _Invalid(f"{w}.vehicle_category_code: expected a category such as 'B'")
        for k in ("issue_date", "expiry_date"):
            if k in p:
                _check_date(p[k], _K.FULL_DATE, f"{w}.{k}")
        codes = p.get("codes")
        if codes is not None:
            if not isinstance(codes, list):
                raise _Invalid(f"{w}.codes: expected a list")
            for j, c in enumerate(codes):
                if not isinstance(c, dict) or not isinstance(c.get("code"), str):
                    raise _Invalid(f"{w}.codes[{j}]: expected an object with a 'code' text")
                for k in ("sign", "value"):
                    if k in c and not isinstance(c[k], str):
                        raise _Invalid(f"{w}.codes[{j}].{k}: expected text")


def validate_value(spec: ElementSpec, value: Any) -> None:
    """Raise ``ValueError`` naming the element when ``value`` does not fit ``spec``."""
    where = spec.identifier
    kind = spec.kind
    if kind is _K.TEXT:
        if not isinstance(value, str) or not value:
            raise _Invalid(f"{where}: expected non-empty text")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise _Invalid(f"{where}: at most {spec.max_length} characters")
        if where in ("issuing_country", "nationality", "resident_country") and not _COUNTRY.match(value):
            raise _Invalid(f"{where}: expected an ISO 3166-1 alpha-2 code such as 'CN'")
        if where == "eye_colour" and value not in _EYE:
            raise _Invalid(f"{where}: expected one of {sorted(_EYE)}")
        if where == "hair_colour" and value not in _HAIR:
            raise _Invalid(f"{where}: expected one of {sorted(_HAIR)}")
    elif kind is _K.UINT:
        if not _is_int(value) or value < 0:
            raise _Invalid(f"{where}: expected a whole number ≥ 0")
        if where == "sex" and value not in (0, 1, 2, 9):
            raise _Invalid(f"{where}: expected an ISO/IEC 5218 code (0, 1, 2 or 9)")
    elif kind is _K.BOOL:
        if not isinstance(value, bool):
            raise _Invalid(f"{where}: expected true or false")
    elif kind is _K.BYTES:
        if not isinstance(value, bytes) or not value:
            raise _Invalid(f"{where}: expected non-empty binary data")
        if where == "portrait" and not (value.startswith(b"\xff\xd8") or value[4:12] == b"jP  \r\n\x87\n"):
            raise _Invalid(f"{where}: expected a JPEG or JPEG 2000 image")
    elif kind in (_K.FULL_DATE, _K.DATE, _K.TDATE):
        _check_date(value, kind, where)
    elif kind is _K.DRIVING_PRIVILEGES:
        _check_privileges(value, where)


# --- JSON <-> Python ---------------------------------------------------------------------


def _parse_date(text: Any, kind: ElementKind, where: str) -> _dt.date:
    if not isinstance(text, str):
        raise _Invalid(f"{where}: expected an ISO 8601 date string")
    if len(text) == 10 and kind is not _K.TDATE:
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            raise _Invalid(f"{where}: {safe_repr(text)} is not a date YYYY-MM-DD") from None
    if kind is _K.FULL_DATE:
        raise _Invalid(f"{where}: expected a date YYYY-MM-DD, got {safe_repr(text)}")
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(f"{where}: {safe_repr(text)} is not an RFC 3339 date-time") from None
    if moment.utcoffset() is None:
        raise _Invalid(f"{where}: {safe_repr(text)} needs a time zone (Z or +hh:mm)")
    return moment


def _parse_bytes(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise _Invalid(f"{where}: expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid(f"{where}: not valid base64") from None


def from_json_value(spec: ElementSpec, value: Any) -> Any:
    """A JSON value (dates as ISO strings, bytes as base64) → the Python value, validated."""
    where = spec.identifier
    kind = spec.kind
    if kind in (_K.FULL_DATE, _K.DATE, _K.TDATE):
        out: Any = _parse_date(value, kind, where)
    elif kind is _K.BYTES:
        out = _parse_bytes(value, where)
    elif kind is _K.DRIVING_PRIVILEGES:
        if not isinstance(value, list):
            raise _Invalid(f"{where}: expected a list of vehicle categories")
        out = []
        for i, p in enumerate(value):
            if not isinstance(p, dict):
                raise _Invalid(f"{where}[{i}]: expected an object")
            q = dict(p)
            for k in ("issue_date", "expiry_date"):
                if k in q:
                    q[k] = _parse_date(q[k], _K.FULL_DATE, f"{where}[{i}].{k}")
            out.append(q)
    else:
        out = value
    validate_value(spec, out)
    return out


SCALARS = frozenset({str, int, bool, bytes, float, type(None)})
"""Types :func:`to_cbor_value` hands back as they are (a caller's loop may skip the call)."""


def to_cbor_value(value: Any) -> Any:
    """A Python value → what to encode: dates as tag 1004, date-times as tdate (tag 0)."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is _dt.date:
        return cbor.CBORTag(cbor.TAG_FULL_DATE, value.isoformat())
    if isinstance(value, _dt.datetime):
        return cbor.tdate(value)
    if isinstance(value, _dt.date):
        return cbor.full_date(value)
    if isinstance(value, list):
        return [to_cbor_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_cbor_value(v) for k, v in value.items()}
    return value


_MAX_JSON_INT_BITS = 14_000  # about 4,214 decimal digits


def to_json_value(value: Any) -> Any:
    """A decoded CBOR value → JSON: bytes as standard base64, full-date as YYYY-MM-DD."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, _dt.datetime):
        if value.utcoffset() is not None:
            value = value.astimezone(_dt.UTC)
            return (
                value.strftime("%Y-%m-%dT%H:%M:%SZ")
                if not value.microsecond
                else value.isoformat().replace("+00:00", "Z")
            )
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {
            k if isinstance(k, str) else safe_repr(k, limit=200): to_json_value(v) for k, v in value.items()
        }
    if isinstance(value, cbor.CBORTag):
        return {"tag": value.tag, "value": to_json_value(value.value)}
    if isinstance(value, int) and value.bit_length() > _MAX_JSON_INT_BITS:
        return safe_repr(value)  # json.dumps (str) refuses more than 4,300 digits
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return str(value)  # a Decimal, a UUID, an IP address...
    except ValueError:  # ...or a Fraction, a set holding integers too long to print
        return safe_repr(value, limit=200)
