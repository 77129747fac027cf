"""Issuing a licence to a phone: one ISO mdoc and one compact credential per profile.

This module owns the issuing recipe of ``edl issue`` and the credential folder it writes
(fixed file names, so a wallet or a script can find them):

    mdoc.cbor                 ISO 18013-5 IssuerSigned
    roadside.cbor, age-check.cbor, rental.cbor   compact credentials (COSE_Sign1)
    portrait-thumbnail.jpg    the thumbnail whose digest the compact credentials sign
    credential.json           manifest: city, profiles, validity, signer key id

All are signed by the same document signer at the same time, from the same licence. Public
data only: the holder's device key stays on the phone.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cose
from .compact import PROFILES, issue_compact, make_thumbnail
from .errors import MalformedError
from .issue import DocumentSigner, issue_mdoc
from .mdoc.issuer_signed import IssuerSigned
from .model import Licence
from .x509 import certificate_der, key_id

__all__ = ["IssuedLicence", "issue_licence", "load_credential_dir", "write_credential_dir"]

_MAX_MANIFEST = 64 * 1024


@dataclass(frozen=True, slots=True)
class IssuedLicence:
    city: str
    mdoc: IssuerSigned
    compact: dict[str, bytes]
    thumbnail: bytes
    valid_until: _dt.datetime
    signer_kid: bytes


def issue_licence(
    licence: Licence,
    *,
    city: str,
    device_key: cose.PublicKey,
    signer: DocumentSigner,
    now: _dt.datetime,
    valid_until: _dt.datetime | None = None,
    status: tuple[int, int] | None = None,
    status_uri: str | None = None,
) -> IssuedLicence:
    """The ISO mdoc and every compact profile for ``licence``, same signer, same time.

    ``status`` is (status list id, index) for the compact credentials; with ``status_uri``
    (the list's URI) the mdoc's MSO carries the same reference. ``age_over_18`` is derived
    from the birth date as of ``now`` when the licence does not state it.
    """
    if "age_over_18" not in licence.elements:
        birth = licence.birth_date
        today = now.date()
        adult = (today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))) >= 18
        licence = Licence(
            elements={**licence.elements, "age_over_18": adult},
            extra=licence.extra,
            doc_type=licence.doc_type,
        )
    mdoc_status = None
    if status is not None and status_uri is not None:
        from .mdoc.mso import StatusReference

        mdoc_status = StatusReference(idx=status[1], uri=status_uri)
    issued = issue_mdoc(
        licence, device_key=device_key, signer=signer, now=now, valid_until=valid_until, status=mdoc_status
    )
    until = issued.mso().validity_info.valid_until
    thumbnail = make_thumbnail(licence.portrait)
    compact = {
        profile: issue_compact(
            licence,
            profile=profile,
            city=city,
            device_key=device_key,
            signer=signer,
            now=now,
            valid_until=until,
            thumbnail=thumbnail,
            status=status,
        )
        for profile in PROFILES
    }
    return IssuedLicence(
        city=city,
        mdoc=issued,
        compact=compact,
        thumbnail=thumbnail,
        valid_until=until,
        signer_kid=key_id(certificate_der(signer.certificate)),
    )


def write_credential_dir(folder: str | os.PathLike[str], issued: IssuedLicence) -> list[str]:
    """Write the credential folder (refuses a non-empty one); returns the file names."""
    d = Path(folder)
    if d.exists() and any(d.iterdir()):
        raise FileExistsError(f"{d} is not empty")
    d.mkdir(parents=True, exist_ok=True)
    files = {"mdoc.cbor": issued.mdoc.to_bytes(), "portrait-thumbnail.jpg": issued.thumbnail}
    files.update({f"{p}.cbor": data for p, data in issued.compact.items()})
    manifest: dict[str, Any] = {
        "format": "edl-credential-dir/1",
        "city": issued.city,
        "profiles": sorted(issued.compact),
        "valid_until": issued.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signer_kid": issued.signer_kid.hex(),
    }
    files["credential.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    for name, data in files.items():
        (d / name).write_bytes(data)
    return sorted(files)


@dataclass(frozen=True, slots=True)
class CredentialDir:
    city: str
    compact: dict[str, bytes]
    thumbnail: bytes
    mdoc: bytes | None


def load_credential_dir(folder: str | os.PathLike[str]) -> CredentialDir:
    """Read a credential folder written by :func:`write_credential_dir` (not verified).

    Raises ``OSError`` for a file that cannot be read and :class:`~edl.errors.MalformedError`
    for a ``credential.json`` that is not the manifest written here (only known profiles are
    read, so its content never names another file)."""
    d = Path(folder)
    raw = (d / "credential.json").read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8")) if len(raw) <= _MAX_MANIFEST else None
    except (ValueError, RecursionError):
        manifest = None
    profiles = manifest.get("profiles") if isinstance(manifest, dict) else None
    if not (
        isinstance(manifest, dict)
        and isinstance(manifest.get("city"), str)
        and isinstance(profiles, list)
        and all(isinstance(p, str) and p in PROFILES for p in profiles)
    ):
        raise MalformedError(
            f"{d / 'credential.json'} is not a credential manifest: issue the licence again (edl issue)"
        )
    compact = {p: (d / f"{p}.cbor").read_bytes() for p in profiles if (d / f"{p}.cbor").exists()}
    mdoc_path = d / "mdoc.cbor"
    return CredentialDir(
        city=manifest["city"],
        compact=compact,
        thumbnail=(d / "portrait-thumbnail.jpg").read_bytes(),
        mdoc=mdoc_path.read_bytes() if mdoc_path.exists() else None,
    )
