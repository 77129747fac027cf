#!/usr/bin/env python3
"""Interop peer wrapping pymdoccbor 1.4.0 (IdentityPython/pyMDOC-CBOR).

Runs in its own venv, tests/interop/.venv-pymdoccbor (created by
scripts/setup-interop.sh); when started with another interpreter it re-executes
itself with the venv's python. CLI contract: see tests/interop/README.md.

    verify --response DR.cbor --cert TRUST.pem [--transcript ST.cbor] --at RFC3339
    issue  --ds-key K.pem --ds-cert C.pem --device-key DEV_PUB.pem --out OUT.cbor
           [--device-private-key DEV.pem --transcript ST.cbor] [--elements 12|20] --at RFC3339
    bench-verify --n N <verify args>      bench-issue --n N <issue args, --out optional>

Only public pymdoccbor API is used (MdocCbor, MdocCborIssuer, MsoVerifier,
settings). Two module-level substitutions are made for the duration of a call:
the clock of pymdoccbor.mso.verifier / pymdoccbor.mso.issuer is frozen at --at.
"""

# ruff: noqa: E402  (imports below are ordered on purpose)
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_VENV = os.path.normpath(os.path.join(_HERE, "..", ".venv-pymdoccbor"))
_VENV_PY = os.path.join(_VENV, "bin", "python")
if (
    os.path.realpath(sys.prefix) != os.path.realpath(_VENV)
    and os.path.exists(_VENV_PY)
    and not os.environ.get("PYMDOC_PEER_NO_REEXEC")
):
    os.execv(_VENV_PY, [_VENV_PY, os.path.abspath(__file__), *sys.argv[1:]])

# Known pitfall: pymdoccbor's verifier does `import cryptography` and then uses
# `cryptography.x509.load_der_x509_certificate`; unless the x509 submodule was
# imported by someone first, that raises AttributeError inside a broad
# `except`, and verify() silently returns False. Import it first.
try:
    import cryptography.x509  # noqa: F401  (must stay before any pymdoccbor import)
except ImportError as _e:
    sys.stderr.write(f"pymdoc_peer: {_e}: run scripts/setup-interop.sh (venv {_VENV})\n")
    sys.exit(2)

import argparse
import base64
import contextlib
import copy
import datetime as _dt
import json
import logging
import statistics
import time
import traceback

try:
    import cbor2
    import pymdoccbor.mso.issuer as _mso_issuer_mod
    import pymdoccbor.mso.verifier as _mso_verifier_mod
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from pymdoccbor import settings as _pymdoc_settings
    from pymdoccbor.mdoc.issuer import MdocCborIssuer
    from pymdoccbor.mdoc.verifier import MdocCbor
    from pymdoccbor.mso.verifier import MsoVerifier
except ImportError as _e:
    sys.stderr.write(f"pymdoc_peer: {_e}: run scripts/setup-interop.sh (venv {_VENV})\n")
    sys.exit(2)

DOCTYPE = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
PORTRAIT = bytes.fromhex("ffd8ffe000104a464946") + b"\x00" * 32 + bytes.fromhex("ffd9")


def mdl_elements(count: int = 12) -> dict:
    """The fixed element set of the CLI contract (12), or 20 for benchmarks.

    Dates are RFC 3339 full-date strings: pymdoccbor wraps birth_date,
    issue_date and expiry_date (also inside driving_privileges) in tag 1004.
    """
    elems = {
        "family_name": "Mustermann",
        "given_name": "Erika",
        "birth_date": "1971-09-01",
        "issue_date": "2024-01-15",
        "expiry_date": "2034-01-14",
        "issuing_country": "DE",
        "issuing_authority": "Test Authority",
        "document_number": "T22000129",
        "portrait": PORTRAIT,
        "driving_privileges": [
            {"vehicle_category_code": "B", "issue_date": "2024-01-15", "expiry_date": "2034-01-14"}
        ],
        "un_distinguishing_sign": "D",
        "age_over_18": True,
    }
    if count == 20:
        elems.update(
            {
                "sex": 2,
                "height": 175,
                "weight": 70,
                "eye_colour": "blue",
                "hair_colour": "brown",
                "birth_place": "Berlin",
                "resident_country": "DE",
                "age_over_21": True,
            }
        )
    elif count != 12:
        raise ValueError("--elements must be 12 or 20")
    return elems


# ----------------------------------------------------------------------------
# helpers


class UsageError(Exception):
    pass


