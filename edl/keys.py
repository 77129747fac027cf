"""Key stores: where private keys live, behind one :class:`~edl.cose.Signer` protocol.

This module owns creating, finding and using private keys without handing their bytes to
the code that issues credentials:

* :class:`FileKeyStore`, the embedded default: one encrypted PKCS#8 PEM file per key
  (created 0600 with ``O_EXCL`` in a 0700 folder), unlocked with a passphrase given by the
  caller (the CLI reads ``EDL_KEYSTORE_PASSPHRASE`` or asks on a terminal). ``cryptography``
  writes PKCS#8 with only 2,048 PBKDF2 rounds and cannot be told otherwise, so the PKCS#8
  password is not the passphrase itself but scrypt(passphrase) (N=2^15, r=8, p=1, a random
  salt in ``kdf.json`` beside the keys): guessing costs ~0.1 s of memory-hard work per try.
* :class:`Pkcs11KeyStore`, an HSM through PKCS#11 (python-pkcs11): keys are generated on
  the token, non-extractable and sensitive; signing hashes here and signs with ``CKM_ECDSA``.

:func:`open_key_store` opens the key store of a key-store folder as ``edl city init`` and
``edl trust init`` make it (``keys/`` for files, or ``keystore.json`` naming a PKCS#11 token)::

    store = open_key_store("qingdao/", passphrase=os.environ["EDL_KEYSTORE_PASSPHRASE"])
    signer = CityAdmin("qingdao/", store).document_signer("cn-qingdao")   # for issue_mdoc

Both give :class:`~edl.cose.Signer` objects. Neither ever logs, prints or returns private
key material, and ``repr`` of every object here names keys only. It does not decide which
key signs what (``edl.city``) or what is trusted (``edl.trust``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .cose import Algorithm, KeySigner, PublicKey, Signer, algorithm_for_key
from .errors import CRYPTOGRAPHY_LOAD_ERRORS, KeyStoreError

__all__ = [
    "Change",
    "FileKeyStore",
    "KeyStore",
    "Pkcs11KeyStore",
    "Pkcs11Signer",
    "check_key_name",
    "is_key_name",
    "open_key_store",
    "pkcs11_token_of",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}


def is_key_name(name: Any) -> bool:
    """True when ``name`` is file-name safe: letters, digits, ``.``, ``_``, ``-``, at most 128,
    no ``..`` (what a state file may name; checked when it is read, not when the key is used)."""
    return isinstance(name, str) and _NAME.match(name) is not None and ".." not in name


def check_key_name(name: str) -> str:
    """Key names are file-name safe: letters, digits, ``.``, ``_``, ``-`` (raises ``ValueError``)."""
    if not is_key_name(name):
        raise ValueError(f"invalid key name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


@runtime_checkable
class KeyStore(Protocol):
    """Private keys by name; only :class:`Signer` objects and public keys come out."""

    def generate(self, name: str, curve: str = "P-256") -> PublicKey: ...

    def signer(self, name: str) -> Signer: ...

    def public_key(self, name: str) -> PublicKey: ...

    def __contains__(self, name: object) -> bool: ...

    def names(self) -> list[str]: ...

    def check_unlock(self) -> None:
        """Raise ``KeyStoreError`` unless the keys already here can be used (the passphrase or
        PIN is right): every changing command calls it before it writes anything."""
        ...

    def discard(self, name: str) -> None:
        """Remove a key that nothing refers to: the orphan of an operation that stopped midway
        (generated, never certified). Callers check that no state names it."""
        ...


_SCRYPT_WRITTEN = {"n": 2**15, "r": 8, "p": 1}
"""The scrypt parameters a new store gets (32 MiB, ~0.1 s)."""
_SCRYPT_MAX_N, _SCRYPT_MAX_R, _SCRYPT_MAX_P = 2**17, 16, 4
_SCRYPT_MAX_MEMORY = 128 * 2**20  # bytes: 128·n·r
_SCRYPT_MAX_WORK = 2**20  # n·r·p; ours is 2**18
_KDF_MAX_BYTES = 4096


def _read_kdf(kdf_file: Path) -> tuple[bytes, int, int, int]:
    """(salt, n, r, p) of a store's ``kdf.json``, checked before any work is done.

    The parameters are capped a little above what :class:`FileKeyStore` writes: a damaged or
    planted file must not make unlocking run for hours or take gigabytes.
    """

    def damaged(why: str) -> KeyStoreError:
        return KeyStoreError(
            f"{kdf_file} is damaged ({why}): restore it from a backup of this key store; "
            "without it the keys cannot be unlocked"
        )

    try:
        with kdf_file.open("rb") as f:
            raw = f.read(_KDF_MAX_BYTES + 1)
    except OSError as e:
        raise KeyStoreError(f"cannot read {kdf_file}: {e.strerror or e}") from None
    if len(raw) > _KDF_MAX_BYTES:
        raise damaged(f"more than {_KDF_MAX_BYTES} bytes")
    try:
        params = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # (UnicodeDecodeError and JSONDecodeError are ValueErrors)
        raise damaged("not JSON") from None
    if not isinstance(params, dict) or set(params) != {"kdf", "salt", "n", "r", "p"}:
        raise damaged("expected exactly kdf, salt, n, r and p")
    if params["kdf"] != "scrypt":
        raise damaged("the key derivation must be scrypt")
    salt = params["salt"]
    if not isinstance(salt, str) or not 32 <= len(salt) <= 128 or len(salt) % 2:
        raise damaged("the salt must be 16 to 64 bytes in hex")
    try:
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        raise damaged("the salt must be 16 to 64 bytes in hex") from None
    n, r, p = params["n"], params["r"], params["p"]
    if not all(type(v) is int for v in (n, r, p)):
        raise damaged("n, r and p must be integers")
    if not (
        2 <= n <= _SCRYPT_MAX_N and n & (n - 1) == 0 and 1 <= r <= _SCRYPT_MAX_R and 1 <= p <= _SCRYPT_MAX_P
    ):
        raise damaged(
            f"scrypt needs n a power of two up to {_SCRYPT_MAX_N}, "
            f"r up to {_SCRYPT_MAX_R} and p up to {_SCRYPT_MAX_P}"
        )
    if 128 * n * r > _SCRYPT_MAX_MEMORY or n * r * p > _SCRYPT_MAX_WORK:
        raise damaged("the scrypt parameters ask for more memory or time than edl ever writes")
    return salt_bytes, n, r, p


class FileKeyStore:
    """Encrypted PKCS#8 files in ``directory`` (one ``NAME.key.pem`` per key)."""

    __slots__ = ("_dir", "_secret", "_passphrase", "_cache", "_lock")

    def __init__(self, directory: str | os.PathLike[str], passphrase: bytes) -> None:
        if not passphrase:
            raise ValueError("a key store needs a non-empty passphrase")
        self._dir = Path(directory)
        self._secret = bytes(passphrase)
        self._passphrase: bytes | None = None  # the PKCS#8 password, derived on first use
        self._cache: dict[str, KeySigner] = {}
        self._lock = threading.Lock()

    def _password(self, *, creating: bool) -> bytes:
        """scrypt(passphrase) with the store's salt (made when the first key is created)."""
        if self._passphrase is not None:
            return self._passphrase
        kdf_file = self._dir / "kdf.json"
        if not kdf_file.exists() and not kdf_file.is_symlink():
            if not creating:
                raise KeyStoreError(f"no key store in {self._dir}")
            params = {"kdf": "scrypt", "salt": os.urandom(16).hex(), **_SCRYPT_WRITTEN}
            fd = os.open(kdf_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(params, f)
        salt, n, r, p = _read_kdf(kdf_file)
        derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(self._secret)
        self._passphrase = base64.b64encode(derived)
        return self._passphrase

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self._dir)!r})"

    def _path(self, name: str) -> Path:
        return self._dir / f"{check_key_name(name)}.key.pem"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _NAME.match(name) is not None and self._path(name).exists()

    def names(self) -> list[str]:
        if not self._dir.is_dir():  # (kdf.json is not a key)
            return []
        return sorted(p.name[: -len(".key.pem")] for p in self._dir.glob("*.key.pem"))

    def check_unlock(self) -> None:
        """Unlock one existing key (if any): a wrong passphrase fails here, before any write."""
        names = self.names()
        if names:
            self.signer(names[0])

    def discard(self, name: str) -> None:
        self._cache.pop(name, None)
        self._path(name).unlink(missing_ok=True)

    def generate(self, name: str, curve: str = "P-256") -> PublicKey:
        """Create a new key; refuses to overwrite one that exists.

        The passphrase must open the keys already in the store (:meth:`check_unlock`), so a
        mistyped one cannot create a key nobody can use. The file appears whole or not at all
        (written under a temporary name, synced, then linked into place without replacing).
        """
        try:
            curve_cls = _CURVES[curve]
        except KeyError:
            raise ValueError(f"unsupported curve {curve}; use one of {sorted(_CURVES)}") from None
        path = self._path(name)
        if path.exists() or path.is_symlink():
            raise KeyStoreError(f"key {name} already exists in {self._dir}")
        self.check_unlock()
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ec.generate_private_key(curve_cls())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._password(creating=True)),
        )
        tmp = self._dir / f".{name}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # fails if the name exists: never replaces a key
        except FileExistsError:
            raise KeyStoreError(f"key {name} already exists in {self._dir}") from None
        except OSError as e:
            raise KeyStoreError(f"cannot create key {name} in {self._dir}: {e.strerror}") from None
        finally:
            tmp.unlink(missing_ok=True)
        self._cache[name] = KeySigner(key)
        return key.public_key()

    def signer(self, name: str) -> Signer:
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None:
                return cached
            path = self._path(name)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise KeyStoreError(f"no key {name} in {self._dir}") from None
            except OSError as e:
                raise KeyStoreError(f"cannot read key {name}: {e.strerror}") from None
            password = self._password(creating=False)
            try:
                key = serialization.load_pem_private_key(data, password=password)
            except CRYPTOGRAPHY_LOAD_ERRORS:
                raise KeyStoreError(
                    f"cannot unlock key {name}: wrong passphrase or damaged file", code="key_store_locked"
                ) from None
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise KeyStoreError(f"key {name} is not an elliptic-curve key")
            signer = KeySigner(key)
            self._cache[name] = signer
            return signer

    def public_key(self, name: str) -> PublicKey:
        return self.signer(name).public_key()


