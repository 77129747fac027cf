"""Holder SDK: present a credential from the holder's device.

This module owns the holder's side of a presentation: choosing which elements to
disclose and authenticating the response with the device key, either as a
``deviceSignature`` (a :class:`~edl.cose.Signer`: a key file, a platform keystore, an HSM)
or as a ``deviceMac`` keyed by ECDH with the reader's ephemeral key. It does not talk to
any transport; the SessionTranscript is supplied as bytes by the caller.

>>> # response = respond(issued, device_key=KeySigner(phone_key), transcript=transcript,
>>> #                    disclose=[("org.iso.18013.5.1", "family_name")])
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Literal, overload

from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, cose
from .mdoc.device_response import (
    EMPTY_DEVICE_NAMESPACES,
    DeviceResponse,
    DeviceSigned,
    Document,
    SessionTranscript,
    derive_emac_key,
    device_authentication_bytes,
)
from .mdoc.issuer_signed import IssuerSigned

if TYPE_CHECKING:
    from .qr import Writer

__all__ = ["Wallet", "respond"]


def respond(
    issuer_signed: IssuerSigned,
    *,
    device_key: cose.Signer | ec.EllipticCurvePrivateKey,
    transcript: SessionTranscript,
    disclose: Collection[tuple[str, str]] | None = None,
    reader_key: cose.PublicKey | None = None,
) -> DeviceResponse:
    """A DeviceResponse disclosing ``disclose`` (``None``: everything) of ``issuer_signed``.

    Without ``reader_key`` the device key signs (``deviceSignature``); with it, the
    response carries a ``deviceMac`` (then ``device_key`` must be an EC private key).
    Raises ``ValueError`` naming an element the credential does not hold.
    """
    selected = issuer_signed.select(disclose)
    mso = issuer_signed.mso()
    doc_type = mso.doc_type
    signer = device_key if isinstance(device_key, cose.Signer) else cose.KeySigner(device_key)
    if cose.key_to_cose(signer.public_key()) != cose.key_to_cose(mso.device_key_info.device_key):
        raise ValueError("this device key is not the one the credential was issued to")
    payload = device_authentication_bytes(transcript, doc_type, EMPTY_DEVICE_NAMESPACES)
    if reader_key is None:
        encoded = cose.sign1(signer, payload, detached=True)
        auth = {"deviceSignature": cbor.decode(encoded)}
    else:
        if not isinstance(device_key, ec.EllipticCurvePrivateKey):
            raise ValueError("deviceMac needs the device's EC private key for key agreement")
        key = derive_emac_key(device_key, reader_key, transcript)
        auth = {"deviceMac": cbor.decode(cose.mac0(key, payload, detached=True))}
    device_signed = DeviceSigned.from_value(
        {"nameSpaces": cbor.wrap24(EMPTY_DEVICE_NAMESPACES), "deviceAuth": auth}
    )
    return DeviceResponse(
        documents=(Document(doc_type=doc_type, issuer_signed=selected, device_signed=device_signed),)
    )


class Wallet:
    """A phone's licence: compact credentials per profile, the portrait thumbnail, and the
    device key (a :class:`~edl.cose.Signer`: a key file, a platform keystore or an HSM).

    Works with no network. :meth:`frames` gives the carousel to show for a profile at a
    time: the signed main frame first, then the portrait chunks. Only the main frame changes
    when the code is refreshed (at least every :data:`~edl.presentation.DEFAULT_ROTATION`,
    30 s): an app makes the portrait frames once (:meth:`portrait_frames`,
    :meth:`render_portrait_frames`) and on each refresh signs and draws one frame
    (:meth:`frame`, :meth:`render_frame`).

    >>> # portrait = wallet.render_portrait_frames("roadside")      # once
    >>> # png = wallet.render_frame("roadside", at=clock.now())     # every refresh
    """

    def __init__(self, device_key: cose.Signer | ec.EllipticCurvePrivateKey) -> None:
        self.device: cose.Signer = (
            device_key if isinstance(device_key, cose.Signer) else cose.KeySigner(device_key)
        )
        self._compact: dict[str, bytes] = {}
        self._thumbnail: bytes | None = None

    def __repr__(self) -> str:
        return f"Wallet(profiles={sorted(self._compact)})"

    def add(self, compact: dict[str, bytes], thumbnail: bytes) -> None:
        """Keep these credentials; refuses ones issued to another device key."""
        from .compact import decode_compact

        mine = cose.key_to_cose(self.device.public_key())
        for profile, data in compact.items():
            cred = decode_compact(data)
            if cred.profile != profile:
                raise ValueError(f"the {profile} file holds a {cred.profile} credential")
            if cose.key_to_cose(cred.device_key) != mine:
                raise ValueError(f"the {profile} credential was issued to another device key")
        self._compact.update(compact)
        self._thumbnail = thumbnail

    def add_dir(self, folder: str) -> None:
        """Keep the credentials of a folder written by ``edl issue``."""
        from .credentials import load_credential_dir

        d = load_credential_dir(folder)
        self.add(d.compact, d.thumbnail)

    @property
    def profiles(self) -> list[str]:
        return sorted(self._compact)

    def _credential(self, profile: str) -> bytes:
        try:
            return self._compact[profile]
        except KeyError:
            raise ValueError(
                f"no {profile} credential in this wallet (have: {', '.join(self.profiles)})"
            ) from None

    def frame(self, profile: str = "roadside", *, at: _dt.datetime, challenge: bytes | None = None) -> str:
        """The main frame's QR text at ``at``: the only frame that changes on a refresh.

        One signature by the device key over (credential, ``at``, ``challenge``). An app that
        refreshes the code every few seconds calls this (or :meth:`render_frame`) each time and
        keeps the portrait frames it made once (:meth:`portrait_frames`)."""
        from .presentation import encode_text, make_frame

        credential = self._credential(profile)
        return encode_text(make_frame(credential, device=self.device, at=at, challenge=challenge))

    def portrait_frames(self, profile: str = "roadside") -> list[str]:
        """The portrait chunks' QR texts, in order (empty for a profile without a portrait).

        They are not signed and do not depend on the time or a challenge: they stay the same
        from one refresh to the next, so make (and draw, :meth:`render_portrait_frames`) them
        once and show them after each new main frame."""
        from .compact import decode_compact
        from .presentation import encode_text, make_chunks

        credential = self._credential(profile)
        if decode_compact(credential).portrait_digest is None or self._thumbnail is None:
            return []
        return [encode_text(c) for c in make_chunks(credential, self._thumbnail)]

    def frames(
        self, profile: str = "roadside", *, at: _dt.datetime, challenge: bytes | None = None
    ) -> list[str]:
        """The QR texts to show at ``at``: the main frame (:meth:`frame`), then the portrait
        chunks (:meth:`portrait_frames`). To refresh, only the main frame needs making again."""
        return [self.frame(profile, at=at, challenge=challenge), *self.portrait_frames(profile)]

    @overload
    def render_frame(
        self,
        profile: str = ...,
        *,
        at: _dt.datetime,
        challenge: bytes | None = ...,
        fmt: Literal["png"] = ...,
        writer: Writer = ...,
    ) -> bytes: ...

    @overload
    def render_frame(
        self,
        profile: str = ...,
        *,
        at: _dt.datetime,
        challenge: bytes | None = ...,
        fmt: Literal["svg", "terminal"],
        writer: Writer = ...,
    ) -> str: ...

    def render_frame(
        self,
        profile: str = "roadside",
        *,
        at: _dt.datetime,
        challenge: bytes | None = None,
        fmt: Literal["png", "svg", "terminal"] = "png",
        writer: Writer = "auto",
    ) -> bytes | str:
        """The main frame at ``at`` drawn as one QR code: PNG bytes (``fmt="png"``, the default),
        SVG or terminal text. One device signature and one QR code (about 2 ms with zxing-cpp's
        writer): what an app does on each refresh. The portrait frames do not change: draw them
        once with :meth:`render_portrait_frames`."""
        _check_fmt(fmt)
        return _draw(self.frame(profile, at=at, challenge=challenge), fmt, writer)

    @overload
    def render_portrait_frames(
        self, profile: str = ..., *, fmt: Literal["png"] = ..., writer: Writer = ...
    ) -> list[bytes]: ...

    @overload
    def render_portrait_frames(
        self, profile: str = ..., *, fmt: Literal["svg", "terminal"], writer: Writer = ...
    ) -> list[str]: ...

    def render_portrait_frames(
        self,
        profile: str = "roadside",
        *,
        fmt: Literal["png", "svg", "terminal"] = "png",
        writer: Writer = "auto",
    ) -> list[bytes] | list[str]:
        """The portrait frames drawn as QR codes (see :meth:`portrait_frames`): the same at every
        refresh, so draw them once and keep them."""
        _check_fmt(fmt)
        drawn = [_draw(t, fmt, writer) for t in self.portrait_frames(profile)]
        return drawn  # type: ignore[return-value]  # all bytes (png) or all str

    def render(
        self,
        profile: str = "roadside",
        *,
        at: _dt.datetime,
        challenge: bytes | None = None,
        fmt: str = "png",
        writer: Writer = "auto",
    ) -> list[bytes] | list[str]:
        """The whole carousel drawn as QR codes: PNG bytes (``fmt="png"``), SVG or terminal text.

        It signs and draws every frame; an app refreshing the code draws only the main frame
        (:meth:`render_frame`) and keeps the portrait frames (:meth:`render_portrait_frames`)."""
        _check_fmt(fmt)
        drawn = [_draw(t, fmt, writer) for t in self.frames(profile, at=at, challenge=challenge)]
        return drawn  # type: ignore[return-value]  # all bytes (png) or all str


def _check_fmt(fmt: str) -> None:
    if fmt not in ("png", "svg", "terminal"):
        raise ValueError("fmt is png, svg or terminal")


def _draw(text: str, fmt: str, writer: Writer) -> bytes | str:
    from . import qr

    if fmt == "png":
        return qr.render_png(text, writer=writer)
    if fmt == "svg":
        return qr.render_svg(text, writer=writer)
    return qr.render_terminal(text, writer=writer)