def parse_at(s: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise UsageError(f"--at: not an RFC 3339 date-time: {s!r}") from e
    if t.tzinfo is None:
        raise UsageError(f"--at: needs a time zone (e.g. Z): {s!r}")
    return t.astimezone(_dt.UTC)


def read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e}") from e


def load_pem_certs(path: str) -> list:
    data = read_file(path)
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            return [x509.load_der_x509_certificate(data)]
        except ValueError as e:
            raise UsageError(f"{path}: no PEM/DER certificate") from e


def normalize_transcript(data: bytes) -> bytes:
    """Return SessionTranscriptBytes (#6.24(bstr .cbor SessionTranscript)).

    Accepts either that, or the bare SessionTranscript array; never re-encodes
    the inner bytes.
    """
    try:
        obj = cbor2.loads(data)
    except Exception as e:  # noqa: BLE001  (CBORDecodeError is not a ValueError)
        raise UsageError(f"--transcript: not CBOR: {e}") from e
    if isinstance(obj, cbor2.CBORTag) and obj.tag == 24 and isinstance(obj.value, bytes):
        return data
    if isinstance(obj, (list, tuple)):
        return cbor2.dumps(cbor2.CBORTag(24, data))
    raise UsageError("--transcript: neither SessionTranscriptBytes nor a SessionTranscript array")


def to_json(v):
    if isinstance(v, cbor2.CBORTag):
        return to_json(v.value)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, _dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(_dt.UTC)
            return v.replace(tzinfo=None).isoformat() + "Z"
        return v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, dict) or hasattr(v, "items"):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    return v


def _frozen_datetime_class(at: _dt.datetime):
    at_aware = at.astimezone(_dt.UTC)
    at_naive = at_aware.replace(tzinfo=None)

    class FrozenDateTime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return at_naive if tz is None else at_aware.astimezone(tz)

        @classmethod
        def utcnow(cls):
            return at_naive

    return FrozenDateTime


@contextlib.contextmanager
def frozen_clock(at: _dt.datetime):
    """Freeze the clock pymdoccbor reads (verifier: DS cert dates; issuer: MSO validity)."""
    frozen = _frozen_datetime_class(at)

    class _DatetimeModule:  # stand-in for the `datetime` module in mso/issuer.py
        datetime = frozen
        timedelta = _dt.timedelta
        timezone = _dt.timezone
        date = _dt.date

    saved_v = _mso_verifier_mod.datetime
    saved_i = _mso_issuer_mod.datetime
    _mso_verifier_mod.datetime = frozen
    _mso_issuer_mod.datetime = _DatetimeModule
    try:
        yield
    finally:
        _mso_verifier_mod.datetime = saved_v
        _mso_issuer_mod.datetime = saved_i


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


_capture = _Capture()
_pymdoc_logger = logging.getLogger("pymdoccbor")
_pymdoc_logger.addHandler(_capture)
_pymdoc_logger.propagate = False
_pymdoc_logger.setLevel(logging.WARNING)


# ----------------------------------------------------------------------------
# verify


def _ds_certs_of(cdict) -> list:
    out = []
    for doc in cdict.get("documents", ()) or ():
        try:
            raw = MsoVerifier(doc["issuerSigned"]["issuerAuth"]).raw_public_keys
            out.append(raw[0] if raw else None)
        except Exception:  # noqa: BLE001
            out.append(None)
    return out


def _self_signed(c) -> bool:
    if c.issuer != c.subject:
        return False
    try:
        c.verify_directly_issued_by(c)
        return True
    except Exception:  # noqa: BLE001
        return False


def pin_mode(response: bytes, trust: list):
    """Decide how trust is applied. Returns the pinned DS certificates, or None.

    Pinning: the trust file is the DS certificate itself. pymdoccbor can only
    check "DS is signed by a trusted root" (and the DS dates, inside that same
    check), so when every document's x5chain[0] is byte-identical to a trusted,
    non-self-signed certificate, this wrapper does the pin comparison and the DS
    date check, and runs pymdoccbor with trusted_root_certs=None. A self-signed
    DS works as a root for pymdoccbor's own check, so it is not "pinned" here.
    """
    try:
        cdict = cbor2.loads(response)
        ds_ders = _ds_certs_of(cdict) if hasattr(cdict, "get") else []
    except Exception:  # noqa: BLE001
        return None
    trust_der = {c.public_bytes(serialization.Encoding.DER) for c in trust}
    if not ds_ders or any(d is None or d not in trust_der for d in ds_ders):
        return None
    certs = [x509.load_der_x509_certificate(d) for d in ds_ders]
    if any(_self_signed(c) for c in certs):
        return None
    return certs