class Change:
    """One changing operation on a key-store folder, all or nothing.

    Keys it generates and files it writes are undone (keys discarded, files removed) unless the
    ``with`` block completes; the operation writes its state file last, as the commit point.
    A key left by a run that was killed midway (generated, never named by any state) is an
    orphan: :meth:`fresh_key` discards it, so the retry works (also on a PKCS#11 token, where
    a generated key cannot be rolled back any other way)::

        with Change(keystore) as change:
            keystore.check_unlock()
            pub = change.fresh_key("cn-qingdao.ds-2", in_use={"cn-qingdao.ds-1", ...})
            change.write(folder / "ds-….pem", pem)
            change.write(folder / "city.json", state)   # last: the commit point
    """

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._keys: list[str] = []
        self._files: list[Path] = []

    def __enter__(self) -> Change:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            return
        for path in reversed(self._files):
            path.unlink(missing_ok=True)
        for name in reversed(self._keys):
            with contextlib.suppress(KeyStoreError):  # best effort: the retry discards it anyway
                self.keystore.discard(name)

    def fresh_key(self, name: str, *, in_use: set[str], curve: str = "P-256") -> PublicKey:
        """Generate key ``name``, first discarding an orphan of that name (never one in use)."""
        if name in self.keystore:
            if name in in_use:
                raise KeyStoreError(f"key {name} is already in use in this key store")
            self.keystore.discard(name)
        public = self.keystore.generate(name, curve)
        self._keys.append(name)
        return public

    def write(self, path: Path, data: bytes, *, new: bool = True) -> None:
        """Write ``path`` atomically; with ``new`` it is removed again if the change fails."""
        from ._files import write_atomic

        write_atomic(path, data)
        if new:
            self._files.append(path)


