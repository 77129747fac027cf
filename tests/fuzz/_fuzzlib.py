"""Shared plumbing of the structure-aware atheris harnesses (``fuzz_trust``, ``fuzz_carousel``,
``fuzz_resign``, ``fuzz_files``).

* :class:`Finding`: what an oracle raises. Its ``id`` is stable (``area.what``), printed as
  ``FINDING[id]`` so a campaign can tell findings apart in a log.
* :func:`harness`: wraps a harness's ``TestOneInput``. Any exception that is not an
  :class:`~edl.errors.EdlError` becomes a :class:`Finding` whose id names the exception type and
  the innermost ``edl`` function it escaped from; an input that takes longer than the time
  budget (twice in a row) is a ``slow`` finding. ``EDL_FUZZ_SKIP`` (comma-separated ids or
  shell-style patterns such as ``exception.*@edl.pins.pin``) lists known findings to step
  over, so a campaign can keep looking for new ones after the first crash.
* deterministic keys (:func:`det_key`): the world a harness builds has the same keys on every
  run, so a saved crash input replays the same attack later.
* ECDSA re-encodings: :func:`flip_s_raw` (COSE ``r‖s`` → ``r‖(n−s)``) and
  :func:`flip_s_certificate` (an X.509 certificate whose signature is re-encoded the same way;
  still valid, other DER bytes, hence another key id).
* :func:`run`: the common ``main`` (seed corpus written at start, then ``atheris.Fuzz``).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

T = TypeVar("T")

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P384_ORDER = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
)


CLEANUP: list[Callable[[], None]] = []
"""Run before a finding ends the process (atheris exits without running ``atexit`` hooks)."""

TRACE: list[str] = []
"""What the current input did (typed mutations, calls), printed with a finding."""


def note(what: str) -> None:
    TRACE.append(what)


class Finding(AssertionError):
    """An oracle failure (or an escaped non-EdlError exception), with a stable id."""

    def __init__(self, finding_id: str, message: str) -> None:
        super().__init__(f"FINDING[{finding_id}] {message}")
        self.id = finding_id


def fail(finding_id: str, message: str) -> None:
    """Raise a :class:`Finding`, unless ``EDL_FUZZ_SKIP`` lists it (then the input goes on, so
    the oracle can look for the next thing wrong with it)."""
    if not skipped(finding_id):
        raise Finding(finding_id, message)


def _skip_list() -> list[str]:
    return [s.strip() for s in os.environ.get("EDL_FUZZ_SKIP", "").split(",") if s.strip()]


def skipped(finding_id: str) -> bool:
    return any(fnmatch.fnmatchcase(finding_id, pattern) for pattern in _skip_list())


def exception_id(exc: BaseException) -> str:
    """``Type@module.function`` of the innermost frame inside the ``edl`` package (or the
    harness when none): stable across edits that move lines."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = "harness"
    for fr in frames:
        parts = Path(fr.filename).parts
        if "edl" in parts and "tests" not in parts:
            i = len(parts) - 1 - parts[::-1].index("edl")
            mod = ".".join(parts[i:])[: -len(".py")] if fr.filename.endswith(".py") else parts[-1]
            where = f"{mod}.{fr.name}"
    name = type(exc).__name__
    if type(exc).__module__.startswith("edl"):
        name = f"{type(exc).__mro__[1].__name__}:{name}"  # e.g. ValueError:MixedCarouselError
    return f"exception.{name}@{where}"


def harness(budget_s: float = 1.0) -> Callable[[Callable[[bytes], None]], Callable[[bytes], None]]:
    """Decorate ``TestOneInput``: non-EdlError → Finding; > ``budget_s`` twice → ``slow`` Finding."""
    from edl.errors import EdlError

    def wrap(fn: Callable[[bytes], None]) -> Callable[[bytes], None]:
        def once(data: bytes) -> float:
            t0 = time.perf_counter()
            try:
                fn(data)
            except Finding:
                raise
            except EdlError as e:  # the harness lets none escape on purpose: one did
                raise Finding(f"harness.escaped_edl_error.{e.code}", f"{type(e).__name__}: {e}") from e
            except KeyboardInterrupt:
                raise
            except BaseException as e:  # noqa: BLE001 - the oracle: only EdlError is allowed
                # (BaseException: a Rust panic in cryptography is a pyo3 PanicException)
                raise Finding(exception_id(e), f"{type(e).__name__}: {str(e)[:500]}") from e
            return time.perf_counter() - t0

        @functools.wraps(fn)
        def test_one_input(data: bytes) -> None:
            TRACE.clear()
            try:
                took = once(data)
                if took > budget_s:
                    TRACE.clear()
                    took = min(took, once(data))  # a busy machine, or the input itself?
                    if took > budget_s:
                        raise Finding("slow", f"one input took {took:.2f} s (budget {budget_s} s)")
            except Finding as f:
                if skipped(f.id):
                    return
                steps = "\n".join(f"  {i}. {t}" for i, t in enumerate(TRACE, 1))
                print(f"\nFINDING[{f.id}] after:\n{steps}", file=sys.stderr, flush=True)
                for hook in CLEANUP:
                    hook()
                raise

        return test_one_input

    return wrap