def verify_core(response: bytes, trust: list, at: _dt.datetime, pinned):
    """pymdoccbor verification proper. Returns (ok, errors, mdoc)."""
    _capture.records.clear()
    errors = []
    if pinned is not None:
        for c in pinned:
            if not (c.not_valid_before_utc <= at <= c.not_valid_after_utc):
                errors.append(f"pinned DS certificate not valid at {to_json(at)}")
    mdoc = MdocCbor()
    try:
        mdoc.loads(response)
        with frozen_clock(at):
            ok = mdoc.verify(trusted_root_certs=None if pinned is not None else trust, verify_hashes=True)
    except Exception as e:  # noqa: BLE001  (malformed input is a verification result)
        return False, errors + [f"{type(e).__name__}: {e}"], mdoc
    if not ok:
        for d in mdoc.documents_invalid:
            hv = getattr(d, "hash_verification", None)
            if hv is not None and not hv.get("valid", True):
                bad = [
                    f"{f.get('namespace')}/{f.get('elementIdentifier')}: {f.get('reason')}"
                    for f in hv["failed"]
                ]
                errors.append("digest check failed: " + "; ".join(bad))
            elif hasattr(d, "is_valid"):
                errors.append("issuer signature invalid")
        errors.extend(r.getMessage() for r in _capture.records if r.levelno >= logging.ERROR)
        if not errors:
            errors.append("pymdoccbor verify() returned False")
    return ok and not errors, errors, mdoc


def verify_once(response: bytes, trust: list, at: _dt.datetime):
    """One verification as the CLI reports it: (valid, error, elements)."""
    ok, errors, mdoc = verify_core(response, trust, at, pin_mode(response, trust))
    return ok, (None if ok else "; ".join(errors)), to_json(mdoc.disclosure_map)


def cmd_verify(a):
    response = read_file(a.response)
    trust = load_pem_certs(a.cert)
    at = parse_at(a.at)
    if a.transcript:
        normalize_transcript(read_file(a.transcript))  # validated, but pymdoccbor cannot use it
    valid, error, elements = verify_once(response, trust, at)
    return {"valid": bool(valid), "error": error, "elements": elements}


# ----------------------------------------------------------------------------
# issue