def pkcs11_token_of(folder: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(module, token) when the key-store folder's ``keystore.json`` puts it on a PKCS#11 token,
    None for a file key store (no ``keystore.json``, or backend ``file``). A damaged
    ``keystore.json`` raises :class:`~edl.errors.KeyStoreError` naming the file and the fix."""
    from ._files import damaged, read_state_json

    config = Path(folder) / "keystore.json"
    if not (config.exists() or config.is_symlink()):
        return None
    cfg = read_state_json(config)
    if not isinstance(cfg, dict) or cfg.get("backend") not in ("pkcs11", "file", None):
        raise damaged(config, "not {backend, module, token}")
    if cfg.get("backend") != "pkcs11":
        return None
    if not (isinstance(cfg.get("module"), str) and isinstance(cfg.get("token"), str)):
        raise damaged(config, "a PKCS#11 key store names its module and token")
    return cfg["module"], cfg["token"]


def open_key_store(
    folder: str | os.PathLike[str],
    *,
    passphrase: bytes | str | None = None,
    pin: str | None = None,
    create: bool = False,
) -> KeyStore:
    """The key store of a key-store folder (the ``--keystore DIR`` of the CLI).

    A folder whose ``keystore.json`` names a PKCS#11 module and token opens that token with
    ``pin`` (the CLI reads ``EDL_PKCS11_PIN``); any other folder is a :class:`FileKeyStore` in
    ``FOLDER/keys/``, unlocked with ``passphrase`` (the CLI reads ``EDL_KEYSTORE_PASSPHRASE``;
    text is taken as UTF-8). ``create`` makes the folder (0700) when it does not exist yet;
    a new PKCS#11 store is made with ``edl city init --pkcs11-module … --pkcs11-token …``.

    Opening checks nothing secret: a wrong passphrase or PIN shows at the first use of a key
    (or call ``check_unlock()``). Raises :class:`~edl.errors.KeyStoreError` for a missing
    folder or a damaged ``keystore.json``, ``ValueError`` when the secret it needs is not given.
    """
    base = Path(folder)
    if create:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not base.is_dir():
        raise KeyStoreError(f"no key store at {base}" + (": it is a file" if base.exists() else ""))
    token = pkcs11_token_of(base)
    if token is not None:
        if not pin:
            raise ValueError(f"the key store in {base} is on a PKCS#11 token: give its PIN")
        return Pkcs11KeyStore(token[0], token[1], pin)
    if not passphrase:
        raise ValueError(f"the key store in {base} needs its passphrase")
    secret = passphrase.encode() if isinstance(passphrase, str) else bytes(passphrase)
    return FileKeyStore(base / "keys", secret)


# --- PKCS#11 --------------------------------------------------------------------------------


class Pkcs11Signer:
    """A :class:`Signer` whose private key stays inside a PKCS#11 token."""

    __slots__ = ("_store", "_label", "_public", "_alg")

    def __init__(self, store: Pkcs11KeyStore, label: str, public: ec.EllipticCurvePublicKey) -> None:
        self._store = store
        self._label = label
        self._public = public
        self._alg = algorithm_for_key(public)

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._label!r}, {self._alg.name})"

    @property
    def algorithm(self) -> Algorithm:
        return self._alg

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        digest = {Algorithm.ES256: hashlib.sha256, Algorithm.ES384: hashlib.sha384}[self._alg](data).digest()
        return self._store._sign_digest(self._label, digest)


