"""The handheld bundle: trust lists and every listed city's status lists, in one file.

This module owns ``specs/status-list.md`` §7: the bundle a police officer's handheld loads to
work offline for days. It is one CBOR map holding one or more signed trust lists and, per city,
that city's current Status List Tokens, every part **exactly as its authority published it**.
The bundle itself is not signed and needs no key of its own (its SHA-256 checksum only
catches damage in transit: anyone can recompute it): on load each part is checked by
its own authority (a trust list by the operator's threshold, through the caller's
``verify_trust_list``; a status list by the status signer of the city the trust list names),
and the whole bundle is refused if any part fails, is filed under the wrong city, names a city
no trust list knows, or comes twice. A listed city without a status list never blocks it.

* :func:`build_bundle` (publisher side: structure checked, nothing verified),
* :func:`load_bundle` (handheld side: everything verified) → :class:`VerifiedBundle`,
* :func:`replace_status` (one city's new list, the other parts' bytes untouched).

It keeps no state: refusing a part older than what the handheld already holds (rollback) is the
caller's job, with :meth:`VerifiedBundle.parts` (each part's name, sequence, issue time and
digest). It does not import ``edl.pins``: the caller passes how trust lists are verified
(``functools.partial(pins.load_list, now=now, record=False)`` on a handheld).

>>> bundle = build_bundle([trust_list], [qingdao_status])  # doctest: +SKIP
>>> loaded = load_bundle(bundle, verify_trust_list=verify, now=now)  # doctest: +SKIP
>>> loaded.status_list("urn:edl:status:cn-qingdao:1").status_of(412)  # doctest: +SKIP
<Status.REVOKED: 1>
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import cbor
from .errors import BundleError, EdlError, MalformedError, StatusListError, safe_repr
from .status import (
    MAX_ENTRIES,
    UnverifiedStatusList,
    VerifiedStatusList,
    decode_status_list,
    parse_status_uri,
    status_uri,
    verify_status_list,
)
from .trust import VerifiedTrustList, read_unverified

__all__ = [
    "BUNDLE_TYPE",
    "BUNDLE_VERSION",
    "MAX_BUNDLE_SIZE",
    "MAX_STATUS_LISTS",
    "MAX_TRUST_LISTS",
    "BundlePart",
    "VerifiedBundle",
    "build_bundle",
    "encode_bundle",
    "load_bundle",
    "replace_status",
]

BUNDLE_TYPE = "edl-bundle"
BUNDLE_VERSION = 1
MAX_BUNDLE_SIZE = 1 << 26
"""Largest bundle read (64 MiB), checked before parsing. A country of 500 million licences
needs a few MB (``specs/status-list.md`` §7)."""
MAX_TRUST_LISTS = 16
"""Most trust lists in one bundle (one per operator the handheld trusts)."""
MAX_STATUS_LISTS = 4096
"""Most status lists in one bundle (each is one signature check and one decompression)."""

_KEYS = ("type", "version", "content", "sha256")
_CITY = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BundlePart:
    """What a caller needs to refuse a part older than one it holds: the part's ``kind``
    (``trust_list`` or ``status_list``), its ``name`` (the operator for a trust list, the URI
    for a status list), ``sequence``, ``issued`` and the SHA-256 ``digest`` of its signed
    payload (one sequence with two digests is a substitution)."""

    kind: str
    name: str
    sequence: int
    issued: _dt.datetime
    digest: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    """A bundle whose every part verified at the time it was loaded."""

    trust_lists: tuple[VerifiedTrustList, ...]
    status_lists: Mapping[str, VerifiedStatusList]
    """By URI (``urn:edl:status:<city>:<list id>``)."""
    trust_list_digests: tuple[bytes, ...] = field(default=(), repr=False)
    """SHA-256 of each trust list's signed payload as received (as ``edl.pins`` keeps it)."""

    def status_list(self, uri: str) -> VerifiedStatusList | None:
        """The list a credential's MSO names by ``status.status_list.uri``, if the bundle has it."""
        return self.status_lists.get(uri)

    def status_list_for(self, city_id: str, list_id: int) -> VerifiedStatusList | None:
        """The list a compact credential names by its city and ``[list id, index]``."""
        try:
            return self.status_lists.get(status_uri(city_id, list_id))
        except (TypeError, ValueError):
            return None

    def cities(self) -> tuple[str, ...]:
        """Every city id the bundle's trust lists name, sorted."""
        return tuple(sorted({c.id for v in self.trust_lists for c in v.trust_list.cities}))

    def cities_without_status(self) -> tuple[str, ...]:
        """Listed cities the bundle carries no status list for (their licences that name a
        status list cannot be checked: the verifier says ``status_missing``)."""
        have = {s.city_id for s in self.status_lists.values()}
        return tuple(c for c in self.cities() if c not in have)

    def parts(self) -> tuple[BundlePart, ...]:
        """Every part, trust lists first, for the caller's rollback and substitution checks."""
        out = [
            BundlePart(
                kind="trust_list",
                name=v.trust_list.provider,
                sequence=v.trust_list.sequence,
                issued=v.trust_list.issued,
                digest=digest,
            )
            for v, digest in zip(self.trust_lists, self.trust_list_digests, strict=True)
        ]
        out += [
            BundlePart(
                kind="status_list", name=uri, sequence=s.sequence, issued=s.issued, digest=s.payload_digest
            )
            for uri, s in sorted(self.status_lists.items())
        ]
        return tuple(out)


