"""Structure-aware atheris harness: garbage files for the library's readers and for the CLI,
run in-process (PEM certificates and keys, encrypted or not; a key-store folder; a city's
state; licence JSON; trust lists, roots, responses, transcripts, QR text files, the verifier's
``EDL_HOME``).

    python tests/fuzz/fuzz_files.py [CORPUS_DIR | CRASH_FILE] [-atheris_runs=N] [-max_total_time=S]

At start it builds a template folder of genuine files (same keys every run): a key store
(``kdf.json`` with a cheap scrypt cost, so the fuzzer can afford to open it) holding the city
``cn-qingdao`` (root + DS), a credential folder and QR frames of a licence it issued, an ISO
DeviceResponse of it, a 1-of-1 trust list naming it and the operator's root, a verifier home
that has loaded that list; and, outside the key store, a root and DS as PEM files (the DS key
plain and encrypted), a device key, a reader key, IssuerSigned and DeviceResponses
(deviceSignature and deviceMac) and their session transcript.

Each input copies the template to a fresh folder and, read with ``atheris.FuzzedDataProvider``,
picks a target and mutates 1–2 of the files it reads with a mutator of the file's kind: PEM
(body bytes, label, headers, END line, line ends, DER, two blocks), JSON (a value replaced by a
wrong type, a key dropped or added, NaN, huge numbers, bad dates, raw text cut), CBOR (a value
deep inside replaced, a key dropped, a tag wrapped, bytes cut) or raw bytes. Targets:

- library: ``FileKeyStore.names/signer`` (only ``KeyStoreError``); ``Licence.from_json`` (only
  ``LicenceError``) and then ``issue_licence`` (only ``ValueError``, as documented);
  ``TrustAnchors.from_pem`` (only ``MalformedError``); ``CityAdmin.load/entry/export`` (only
  ``EdlError``);
- the CLI, in-process (``edl.cli.main``): ``mdoc verify`` (trust anchor, trust list, deviceMac
  with a reader key), ``verify`` (QR texts), ``trust show``, ``trust pin``, ``city export``,
  ``mdoc issue``, ``issue``, ``mdoc respond``, ``wallet qr``.

Oracle: library calls raise only what their documentation says; the CLI exits 0, 1, 2 or 3
(argparse's own usage exit 2 included), never raises (an escaped exception is a Python
traceback on a terminal), never exits 70 (the internal-error handler: a finding too) and never
prints "Traceback".
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import copy
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/fuzz, for _fuzzlib

with atheris.instrument_imports(include=["edl"]):
    import datetime as dt

    from cryptography.hazmat.primitives import serialization

    from edl import cbor, cli
    from edl.city import CityAdmin
    from edl.cose import KeySigner
    from edl.credentials import issue_licence, write_credential_dir
    from edl.errors import EdlError
    from edl.issue import DocumentSigner, issue_mdoc
    from edl.keys import FileKeyStore
    from edl.mdoc import SessionTranscript
    from edl.model import Licence, LicenceError
    from edl.pins import Pins
    from edl.trust import TrustList, TrustRoot, operator_key_id, sign_root, sign_trust_list
    from edl.wallet import Wallet, respond
    from edl.x509 import TrustAnchors, make_document_signer, make_iaca

from _fuzzlib import CLEANUP, det_key, exception_id, fail, harness, maybe, note, pick, run, write_fdp_seeds

from edltest import NOW, licence_json

DAY = dt.timedelta(days=1)
PASSPHRASE = "fuzz-pass"
AT = (NOW + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
CITY = "cn-qingdao"

# --- the template folder ----------------------------------------------------------------------

_TMP = Path(tempfile.mkdtemp(prefix="edl-fuzz-files-"))
atexit.register(shutil.rmtree, _TMP, True)
CLEANUP.append(lambda: shutil.rmtree(_TMP, ignore_errors=True))
T = _TMP / "template"


def _pem_key(key: Any, password: bytes | None = None) -> bytes:
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def _pem_pub(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _build_template() -> None:
    (T / "ks" / "keys").mkdir(parents=True, mode=0o700)
    # A cheap scrypt cost written before the first key, so opening the store costs microseconds.
    (T / "ks" / "keys" / "kdf.json").write_text(
        json.dumps(
            {"kdf": "scrypt", "salt": hashlib.sha256(b"salt").hexdigest()[:32], "n": 16, "r": 8, "p": 1}
        )
    )
    admin = CityAdmin(T / "ks", FileKeyStore(T / "ks" / "keys", PASSPHRASE.encode()))
    admin.init(CITY, name="Qingdao", country="CN", now=NOW - DAY)
    device = det_key("files.device")
    (T / "device-key.pem").write_bytes(_pem_key(device))
    (T / "device-pub.pem").write_bytes(_pem_pub(device.public_key()))
    transcript = SessionTranscript.from_bytes(
        cbor.encode(cbor.wrap24(cbor.encode([None, None, ["edl-fuzz", b"f"]])))
    )
    (T / "transcript.cbor").write_bytes(transcript.tagged)
    (T / "licence.json").write_text(json.dumps(licence_json(), ensure_ascii=False, indent=1))

    # Issued by the key-store city: credential folder, QR frames, an ISO response.
    issued = issue_licence(
        Licence.from_json(licence_json()),
        city=CITY,
        device_key=device.public_key(),
        signer=admin.document_signer(CITY),
        now=NOW,
    )
    write_credential_dir(T / "cred", issued)
    wallet = Wallet(device)
    wallet.add(issued.compact, issued.thumbnail)
    (T / "frames.txt").write_text("\n".join(wallet.frames("roadside", at=NOW, challenge=b"K7Q2")) + "\n")
    (T / "response-ks.cbor").write_bytes(
        respond(issued.mdoc, device_key=KeySigner(device), transcript=transcript).to_bytes()
    )

    # The operator's root and a trust list naming the city; a verifier home that loaded it.
    op = KeySigner(det_key("files.operator"))
    root = TrustRoot(
        name="FILES-OPS",
        version=1,
        threshold=1,
        keys={operator_key_id(op.public_key()): op.public_key()},
        expires=NOW + 3650 * DAY,
    )
    (T / "op-root.cbor").write_bytes(sign_root(root, [op]))
    tl = TrustList(
        provider="FILES-OPS",
        sequence=1,
        issued=NOW - DAY,
        next_update=NOW,
        expires=NOW + 6 * DAY,
        root_version=1,
        cities=(admin.entry(CITY, now=NOW),),
    )
    (T / "trust-list.cbor").write_bytes(sign_trust_list(tl, [op], [(T / "op-root.cbor").read_bytes()]))
    pins = Pins(T / "home")
    pins.pin((T / "op-root.cbor").read_bytes())
    pins.load_list((T / "trust-list.cbor").read_bytes(), now=NOW)
    (T / "export.cbor").write_bytes(admin.export(CITY, now=NOW))

    # A root and DS kept as PEM files; responses signed by that DS.
    root_key = det_key("files.pem.root")
    iaca = make_iaca(
        root_key, common_name="Pem IACA", country="CN", not_before=NOW - 30 * DAY, not_after=NOW + 3650 * DAY
    )
    ds_key = det_key("files.pem.ds")
    ds = make_document_signer(
        root_key,
        iaca,
        ds_key.public_key(),
        common_name="Pem DS",
        not_before=NOW - DAY,
        not_after=NOW + 400 * DAY,
    )
    (T / "root.pem").write_bytes(iaca.public_bytes(serialization.Encoding.PEM))
    (T / "ds.pem").write_bytes(ds.public_bytes(serialization.Encoding.PEM))
    (T / "ds-key.pem").write_bytes(_pem_key(ds_key))
    (T / "ds-key-enc.pem").write_bytes(_pem_key(ds_key, PASSPHRASE.encode()))
    reader = det_key("files.reader")
    (T / "reader-key.pem").write_bytes(_pem_key(reader))
    signed = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=device.public_key(),
        signer=DocumentSigner(KeySigner(ds_key), ds),
        now=NOW,
    )
    (T / "issuer_signed.cbor").write_bytes(signed.to_bytes())
    (T / "response.cbor").write_bytes(
        respond(signed, device_key=KeySigner(device), transcript=transcript).to_bytes()
    )
    (T / "response-mac.cbor").write_bytes(
        respond(signed, device_key=device, transcript=transcript, reader_key=reader.public_key()).to_bytes()
    )


_build_template()
_CITY_DIR = f"ks/cities/{CITY}"
_DS_PEM = next(p.name for p in (T / _CITY_DIR).glob("ds-*.pem"))
_KEYS = sorted(p.name for p in (T / "ks" / "keys").glob("*.key.pem"))
_ROOT_KEY_FILE = next((k for k in _KEYS if "root" in k), _KEYS[0])
# The verifier's folder, whatever its layout in the edl under test (state.json, pinned roots).
_HOME_FILES = sorted(p.relative_to(T).as_posix() for p in (T / "home").rglob("*") if p.is_file())
_PEMS = [
    (T / n).read_bytes() for n in ("root.pem", "ds.pem", "ds-key.pem", "ds-key-enc.pem", "device-pub.pem")
]
sys.stdin = io.StringIO("")  # never a terminal: no passphrase prompt can block a run

# --- mutators ---------------------------------------------------------------------------------

WEIRD = [
    None,
    True,
    0,
    -1,
    1.5,
    2**64,
    10**30,
    float("nan"),
    "",
    "x" * 300,
    "1990-02-30",
    "9999-12-31",
    "2024-01-01T00:00:00",
    "0000-00-00",
    "Zm9v",
    "!!not base64",
    "/9j/2Q==",
    [],
    {},
    [None],
    {"a": None},
    [{"vehicle_category_code": None}],
]
KDF_WEIRD = [0, 1, 3, 2, 16, 2**15, 2**17, -1, 2**62, 1.5, "16", None, True, "zz", "00" * 16, ""]


def mutate_bytes(fdp: Any, data: bytes) -> bytes:
    op = fdp.ConsumeIntInRange(0, 7)
    pos = fdp.ConsumeIntInRange(0, len(data))
    if op == 0 and data:
        out = bytearray(data)
        for _ in range(fdp.ConsumeIntInRange(1, 4)):
            i = fdp.ConsumeIntInRange(0, len(out) - 1)
            out[i] ^= 1 << fdp.ConsumeIntInRange(0, 7)
        return bytes(out)
    if op == 1:
        return data[:pos]
    if op == 2:
        return data[:pos] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 32)) + data[pos:]
    if op == 3:
        return data[:pos] + data[pos + fdp.ConsumeIntInRange(1, 64) :]
    if op == 4:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    if op == 5:
        return b""
    if op == 6:
        return data + data
    return data + fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16))


def mutate_pem(fdp: Any, data: bytes) -> bytes:
    text = data.decode("latin-1")
    lines = text.splitlines()
    op = fdp.ConsumeIntInRange(0, 9)
    if op == 0 and len(lines) > 2:  # the base64 body only
        try:
            body = base64.b64decode("".join(lines[1:-1]))
        except ValueError:
            return mutate_bytes(fdp, data)
        new = base64.encodebytes(mutate_bytes(fdp, body)).decode().splitlines()
        return "\n".join([lines[0], *new, lines[-1]]).encode() + b"\n"
    if op == 1:
        label = pick(
            fdp,
            [
                "CERTIFICATE",
                "PRIVATE KEY",
                "EC PRIVATE KEY",
                "ENCRYPTED PRIVATE KEY",
                "PUBLIC KEY",
                "X509 CRL",
                "RSA PRIVATE KEY",
                "",
            ],
        )
        return (f"-----BEGIN {label}-----\n" + "\n".join(lines[1:-1]) + f"\n-----END {label}-----\n").encode()
    if op == 2:
        return "\n".join(lines[:-1]).encode()
    if op == 3:
        return text.replace("\n", "\r\n").encode("latin-1")
    if op == 4:
        return data + pick(fdp, _PEMS)
    if op == 5 and len(lines) > 2:
        try:
            return base64.b64decode("".join(lines[1:-1]))
        except ValueError:
            return data
    if op == 6 and lines:
        dek = pick(fdp, ["AES-128-CBC,00", "DES-EDE3-CBC,0011223344556677", "AES-256-CBC,XYZ", "NONE"])
        return (
            "\n".join([lines[0], "Proc-Type: 4,ENCRYPTED", f"DEK-Info: {dek}", "", *lines[1:]]).encode()
            + b"\n"
        )
    if op == 7 and len(lines) > 2:
        body = base64.b64encode(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200))).decode()
        return f"{lines[0]}\n{body}\n{lines[-1]}\n".encode()
    if op == 8:
        return b"garbage before\n" + data + b"garbage after\n"
    return mutate_bytes(fdp, data)


def _inner(value: Any) -> Any:
    return value.value if isinstance(value, cbor.CBORTag) else value


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    value = _inner(value)
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _container(value: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        value = _inner(value)[k]
    return _inner(value)


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    _container(value, path[:-1])[path[-1]] = new
    return value


def _drop(value: Any, path: tuple[Any, ...]) -> Any:
    if path:
        del _container(value, path[:-1])[path[-1]]
    return value


def mutate_value(fdp: Any, value: Any, weird: list[Any]) -> Any:
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        paths = _paths(value)
        path = pick(fdp, paths)
        op = fdp.ConsumeIntInRange(0, 3)
        if op <= 1:
            value = _set(value, path, copy.deepcopy(pick(fdp, weird)))
        elif op == 2 and path:
            value = _drop(value, path)
        else:
            target = _container(value, path)
            if isinstance(target, dict):
                key = pick(fdp, ["x", "nameSpaces", "n", "org.iso.18013.5.1", "cn.qingdao.1", "status"])
                target[key] = copy.deepcopy(pick(fdp, weird))
            elif isinstance(target, list):
                target.append(copy.deepcopy(pick(fdp, weird)))
        note(f"value at {list(path)} changed (op {op})")
    return value


def mutate_json(fdp: Any, data: bytes, weird: list[Any] = WEIRD) -> bytes:
    if fdp.ConsumeIntInRange(0, 4) == 0:
        return mutate_bytes(fdp, data)
    try:
        value = json.loads(data)
    except ValueError:
        return mutate_bytes(fdp, data)
    value = mutate_value(fdp, value, weird)
    return json.dumps(value, ensure_ascii=maybe(fdp)).encode()


CBOR_WEIRD = [
    None,
    0,
    -1,
    2**64 - 1,
    b"",
    b"\x00" * 8,
    "",
    "x",
    [],
    {},
    cbor.CBORTag(24, b"\xa0"),
    cbor.CBORTag(0, "2026-01-01T00:00:00Z"),
    True,
    1.5,
]


def mutate_cbor(fdp: Any, data: bytes) -> bytes:
    if fdp.ConsumeIntInRange(0, 2) == 0:
        return mutate_bytes(fdp, data)
    try:
        value = cbor.decode(data)
    except EdlError:
        return mutate_bytes(fdp, data)
    try:
        value = mutate_value(fdp, _thaw(value), CBOR_WEIRD)
        return cbor.encode(value)
    except Exception:  # noqa: BLE001 - the harness's own re-encoding failed: fall back to bytes
        return mutate_bytes(fdp, data)


def _thaw(value: Any) -> Any:
    if isinstance(value, cbor.CBORTag):
        return cbor.CBORTag(value.tag, _thaw(value.value))
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def mutate_text(fdp: Any, data: bytes) -> bytes:
    lines = data.decode("latin-1").splitlines()
    op = fdp.ConsumeIntInRange(0, 4)
    if op == 0 and lines:
        del lines[fdp.ConsumeIntInRange(0, len(lines) - 1)]
    elif op == 1 and lines:
        i = fdp.ConsumeIntInRange(0, len(lines) - 1)
        lines[i] = mutate_bytes(fdp, lines[i].encode("latin-1")).decode("latin-1")
    elif op == 2:
        lines.insert(
            fdp.ConsumeIntInRange(0, len(lines)),
            pick(fdp, ["DL1:", "DL2:AAA", "DL1:%%%", "dl1:" + (lines[0][4:] if lines else ""), "DL:x"]),
        )
    elif op == 3 and lines:
        lines = lines[::-1]
    else:
        return mutate_bytes(fdp, data)
    return ("\n".join(lines) + "\n").encode("latin-1")


def mutate_file(fdp: Any, path: Path) -> None:
    data = path.read_bytes() if path.exists() else b""
    name = path.name
    if name == "kdf.json":
        new = mutate_json(fdp, data, KDF_WEIRD)
    elif name.endswith(".json"):
        new = mutate_json(fdp, data)
    elif name.endswith(".pem"):
        new = mutate_pem(fdp, data)
    elif name.endswith(".cbor"):
        new = mutate_cbor(fdp, data)
    elif name.endswith(".txt"):
        new = mutate_text(fdp, data)
    else:
        new = mutate_bytes(fdp, data)
    note(f"{path.name} mutated: {len(data)} -> {len(new)} bytes")
    if fdp.ConsumeIntInRange(0, 15) == 15:
        path.unlink(missing_ok=True)
        note(f"{path.name} removed")
        return
    path.write_bytes(new)


# --- targets ----------------------------------------------------------------------------------


def cli_run(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    escaped: BaseException | None = None
    note("edl " + " ".join(a if "/" not in a else Path(a).name for a in argv))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: Any = cli.main(argv)
        except SystemExit as e:  # argparse's usage errors exit 2
            code = e.code if isinstance(e.code, int) else 2
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - on a terminal: a Python traceback
            escaped = e
    if escaped is not None:
        fail(
            f"cli.traceback.{exception_id(escaped)}",
            f"edl {' '.join(argv[:2])} raised {type(escaped).__name__}: {str(escaped)[:300]}",
        )
        return
    note(f"exit {code}; stderr: {err.getvalue()[-200:]!r}")
    if code == 70:
        fail(
            "cli.exit_70_internal_error",
            f"edl {argv[:2]} exited 70 (internal error): {err.getvalue()[-300:]}",
        )
    elif code not in (0, 1, 2, 3):
        fail("cli.exit_code", f"edl {argv[:2]} exited {code!r}")
    if "Traceback" in err.getvalue() or "Traceback" in out.getvalue():
        fail("cli.traceback_printed", f"edl {argv[:2]} printed a traceback")


def _lib_keystore(w: Path) -> None:
    store = FileKeyStore(w / "ks" / "keys", PASSPHRASE.encode())
    names = store.names()
    for name in names:
        store.signer(name)


def _lib_licence(fdp: Any, w: Path) -> None:
    obj = mutate_value(fdp, licence_json(), WEIRD)
    try:
        lic = Licence.from_json(obj)
    except LicenceError:
        return
    admin = CityAdmin(w / "ks", FileKeyStore(w / "ks" / "keys", PASSPHRASE.encode()))
    try:
        issue_licence(
            lic,
            city=CITY,
            device_key=det_key("files.device").public_key(),
            signer=admin.document_signer(CITY),
            now=NOW,
        )
    except ValueError:  # documented: the data does not fit a profile / a QR frame
        return


def _lib_anchors(w: Path) -> None:
    TrustAnchors.from_pem((w / "root.pem").read_bytes() if (w / "root.pem").exists() else b"")


def _lib_city(w: Path) -> None:
    admin = CityAdmin(w / "ks", FileKeyStore(w / "ks" / "keys", PASSPHRASE.encode()))
    admin.load(CITY)
    admin.entry(CITY, now=NOW)
    admin.export(CITY, now=NOW)


def _targets(w: Path) -> list[tuple[str, list[str], Any]]:
    s = str
    return [
        (
            "mdoc verify --trust-anchor",
            ["response.cbor", "root.pem", "transcript.cbor"],
            [
                "mdoc",
                "verify",
                s(w / "response.cbor"),
                "--trust-anchor",
                s(w / "root.pem"),
                "--transcript",
                s(w / "transcript.cbor"),
                "--at",
                AT,
            ],
        ),
        (
            "mdoc verify --trust-list",
            [
                "response-ks.cbor",
                "trust-list.cbor",
                "op-root.cbor",
                "transcript.cbor",
                *_HOME_FILES,
            ],
            [
                "mdoc",
                "verify",
                s(w / "response-ks.cbor"),
                "--trust-list",
                s(w / "trust-list.cbor"),
                "--trust-root",
                s(w / "op-root.cbor"),
                "--transcript",
                s(w / "transcript.cbor"),
                "--at",
                AT,
            ],
        ),
        (
            "mdoc verify --reader-key",
            ["response-mac.cbor", "reader-key.pem", "root.pem", "transcript.cbor"],
            [
                "mdoc",
                "verify",
                s(w / "response-mac.cbor"),
                "--trust-anchor",
                s(w / "root.pem"),
                "--transcript",
                s(w / "transcript.cbor"),
                "--reader-key",
                s(w / "reader-key.pem"),
                "--at",
                AT,
            ],
        ),
        (
            "verify",
            ["frames.txt", "trust-list.cbor", "op-root.cbor", *_HOME_FILES],
            [
                "verify",
                s(w / "frames.txt"),
                "--trust-list",
                s(w / "trust-list.cbor"),
                "--trust-root",
                s(w / "op-root.cbor"),
                "--challenge",
                "K7Q2",
                "--at",
                AT,
            ],
        ),
        (
            "trust show",
            ["trust-list.cbor", "op-root.cbor", *_HOME_FILES],
            ["trust", "show", s(w / "trust-list.cbor"), "--trust-root", s(w / "op-root.cbor"), "--at", AT],
        ),
        ("trust pin", ["op-root.cbor"], ["trust", "pin", s(w / "op-root.cbor")]),
        (
            "city export",
            [
                f"{_CITY_DIR}/city.json",
                f"{_CITY_DIR}/root-1.pem",
                f"{_CITY_DIR}/{_DS_PEM}",
                "ks/keys/kdf.json",
                f"ks/keys/{_ROOT_KEY_FILE}",
            ],
            ["city", "export", CITY, "--keystore", s(w / "ks"), "--out", s(w / "out.export"), "--at", AT],
        ),
        (
            "mdoc issue",
            ["licence.json", "ds-key.pem", "ds-key-enc.pem", "ds.pem", "device-pub.pem"],
            [
                "mdoc",
                "issue",
                "--licence",
                s(w / "licence.json"),
                "--signer-key",
                s(w / "ds-key.pem"),
                "--signer-cert",
                s(w / "ds.pem"),
                "--device-key",
                s(w / "device-pub.pem"),
                "--out",
                s(w / "out.cbor"),
                "--at",
                AT,
            ],
        ),
        (
            "mdoc issue (encrypted key)",
            ["licence.json", "ds-key-enc.pem", "device-pub.pem"],
            [
                "mdoc",
                "issue",
                "--licence",
                s(w / "licence.json"),
                "--signer-key",
                s(w / "ds-key-enc.pem"),
                "--signer-cert",
                s(w / "ds.pem"),
                "--device-key",
                s(w / "device-pub.pem"),
                "--out",
                s(w / "out.cbor"),
                "--at",
                AT,
            ],
        ),
        (
            "issue --keystore",
            [
                "licence.json",
                "device-pub.pem",
                "ks/keys/kdf.json",
                *[f"ks/keys/{k}" for k in _KEYS],
                f"{_CITY_DIR}/city.json",
                f"{_CITY_DIR}/{_DS_PEM}",
            ],
            [
                "issue",
                "--city",
                CITY,
                "--keystore",
                s(w / "ks"),
                "--licence",
                s(w / "licence.json"),
                "--device-key",
                s(w / "device-pub.pem"),
                "--out",
                s(w / "cred-out"),
                "--at",
                AT,
            ],
        ),
        (
            "mdoc respond",
            ["issuer_signed.cbor", "device-key.pem", "transcript.cbor"],
            [
                "mdoc",
                "respond",
                s(w / "issuer_signed.cbor"),
                "--device-key",
                s(w / "device-key.pem"),
                "--transcript",
                s(w / "transcript.cbor"),
                "--out",
                s(w / "resp-out.cbor"),
            ],
        ),
        (
            "wallet qr",
            ["cred/credential.json", "cred/roadside.cbor", "cred/portrait-thumbnail.jpg", "device-key.pem"],
            [
                "wallet",
                "qr",
                s(w / "cred"),
                "--device-key",
                s(w / "device-key.pem"),
                "--out",
                s(w / "frames-out"),
                "--at",
                AT,
            ],
        ),
        ("lib FileKeyStore", ["ks/keys/kdf.json", *[f"ks/keys/{k}" for k in _KEYS]], _lib_keystore),
        ("lib Licence.from_json + issue_licence", [], _lib_licence),
        ("lib TrustAnchors.from_pem", ["root.pem"], _lib_anchors),
        (
            "lib CityAdmin",
            [
                f"{_CITY_DIR}/city.json",
                f"{_CITY_DIR}/root-1.pem",
                f"{_CITY_DIR}/{_DS_PEM}",
                f"ks/keys/{_ROOT_KEY_FILE}",
            ],
            _lib_city,
        ),
    ]


@harness(budget_s=3.0)
def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    work = Path(tempfile.mkdtemp(prefix="in-", dir=_TMP)) / "a" / "w"
    try:
        shutil.copytree(T, work)
        os.environ["EDL_HOME"] = str(work / "home")
        os.environ["EDL_KEYSTORE_PASSPHRASE"] = PASSPHRASE
        name, files, action = pick(fdp, _targets(work))
        note(f"target: {name}")
        if files:
            for _ in range(fdp.ConsumeIntInRange(1, 2)):
                mutate_file(fdp, work / pick(fdp, files))
        if callable(action):
            try:
                action(fdp, work) if action is _lib_licence else action(work)
            except EdlError as e:
                note(f"{type(e).__name__}: {e}"[:200])
        else:
            argv = list(action)
            if maybe(fdp) and argv[0] in ("mdoc", "verify", "trust"):
                argv.append("--json")
            cli_run(argv)
    finally:
        shutil.rmtree(work.parents[1], ignore_errors=True)


def write_seeds(corpus: Path) -> None:
    seeds = {f"seed-{i}": bytes([i]) + hashlib.sha256(b"files%d" % i).digest() * 2 for i in range(16)}
    write_fdp_seeds(corpus, seeds)


if __name__ == "__main__":
    run(sys.argv, TestOneInput, write_seeds, "edl-fuzz-files-")