def _load_ds_key(path: str):
    key = serialization.load_pem_private_key(read_file(path), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise UsageError("--ds-key must be an EC P-256 private key")
    d = key.private_numbers().private_value.to_bytes(32, "big")
    return {"KTY": "EC2", "CURVE": "P_256", "ALG": "ES256", "D": d}


def _load_device_pub(path: str) -> dict:
    data = read_file(path)
    try:
        pub = serialization.load_pem_public_key(data)
    except ValueError:
        pub = serialization.load_pem_private_key(data, password=None).public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != "secp256r1":
        raise UsageError("--device-key must be an EC P-256 public key")
    n = pub.public_numbers()
    return {1: 2, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")}


def issue_once(ds_key: dict, ds_cert_path: str, device_key: dict, at: _dt.datetime, elements: dict) -> bytes:
    until = at + _dt.timedelta(days=365)
    # validUntil = signed + PYMDOC_EXP_DELTA_HOURS when that setting is non-zero;
    # otherwise pymdoccbor uses expiry_date at 23:59:59. Use the exact delta.
    _pymdoc_settings.PYMDOC_EXP_DELTA_HOURS = 365 * 24
    issuer = MdocCborIssuer(private_key=ds_key, alg="ES256")
    with frozen_clock(at):
        issuer.new(
            # MsoIssuer wraps dates inside driving_privileges in tag 1004 IN PLACE
            # (the caller's dicts): hand it a fresh copy every time.
            data={NS: copy.deepcopy(elements)},
            doctype=DOCTYPE,
            validity={"issuance_date": at.date().isoformat(), "expiry_date": until.date().isoformat()},
            devicekeyinfo=dict(device_key),
            x509_chain=[ds_cert_path],
        )
    return issuer.dump()


def cmd_issue(a):
    at = parse_at(a.at)
    ds_key = _load_ds_key(a.ds_key)
    load_pem_certs(a.ds_cert)
    dev = _load_device_pub(a.device_key)
    elements = mdl_elements(a.elements)
    out = issue_once(ds_key, a.ds_cert, dev, at, elements)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(out)
    notes = (
        "pymdoccbor MdocCborIssuer output: DeviceResponse-shaped map {version, documents:"
        "[{docType, issuerSigned}], status} with NO deviceSigned (pymdoccbor has no device "
        "authentication); all elements disclosed; MSO validFrom=signed=--at, validUntil=--at+365d; "
        "x5chain = DS cert only"
    )
    if a.device_private_key or a.transcript:
        notes += "; --device-private-key/--transcript ignored"
    return {"wrote": "device_response", "notes": notes, "bytes": len(out)}


# ----------------------------------------------------------------------------
# benchmarks (in-process, N repetitions of the same work)


def _bench(fn, n: int) -> dict:
    warm = max(3, min(50, n // 10))
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
    samples.sort()
    return {
        "n": n,
        "warmup": warm,
        "median_us": round(statistics.median(samples), 1),
        "mean_us": round(statistics.fmean(samples), 1),
        "min_us": round(samples[0], 1),
        "p90_us": round(samples[int(0.9 * (n - 1))], 1),
    }


def cmd_bench_verify(a):
    response = read_file(a.response)
    trust = load_pem_certs(a.cert)
    at = parse_at(a.at)
    valid, error, elements = verify_once(response, trust, at)
    pinned = pin_mode(response, trust)  # decided once: a property of the inputs
    res = _bench(lambda: verify_core(response, trust, at, pinned), a.n)
    res.update(
        {
            "peer": "pymdoccbor 1.4.0",
            "valid": valid,
            "error": error,
            "disclosed_elements": sum(len(v) for v in elements.values()),
            "work": "MdocCbor().loads + verify(trusted_root_certs, verify_hashes=True) "
            "(DS-to-root signature + DS dates, issuerAuth ES256, digests, element decoding); "
            "NO device authentication and NO MSO validity check (pymdoccbor has neither)",
        }
    )
    return res


def cmd_bench_issue(a):
    at = parse_at(a.at)
    ds_key = _load_ds_key(a.ds_key)
    load_pem_certs(a.ds_cert)
    dev = _load_device_pub(a.device_key)
    elements = mdl_elements(a.elements)
    out = issue_once(ds_key, a.ds_cert, dev, at, elements)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(out)
    res = _bench(lambda: issue_once(ds_key, a.ds_cert, dev, at, elements), a.n)
    res.update(
        {
            "peer": "pymdoccbor 1.4.0",
            "elements": len(elements),
            "bytes": len(out),
            "work": "MdocCborIssuer(private_key).new(...) + dump(): digests, MSO, ES256 issuerAuth "
            "(pure-Python ecdsa via pycose), x5chain read from the DS cert file each time",
        }
    )
    return res


# ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    p = _Parser(prog="pymdoc_peer.py", description="pymdoccbor interop peer (see tests/interop/README.md)")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    def verify_args(sp, bench=False):
        sp.add_argument("--response", required=True)
        sp.add_argument("--cert", required=True)
        sp.add_argument("--transcript")
        sp.add_argument("--reader-key", help="accepted for CLI parity; pymdoccbor cannot check deviceMac")
        sp.add_argument("--at", required=True)
        if bench:
            sp.add_argument("--n", type=int, default=200)

    def issue_args(sp, bench=False):
        sp.add_argument("--ds-key", required=True)
        sp.add_argument("--ds-cert", required=True)
        sp.add_argument("--device-key", required=True)
        sp.add_argument("--out", required=not bench)
        sp.add_argument("--device-private-key")
        sp.add_argument("--transcript")
        sp.add_argument("--elements", type=int, choices=(12, 20), default=20 if bench else 12)
        sp.add_argument("--disclose", help="accepted for CLI parity; pymdoccbor always discloses all")
        sp.add_argument("--at", required=True)
        if bench:
            sp.add_argument("--n", type=int, default=200)

    verify_args(sub.add_parser("verify"))
    issue_args(sub.add_parser("issue"))
    verify_args(sub.add_parser("bench-verify"), bench=True)
    issue_args(sub.add_parser("bench-issue"), bench=True)
    return p


def main(argv=None) -> int:
    try:
        a = build_parser().parse_args(argv)
        if getattr(a, "n", 1) < 1:
            raise UsageError("--n must be >= 1")
        handler = {
            "verify": cmd_verify,
            "issue": cmd_issue,
            "bench-verify": cmd_bench_verify,
            "bench-issue": cmd_bench_issue,
        }[a.cmd]
        result = handler(a)
    except UsageError as e:
        print(f"pymdoc_peer: usage error: {e}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 2
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