# --- deterministic keys --------------------------------------------------------------------


@functools.cache
def det_key(label: str, curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    """A private key derived from ``label`` (same key on every run)."""
    c: ec.EllipticCurve = ec.SECP384R1() if curve == "P-384" else ec.SECP256R1()
    order = P384_ORDER if curve == "P-384" else P256_ORDER
    scalar = int.from_bytes(hashlib.sha512(b"edl-fuzz:" + label.encode()).digest(), "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, c)


# --- ECDSA malleability --------------------------------------------------------------------


def flip_s_raw(sig: bytes) -> bytes:
    """A raw ECDSA ``r‖s`` (P-256 or P-384) re-encoded as ``r‖(n−s)``: still valid."""
    size = len(sig) // 2
    order = {32: P256_ORDER, 48: P384_ORDER}.get(size)
    if order is None or len(sig) != 2 * size:
        return sig
    r, s = sig[:size], int.from_bytes(sig[size:], "big")
    if not 0 < s < order:
        return sig
    return r + ((order - s) % order).to_bytes(size, "big")


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def flip_s_certificate(der: bytes) -> bytes:
    """The same certificate with its ECDSA signature re-encoded ``(r, s) → (r, n−s)``.

    Still verifies under the issuer's key; different DER, so a different key id (SHA-256 over
    the DER). Returns ``der`` unchanged for a non-ECDSA certificate."""
    cert = x509.load_der_x509_certificate(der)
    sig = cert.signature
    try:
        r, s = decode_dss_signature(sig)
    except ValueError:
        return der
    hash_name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else ""
    order = P384_ORDER if hash_name == "sha384" else P256_ORDER
    new_sig = encode_dss_signature(r, order - s)
    old_bitstring = b"\x03" + _der_len(len(sig) + 1) + b"\x00" + sig
    if not der.endswith(old_bitstring):
        return der
    tbs = cert.tbs_certificate_bytes
    start = der.index(tbs)  # right after the outer SEQUENCE header
    alg = der[start + len(tbs) : len(der) - len(old_bitstring)]
    body = tbs + alg + b"\x03" + _der_len(len(new_sig) + 1) + b"\x00" + new_sig
    return b"\x30" + _der_len(len(body)) + body


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --- compatibility across edl versions --------------------------------------------------------


def revoked_signer(der: bytes) -> Any:
    """What ``CityEntry.revoked`` and ``TrustAnchors(revoked=...)`` hold for the signer with DER
    certificate ``der`` in the edl under test: a ``RevokedSigner`` (public key, issuer + serial)
    where it exists, else the 8-byte key id (edl 0.1)."""
    try:
        from edl.x509 import RevokedSigner
    except ImportError:
        return hashlib.sha256(der).digest()[:8]
    return RevokedSigner.of(der)


# --- FuzzedDataProvider helpers ------------------------------------------------------------


def pick(fdp: Any, items: Sequence[T]) -> T:
    return items[fdp.ConsumeIntInRange(0, len(items) - 1)]


def maybe(fdp: Any) -> bool:
    return bool(fdp.ConsumeBool())


# --- main ----------------------------------------------------------------------------------


def run(
    argv: list[str],
    test_one_input: Callable[[bytes], None],
    write_seeds: Callable[[Path], None],
    prefix: str,
) -> None:
    import atheris

    dirs = [a for a in argv[1:] if not a.startswith("-")]
    if dirs:
        target = Path(dirs[0])
        if target.is_dir() or not target.exists():
            write_seeds(target)  # a corpus folder (a file given alone is replayed as it is)
    else:
        corpus = Path(tempfile.mkdtemp(prefix=prefix))
        argv = [*argv, str(corpus)]
        print(f"seed corpus in {corpus}", file=sys.stderr)
        write_seeds(corpus)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def write_fdp_seeds(corpus: Path, seeds: dict[str, bytes]) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (corpus / name).write_bytes(data)