# --- reading the structure ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    trust_lists: list[bytes]
    status: dict[str, list[bytes]]


def _read(data: bytes) -> _Raw:
    """The bundle's parts, structure and checksum checked (nothing verified)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a bundle is bytes, not {type(data).__name__}")
    if len(data) > MAX_BUNDLE_SIZE:
        raise BundleError(
            f"the bundle is {len(data)} bytes, more than the {MAX_BUNDLE_SIZE} accepted",
            code="bundle_too_large",
        )
    try:
        value = cbor.decode(bytes(data), max_size=MAX_BUNDLE_SIZE, max_depth=2, what="bundle")
    except MalformedError as e:
        raise BundleError(e.message, code="bundle_malformed") from None
    if not isinstance(value, Mapping) or value.get("type") != BUNDLE_TYPE:
        raise BundleError("not an edl bundle", code="bundle_malformed")
    version = value.get("version")
    if type(version) is not int:
        raise BundleError("the bundle has no format version", code="bundle_malformed")
    if version != BUNDLE_VERSION:
        raise BundleError(
            f"bundle format version {safe_repr(version)} is not {BUNDLE_VERSION}, the one this edl reads",
            code="bundle_version",
        )
    if set(value) != set(_KEYS):
        raise BundleError(
            f"a bundle holds exactly {', '.join(_KEYS)}; this one {safe_repr(sorted(map(str, value)))}",
            code="bundle_malformed",
        )
    content, checksum = value["content"], value["sha256"]
    if not isinstance(content, bytes) or not isinstance(checksum, bytes) or len(checksum) != 32:
        raise BundleError("the bundle's content and sha256 are byte strings", code="bundle_malformed")
    # A checksum against damage in transit, not an authority: anyone can recompute it. What
    # vouches for each part is its own signature, checked on load.
    if not hmac.compare_digest(hashlib.sha256(content).digest(), checksum):
        raise BundleError(
            "the bundle is damaged (its content does not match its SHA-256): copy it again",
            code="bundle_damaged",
        )
    try:
        inner = cbor.decode(content, max_size=MAX_BUNDLE_SIZE, max_depth=3, what="bundle content")
    except MalformedError as e:
        raise BundleError(e.message, code="bundle_malformed") from None
    if not isinstance(inner, Mapping) or set(inner) != {"trustLists", "statusLists"}:
        raise BundleError(
            "the bundle's content holds exactly trustLists and statusLists", code="bundle_malformed"
        )
    trust_lists, status = inner["trustLists"], inner["statusLists"]
    if (
        not isinstance(trust_lists, (list, tuple))
        or not 1 <= len(trust_lists) <= MAX_TRUST_LISTS
        or not all(isinstance(t, bytes) for t in trust_lists)
    ):
        raise BundleError(
            f"the bundle's trustLists are 1 to {MAX_TRUST_LISTS} byte strings", code="bundle_malformed"
        )
    if not isinstance(status, Mapping):
        raise BundleError("the bundle's statusLists are a map of city id to lists", code="bundle_malformed")
    count = 0
    out: dict[str, list[bytes]] = {}
    for city, lists in status.items():
        if not isinstance(city, str) or _CITY.fullmatch(city) is None:
            raise BundleError(f"{safe_repr(city)} is not a city id", code="bundle_malformed")
        if not isinstance(lists, (list, tuple)) or not lists or not all(isinstance(b, bytes) for b in lists):
            raise BundleError(
                f"the status lists of {city} must be a non-empty array of byte strings",
                code="bundle_malformed",
            )
        count += len(lists)
        if count > MAX_STATUS_LISTS:
            raise BundleError(
                f"the bundle holds more than {MAX_STATUS_LISTS} status lists", code="bundle_malformed"
            )
        out[city] = list(lists)
    return _Raw(trust_lists=list(trust_lists), status=out)


def encode_bundle(trust_lists: Sequence[bytes], status: Mapping[str, Sequence[bytes]]) -> bytes:
    """The bundle bytes around these parts, as given (no check at all: :func:`build_bundle`
    checks; tests and tools use this to write what an attacker could)."""
    content = cbor.encode(
        {"trustLists": list(trust_lists), "statusLists": {k: list(v) for k, v in status.items()}}
    )
    return cbor.encode(
        {
            "type": BUNDLE_TYPE,
            "version": BUNDLE_VERSION,
            "content": content,
            "sha256": hashlib.sha256(content).digest(),
        }
    )


def _encode(raw: _Raw) -> bytes:
    data = encode_bundle(raw.trust_lists, raw.status)
    if len(data) > MAX_BUNDLE_SIZE:
        raise BundleError(
            f"the bundle would be {len(data)} bytes, more than the {MAX_BUNDLE_SIZE} a handheld reads",
            code="bundle_too_large",
        )
    return data


def _in_part(e: EdlError, where: str) -> EdlError:
    """``e`` again (same class, same code), its message saying which part failed."""
    try:
        again = type(e)(f"{where}: {e.message}", code=e.code)
    except TypeError:  # a subclass with another constructor: keep the error as it is
        return e
    again.__cause__ = e
    return again


def _unverified_status(data: bytes, where: str) -> tuple[UnverifiedStatusList, str, int]:
    try:
        token = decode_status_list(data, max_entries=MAX_ENTRIES)
        city, list_id = parse_status_uri(token.uri)
    except StatusListError as e:
        raise _in_part(e, where) from None
    return token, city, list_id


def _listed_cities(trust_lists: Sequence[bytes]) -> set[str]:
    cities: set[str] = set()
    for i, data in enumerate(trust_lists):
        try:
            _, trust_list = read_unverified(data)
        except EdlError as e:
            raise _in_part(e, f"trust list {i + 1}") from None
        cities.update(c.id for c in trust_list.cities)
    return cities


# --- building -----------------------------------------------------------------------------------


def build_bundle(trust_lists: Sequence[bytes], status_lists: Sequence[bytes]) -> bytes:
    """A bundle of ``trust_lists`` and ``status_lists`` (each as published), filed by city.

    Checks structure only (a part that is not a trust list or a status list, a status list of
    a city none of the trust lists names: ``bundle_unknown_city``, one part twice:
    ``bundle_duplicate``); signatures and times are the handheld's to check (:func:`load_bundle`).
    Each city's lists are written in list-id order. No trust list at all is a ``ValueError``.
    """
    if isinstance(trust_lists, (bytes, bytearray)) or isinstance(status_lists, (bytes, bytearray)):
        raise TypeError("build_bundle takes sequences of published files' bytes")
    if not trust_lists:
        raise ValueError("a bundle holds at least one trust list")
    if len(trust_lists) > MAX_TRUST_LISTS:
        raise BundleError(f"a bundle holds at most {MAX_TRUST_LISTS} trust lists", code="bundle_malformed")
    if len(status_lists) > MAX_STATUS_LISTS:
        raise BundleError(f"a bundle holds at most {MAX_STATUS_LISTS} status lists", code="bundle_malformed")
    if len(set(map(bytes, trust_lists))) != len(trust_lists):
        raise BundleError("the same trust list is given twice", code="bundle_duplicate")
    known = _listed_cities(trust_lists)
    by_uri: dict[str, tuple[str, int, bytes]] = {}
    for i, data in enumerate(status_lists):
        token, city, list_id = _unverified_status(bytes(data), f"status list {i + 1}")
        if city not in known:
            raise BundleError(
                f"status list {token.uri}: no trust list in the bundle names city {city}",
                code="bundle_unknown_city",
            )
        if token.uri in by_uri:
            raise BundleError(f"two status lists for {token.uri}", code="bundle_duplicate")
        by_uri[token.uri] = (city, list_id, bytes(data))
    status: dict[str, list[bytes]] = {}
    for city, _, data in sorted(by_uri.values(), key=lambda t: (t[0], t[1])):
        status.setdefault(city, []).append(data)
    return _encode(_Raw(trust_lists=[bytes(t) for t in trust_lists], status=status))


def replace_status(bundle: bytes, status_list: bytes) -> bytes:
    """``bundle`` with ``status_list`` in place of the list of the same URI (or added, for a
    city's new list id); every other part is kept byte for byte.

    Refuses a list of a city the bundle's trust lists do not name (``bundle_unknown_city``)
    and one older than the list it replaces: a lower sequence, or the same sequence with other
    bytes (``status_rollback``). Nothing is verified (the handheld does that on load).
    """
    raw = _read(bundle)
    token, city, list_id = _unverified_status(bytes(status_list), "the new status list")
    if city not in _listed_cities(raw.trust_lists):
        raise BundleError(
            f"status list {token.uri}: no trust list in the bundle names city {city}",
            code="bundle_unknown_city",
        )
    if token.sequence is None:
        raise StatusListError(f"the new status list {token.uri} has no sequence", code="status_unsupported")
    lists = raw.status.setdefault(city, [])
    ids: list[int] = []
    for at, old_bytes in enumerate(lists):
        old, _, old_id = _unverified_status(old_bytes, f"status list {at + 1} of {city} in the bundle")
        if old.uri != token.uri:
            ids.append(old_id)
            continue
        if old.sequence is not None and (
            token.sequence < old.sequence or (token.sequence == old.sequence and old_bytes != status_list)
        ):
            raise StatusListError(
                f"the new {token.uri} #{token.sequence} is not newer than the bundle's #{old.sequence}",
                code="status_rollback",
            )
        lists[at] = bytes(status_list)
        return _encode(raw)
    at = sum(1 for i in ids if i < list_id)
    lists.insert(at, bytes(status_list))
    return _encode(raw)


# --- loading ------------------------------------------------------------------------------------


def load_bundle(
    data: bytes,
    *,
    verify_trust_list: Callable[[bytes], VerifiedTrustList],
    now: _dt.datetime,
    max_entries: int = MAX_ENTRIES,
) -> VerifiedBundle:
    """Verify every part of a bundle at ``now``; refuse the whole bundle if any part fails.

    ``verify_trust_list`` verifies one published trust list (a handheld passes
    ``functools.partial(pins.load_list, now=now, record=False)`` and records the parts once the
    bundle has loaded). In order (``specs/status-list.md`` §7.3): the structure and checksum
    (``bundle_too_large``, ``bundle_malformed``, ``bundle_version``, ``bundle_damaged``); each
    trust list, its own error as ``verify_trust_list`` raises it, and no two of one operator
    (``bundle_duplicate``);
    then each status list: filed under the city its ``sub`` names (``bundle_misfiled``), a city
    a trust list names (``bundle_unknown_city``), not twice (``bundle_duplicate``), and verified
    with :func:`~edl.status.verify_status_list` against that city's roots in the trust list
    (its own ``status_*`` code). A listed city without a status list is fine.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    raw = _read(data)
    if len(set(raw.trust_lists)) != len(raw.trust_lists):
        raise BundleError("the bundle holds the same trust list twice", code="bundle_duplicate")
    verified: list[VerifiedTrustList] = []
    digests: list[bytes] = []
    for i, tl in enumerate(raw.trust_lists):
        try:
            v = verify_trust_list(tl)
        except EdlError as e:
            raise _in_part(e, f"bundle trust list {i + 1}") from None
        mine = {r.fingerprint for r in (*v.chain_roots, v.root)}
        for j, other in enumerate(verified):
            if mine & {r.fingerprint for r in (*other.chain_roots, other.root)}:
                raise BundleError(
                    f"trust lists {j + 1} and {i + 1} of the bundle are both from {v.trust_list.provider}",
                    code="bundle_duplicate",
                )
        verified.append(v)
        digests.append(hashlib.sha256(read_unverified(tl)[0].payload).digest())
    statuses: dict[str, VerifiedStatusList] = {}
    for city, lists in raw.status.items():
        entries = [(v, entry) for v in verified if (entry := v.trust_list.city(city)) is not None]
        for k, token_bytes in enumerate(lists):
            where = f"bundle status list {k + 1} of {city}"
            token, named, _ = _unverified_status(token_bytes, where)
            if named != city:
                # Refused on the unverified sub: a claim is enough to refuse, never to accept.
                raise BundleError(
                    f"{where} is {token.uri}, a list of {named}, filed under {city}", code="bundle_misfiled"
                )
            if not entries:
                raise BundleError(
                    f"{where}: no trust list in the bundle names city {city}", code="bundle_unknown_city"
                )
            if token.uri in statuses:
                raise BundleError(
                    f"the bundle holds two status lists for {token.uri}", code="bundle_duplicate"
                )
            statuses[token.uri] = _verify_status(token_bytes, entries, token.uri, now, max_entries, where)
    return VerifiedBundle(
        trust_lists=tuple(verified),
        status_lists=MappingProxyType(statuses),
        trust_list_digests=tuple(digests),
    )


def _verify_status(
    token_bytes: bytes,
    entries: Sequence[tuple[VerifiedTrustList, Any]],
    uri: str,
    now: _dt.datetime,
    max_entries: int,
    where: str,
) -> VerifiedStatusList:
    """Verify against the city's roots in each trust list that names it; the first that
    vouches wins, else the first refusal is reported."""
    errors: list[EdlError] = []
    for vtl, entry in entries:
        try:
            return verify_status_list(
                token_bytes,
                city_anchors=vtl.city_anchors(entry),
                now=now,
                uri=uri,
                max_entries=max_entries,
                allow_expired=True,  # stale, not bad: the verifiers say status_stale (amber)
            )
        except StatusListError as e:
            errors.append(e)
    raise _in_part(errors[0], where) from None
