"""Every check name and stable code the verifiers can emit has a message in every language
(collected from edl's source, so a new code without a translation fails here); no language
leaves a message in English; the app's own error codes are translated too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import edl
from verifier_app.errors import APP_ERROR_CODES
from verifier_app.main import STATIC

EDL = Path(edl.__file__).parent
LANGS = ("en", "zh", "ja", "de")
# The verifiers and the errors they report; the certificate, status-list and bundle modules
# raise the errors whose codes the checks carry.
SOURCES = (
    "verify.py",
    "verify_qr.py",
    "errors.py",
    "x509.py",
    "status.py",
    "bundle.py",
    "pins.py",
    "trust.py",
    "compact.py",
    "presentation.py",
)


def emitted() -> tuple[set[str], set[str]]:
    codes: set[str] = set()
    names: set[str] = set()
    for name in SOURCES:
        text = (EDL / name).read_text(encoding="utf-8")
        codes |= set(re.findall(r'\bcode\s*[=:]\s*(?:str\s*=\s*)?"([a-z_0-9]+)"', text))
        codes |= set(re.findall(r'CheckStatus\.[A-Z_]+,\s*"([a-z_0-9]+)"', text))
        names |= set(re.findall(r'\b(?:add|skip|run|Check)\(\s*"([a-z_]+)"', text))
        if m := re.search(r"CHECK_NAMES = \((.*?)\)", text, re.S):
            names |= set(re.findall(r'"([a-z_]+)"', m.group(1)))
    return codes, names


def catalogue(lang: str) -> dict:
    return json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def test_the_collection_finds_the_codes_the_readme_names():
    codes, names = emitted()
    assert {"stale_qr", "revoked", "status_missing", "untrusted_issuer", "tampered", "ds_eku"} <= codes
    assert {"structure", "freshness", "status", "portrait", "value_digests", "mso_validity"} <= names


@pytest.mark.parametrize("lang", LANGS)
def test_every_code_and_check_is_translated(lang):
    codes, names = emitted()
    cat = catalogue(lang)
    assert sorted((codes | set(APP_ERROR_CODES)) - set(cat["codes"])) == []
    assert sorted((names | {"pinned"}) - set(cat["checks"])) == []
    for group in ("ui", "verdict", "status", "field", "checks", "codes"):
        assert set(cat[group]) == set(catalogue("en")[group]), group
        assert all(isinstance(v, str) and v for v in cat[group].values())


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_no_message_is_left_in_english(lang):
    cat = catalogue(lang)
    for group in ("ui", "verdict", "status", "field", "checks", "codes"):
        for key, value in cat[group].items():
            if key in ("test_stamp",):
                continue
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", value), f"{lang} {group}.{key}: {value!r}"


def test_german_differs_from_english_where_the_words_differ():
    de, en = catalogue("de"), catalogue("en")
    same = [f"{g}.{k}" for g in ("verdict", "checks", "codes") for k in en[g] if de[g][k] == en[g][k]]
    assert same == []


def test_the_page_uses_only_keys_the_catalogue_has():
    page = (STATIC / "index.html").read_text(encoding="utf-8") + (STATIC / "app.js").read_text(
        encoding="utf-8"
    )
    en = catalogue("en")
    for key in set(re.findall(r'(?:data-i18n="|t\(")([a-z]+\.[a-z_]+)', page)):
        group, name = key.split(".")
        assert name in en[group], key
