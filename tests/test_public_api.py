"""The public surface of ``edl``: what ``__all__`` promises, and what the library never imports.

Shaped like httpx ``tests/test_exported_members.py``: the facade's ``__all__`` is an exact,
listed set; every module that declares ``__all__`` really has each name it lists. The library
does no network I/O, so no module under ``edl/`` may import a web framework, an HTTP client or
sockets (checked on the source with ``ast``, so an import inside a function counts too).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import edl

EXPECTED_ALL = frozenset(
    {
        # errors
        "EdlError",
        "MalformedError",
        "UnsupportedError",
        "VerificationError",
        "SignatureError",
        "UntrustedIssuerError",
        "DigestMismatchError",
        "ExpiredError",
        "DeviceAuthError",
        "KeyStoreError",
        "TrustError",
        # the licence, keys and signers
        "Licence",
        "LicenceError",
        "Signer",
        "KeySigner",
        "DocumentSigner",
        "KeyStore",
        "FileKeyStore",
        "Pkcs11KeyStore",
        "open_key_store",
        "CityAdmin",
        "make_iaca",
        "make_document_signer",
        # trust: anchors, trust lists (build, sign, verify), pins
        "TrustAnchors",
        "TrustList",
        "TrustRoot",
        "CityEntry",
        "SignerEntry",
        "operator_key_id",
        "sign_root",
        "verify_root",
        "sign_trust_list",
        "verify_trust_list",
        "VerifiedTrustList",
        "Pins",
        # structures
        "IssuerSigned",
        "DeviceResponse",
        "SessionTranscript",
        "nonce_transcript",
        "session_transcript",
        # recipes and their results
        "issue_mdoc",
        "issue_licence",
        "respond",
        "Wallet",
        "verify_presentation",
        "verify_images",
        "QrVerificationResult",
        "verify_device_response",
        "verify_issuer_signed",
        "VerificationResult",
        "Check",
        "CheckStatus",
        "Verdict",
    }
)

PACKAGE_DIR = Path(edl.__file__).parent
MODULES = sorted(info.name for info in pkgutil.walk_packages(edl.__path__, prefix="edl."))
SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))

# Network I/O: web frameworks, HTTP clients, raw sockets. A prefix match also catches submodules.
FORBIDDEN_IMPORTS = (
    "fastapi",
    "starlette",
    "requests",
    "httpx",
    "aiohttp",
    "urllib3",
    "urllib.request",
    "http.client",
    "socket",
)


def test_all_is_exactly_the_listed_names() -> None:
    assert len(edl.__all__) == len(set(edl.__all__)), "duplicate names in edl.__all__"
    assert set(edl.__all__) == EXPECTED_ALL


def test_every_exported_name_is_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from edl import *", namespace)  # raises AttributeError if __all__ names a missing object
    namespace.pop("__builtins__")
    assert set(namespace) == set(edl.__all__)
    assert all(namespace[name] is getattr(edl, name) for name in edl.__all__)


@pytest.mark.parametrize("name", sorted(EXPECTED_ALL))
def test_every_exported_name_is_documented(name: str) -> None:
    """Each name of the front door says what it is for (its own docstring, not one inherited
    from ``object`` or a builtin base)."""
    value = getattr(edl, name)
    doc = value.__dict__.get("__doc__") if isinstance(value, type) else getattr(value, "__doc__", None)
    assert isinstance(doc, str) and len(doc.strip()) >= 20, f"edl.{name} has no docstring"


def test_the_documentation_check_sees_a_missing_docstring() -> None:
    """Negative control for the test above: a class without its own docstring is found."""

    class Bare(ValueError):
        pass

    assert Bare.__dict__.get("__doc__") is None


def test_facade_exports_every_public_name_it_imports() -> None:
    public = {
        name
        for name, value in vars(edl).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(edl.__all__)


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_lists_only_names_it_has(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        pytest.skip(f"{module_name} declares no __all__")
    assert len(exported) == len(set(exported)), f"duplicate names in {module_name}.__all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{module_name}.__all__ lists names it does not have"


def test_every_module_is_checked() -> None:
    """The walk above found the package's modules (a broken walk would pass vacuously)."""
    assert {"edl.cbor", "edl.cose", "edl.verify", "edl.mdoc", "edl.mdoc.mso"} <= set(MODULES)
    assert PACKAGE_DIR / "cli" / "common.py" in SOURCES


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Absolute module names imported anywhere in ``tree``, with line numbers.

    ``from urllib import request`` yields ``urllib.request`` as well as ``urllib``, and
    ``__import__("x")`` / ``importlib.import_module("x")`` with a literal name count as imports.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            first = node.args[0]
            if (
                called in {"__import__", "import_module"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.append((node.lineno, first.value))
    return found


def _is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_IMPORTS)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_library_does_no_network_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offending = [f"line {line}: {name}" for line, name in _imported_modules(tree) if _is_forbidden(name)]
    assert offending == [], f"{path.name} imports network modules"


@pytest.mark.parametrize(
    "source",
    [
        "import socket",
        "import urllib.request",
        "from urllib import request",
        "from http.client import HTTPSConnection",
        "def f():\n    import httpx",
        "from fastapi import FastAPI",
        "import requests.adapters as a",
        "__import__('socket')",
        "importlib.import_module('requests')",
    ],
)
def test_network_import_detector_catches(source: str) -> None:
    """The detector itself is not blind (negative control for the test above)."""
    assert any(_is_forbidden(name) for _, name in _imported_modules(ast.parse(source)))


def test_network_import_detector_allows_ordinary_imports() -> None:
    source = "\n".join(
        [
            "import urllib.parse",
            "from http import HTTPStatus",
            "import socketserver_lookalike",
            "from . import socket",
        ]
    )
    assert not any(_is_forbidden(name) for _, name in _imported_modules(ast.parse(source)))