_LOGGED_IN: dict[tuple[str, str], bytes] = {}
"""(module, token) -> SHA-256 of the PIN that logged this process in (PKCS#11 login is per process)."""


class Pkcs11KeyStore:
    """Keys on a PKCS#11 token, found by label (tokens move between slots, labels do not).

    ``module`` is the PKCS#11 library (e.g. ``/usr/lib/softhsm/libsofthsm2.so``). One
    session is kept open and used under a lock.
    """

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        try:
            import pkcs11
        except ImportError as e:  # pragma: no cover - depends on the install
            raise KeyStoreError("PKCS#11 needs the python-pkcs11 package (pip install python-pkcs11)") from e
        self._pkcs11 = pkcs11
        self._module = module
        self._token_label = token_label
        self._lock = threading.Lock()
        try:
            lib = pkcs11.lib(module)
            self._token = lib.get_token(token_label=token_label)
            where = (module, token_label)
            pin_digest = hashlib.sha256(pin.encode()).digest()
            try:
                self._session = self._token.open(rw=True, user_pin=pin)
                _LOGGED_IN[where] = pin_digest
            except pkcs11.exceptions.UserAlreadyLoggedIn:
                # PKCS#11 login is per application: another store in this process is logged in
                # to the same token. Share it only when it was opened with this same PIN.
                if _LOGGED_IN.get(where) != pin_digest:
                    raise KeyStoreError(
                        f"PKCS#11 token {token_label!r} is open here with another PIN"
                    ) from None
                self._session = self._token.open(rw=True)
        except (pkcs11.exceptions.PKCS11Error, RuntimeError, OSError) as e:
            raise KeyStoreError(
                f"cannot open PKCS#11 token {token_label!r} in {module}: {type(e).__name__}"
            ) from None
        self._signers: dict[str, Pkcs11Signer] = {}

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self._module!r}, token={self._token_label!r})"

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def __enter__(self) -> Pkcs11KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _find(self, label: str, object_class: Any) -> Any:
        p = self._pkcs11
        try:
            return self._session.get_key(label=label, object_class=object_class)
        except p.exceptions.NoSuchKey:
            raise KeyStoreError(f"no key {label} on token {self._token_label}") from None
        except p.exceptions.MultipleObjectsReturned:
            raise KeyStoreError(f"several keys are labelled {label} on token {self._token_label}") from None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        with self._lock:
            try:
                self._find(name, self._pkcs11.ObjectClass.PRIVATE_KEY)
            except KeyStoreError:
                return False
            return True

    def _iter_labels(self) -> Iterator[str]:
        for obj in self._session.get_objects(
            {self._pkcs11.Attribute.CLASS: self._pkcs11.ObjectClass.PRIVATE_KEY}
        ):
            yield str(obj[self._pkcs11.Attribute.LABEL])

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._iter_labels())

    def check_unlock(self) -> None:
        """The PIN was checked when the session opened: nothing more to do."""

    def discard(self, name: str) -> None:
        """Destroy an unreferenced key pair on the token (generated, never certified)."""
        p = self._pkcs11
        check_key_name(name)
        self._signers.pop(name, None)
        with self._lock:
            try:
                for obj in list(self._session.get_objects({p.Attribute.LABEL: name})):
                    obj.destroy()
            except p.exceptions.PKCS11Error as e:
                raise KeyStoreError(f"the token could not remove key {name}: {type(e).__name__}") from None

    def generate(self, name: str, curve: str = "P-256") -> PublicKey:
        p = self._pkcs11
        from pkcs11.util.ec import encode_named_curve_parameters

        check_key_name(name)
        curve_name = {"P-256": "secp256r1", "P-384": "secp384r1"}.get(curve)
        if curve_name is None:
            raise ValueError(f"unsupported curve {curve}")
        if name in self:
            raise KeyStoreError(f"key {name} already exists on token {self._token_label}")
        with self._lock:
            try:
                params = self._session.create_domain_parameters(
                    p.KeyType.EC,
                    {p.Attribute.EC_PARAMS: encode_named_curve_parameters(curve_name)},
                    local=True,
                )
                pub, _priv = params.generate_keypair(
                    store=True,
                    label=name,
                    id=name.encode(),
                    private_template={p.Attribute.EXTRACTABLE: False, p.Attribute.SENSITIVE: True},
                )
            except p.exceptions.PKCS11Error as e:
                raise KeyStoreError(f"the token could not generate key {name}: {type(e).__name__}") from None
            return _ec_point_to_key(pub[p.Attribute.EC_POINT], _CURVES[curve]())

    def public_key(self, name: str) -> PublicKey:
        return self.signer(name).public_key()

    def signer(self, name: str) -> Signer:
        p = self._pkcs11
        cached = self._signers.get(name)
        if cached is not None:
            return cached
        with self._lock:
            pub = self._find(name, p.ObjectClass.PUBLIC_KEY)
            params = pub[p.Attribute.EC_PARAMS]
        curve: ec.EllipticCurve = ec.SECP384R1() if params == _P384_PARAMS else ec.SECP256R1()
        key = _ec_point_to_key(pub[p.Attribute.EC_POINT], curve)
        signer = Pkcs11Signer(self, name, key)
        self._signers[name] = signer
        return signer

    def _sign_digest(self, label: str, digest: bytes) -> bytes:
        p = self._pkcs11
        with self._lock:
            key = self._find(label, p.ObjectClass.PRIVATE_KEY)
            try:
                return bytes(key.sign(digest, mechanism=p.Mechanism.ECDSA))  # raw r||s
            except p.exceptions.PKCS11Error as e:
                raise KeyStoreError(f"the token refused to sign with {label}: {type(e).__name__}") from None


_P384_PARAMS = bytes.fromhex("06052b81040022")


def _ec_point_to_key(ec_point: bytes, curve: ec.EllipticCurve) -> ec.EllipticCurvePublicKey:
    point = bytes(ec_point)
    size = 1 + 2 * ((curve.key_size + 7) // 8)  # an uncompressed X9.62 point
    # CKA_EC_POINT is a DER OCTET STRING around the point (some tokens send it bare).
    if len(point) == size + 2 and point[0] == 0x04 and point[1] == size:
        point = point[2:]
    elif len(point) == size + 3 and point[0] == 0x04 and point[1] == 0x81 and point[2] == size:
        point = point[3:]
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError as e:
        raise KeyStoreError(f"the token returned an unusable public key ({e})") from None
