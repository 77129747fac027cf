"""The QR verifier's shortcuts decide as the long way does.

* ``decode_text`` takes a ``DL1:`` text with no surrounding space straight to base45; every
  other text goes through ``strip`` and the version regex. On any text both ways give the same
  bytes or the same error.
* The sentences of passing checks are made once per signer, city or value (small caches): with
  licences of several cities verified in turn, each result names its own city and signer.
"""

from __future__ import annotations

import datetime as dt
import functools

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from edl import cbor, presentation
from edl.errors import EdlError, MalformedError
from edl.model import Licence
from edl.verify import CheckStatus, Verdict
from edl.verify_qr import verify_presentation
from edltest import NOW, issue_to_wallet, licence_json, make_city, make_trust_list


def _outcome(fn, text: str) -> object:
    try:
        return fn(text)
    except EdlError as e:
        return (type(e).__name__, e.code, e.message)


def _long_way(text: str) -> bytes:
    """decode_text with every text sent through strip() and the version regex."""
    body = presentation._versioned_body(text)
    if len(body) > 3 * presentation.MAX_PAYLOAD_BYTES:
        raise MalformedError("this QR holds more than a licence frame can")
    try:
        return presentation.b45decode(body)
    except ValueError:
        raise MalformedError("this QR's content is damaged (invalid base45)") from None


SPACE = st.sampled_from(["", " ", "\n", "\t", "\r\n", "\u3000", "\x85", "  \n"])
texts = st.one_of(
    st.builds(
        lambda before, data, after: before + "DL1:" + base45.b45encode(data).decode() + after,
        SPACE,
        st.binary(max_size=400),
        SPACE,
    ),
    st.builds(
        lambda head, body: head + body,
        st.sampled_from(["DL1:", "DL2:", "DL01:", "DL1", "dl1:", "DL:", " DL1:", "DL1: ", "DL10:", ""]),
        st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a\n\t\u3000", max_size=60),
    ),
    st.text(max_size=40),
)


@settings(max_examples=600)
@given(text=texts)
def test_decode_text_takes_the_same_decision_both_ways(text):
    assert _outcome(presentation.decode_text, text) == _outcome(_long_way, text)


@pytest.mark.parametrize("text", ["DL1: ", "DL1:\n", " DL1:", "DL1:" + "0" * 1200, "DL1:00 \u3000"])
def test_decode_text_edges(text):
    assert _outcome(presentation.decode_text, text) == _outcome(_long_way, text)


def test_cached_sentences_name_each_city_and_signer():
    cities = {
        "cn-qingdao": (make_city("Qingdao", "CN"), "CN"),
        "jp-ichikawa": (make_city("Ichikawa", "JP"), "JP"),
    }
    trust = make_trust_list(cities)
    shown = []
    for city_id, (city, country) in cities.items():
        licence = Licence.from_json(licence_json(country=country))
        _issued, wallet = issue_to_wallet(
            city, ec.generate_private_key(ec.SECP256R1()), licence, city_id=city_id
        )
        shown.append((city_id, country, wallet))
    for seconds in (0, 10, 0, 45):
        for city_id, country, wallet in shown:  # (the test trust list names a city by its id)
            at = NOW + dt.timedelta(seconds=seconds)
            text = wallet.frame("rental", at=NOW)
            result = verify_presentation([text], trust=trust, now=at)
            assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.checks]
            kid = presentation.parse_payload(presentation.decode_text(text)).credential.kid.hex()
            chain = result.check("certificate_chain", None)
            assert chain.message == f"{city_id} ({country}), signer {kid}"
            assert result.check("city", None).message == f"issued by {city_id}"
            assert result.check("freshness", None).message == f"made {seconds} s ago"
            assert all(c.status is CheckStatus.PASSED or not c.required for c in result.checks)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@settings(max_examples=2000)
@given(
    seconds=st.one_of(
        st.integers(0, cbor.MAX_EPOCH - 1),
        st.sampled_from([0, 1, 59, 86_399, 86_400, 951_782_400, cbor.MAX_EPOCH - 1]),
    )
)
def test_epoch_seconds_read_as_the_epoch_plus_that_many_seconds(seconds):
    # datetime_from_epoch reads them with datetime.fromtimestamp (cheaper): the same datetime
    moment = cbor.datetime_from_epoch(seconds, what="t")
    reference = _EPOCH + dt.timedelta(seconds=seconds)
    assert moment == reference and repr(moment) == repr(reference)
    assert type(moment) is dt.datetime and moment.tzinfo is dt.UTC


@pytest.mark.parametrize("seconds", [-1, cbor.MAX_EPOCH, True, 1.0, "1", None, 2**70])
def test_epoch_seconds_out_of_range_are_refused(seconds):
    with pytest.raises(MalformedError):
        cbor.datetime_from_epoch(seconds, what="t")


def _tampered_signature(compact: bytes) -> bytes:
    """The credential with the last byte of its issuer signature changed (the phone then signs
    frames over these bytes: only the city's signature is wrong)."""
    return compact[:-1] + bytes([compact[-1] ^ 0x01])


@functools.cache
def _known_signer_cases():
    city, other = make_city("Qingdao", "CN"), make_city("Guangzhou", "CN")
    licence = Licence.from_json(licence_json())
    phone = ec.generate_private_key(ec.SECP256R1())
    issued, wallet = issue_to_wallet(city, phone, licence)
    text = wallet.frame("roadside", at=NOW)
    listed = {"cn-qingdao": (city, "CN")}
    trust = make_trust_list(listed)
    _misfiled, misfiled_wallet = issue_to_wallet(city, phone, licence, city_id="cn-elsewhere")
    from edl.wallet import Wallet

    forged = Wallet(phone)
    forged.add({p: _tampered_signature(c) for p, c in issued.compact.items()}, issued.thumbnail)
    day = dt.timedelta(days=1)
    return {
        "green": (trust, text, NOW),
        "before the signer's notBefore": (trust, text, NOW - 2 * day),
        "after the signer's notAfter": (trust, text, NOW + 401 * day),
        "after the root's notAfter": (trust, text, NOW + 3651 * day),
        "signer revoked": (make_trust_list(listed, revoked={"cn-qingdao": [city]}), text, NOW),
        "signer not listed": (make_trust_list({"cn-guangzhou": (other, "CN")}), text, NOW),
        "city mismatch": (trust, misfiled_wallet.frame("roadside", at=NOW), NOW),
        "issuer signature wrong": (trust, forged.frame("roadside", at=NOW), NOW),
        "two trust lists": ([trust, make_trust_list(listed)], text, NOW),
    }


def _verdict(result) -> object:
    return (
        result.verdict,
        result.portrait_pending,
        [c.to_json() for c in result.checks],
        [(d.doc_type, d.elements) for d in result.documents],
    )


@pytest.mark.parametrize("case", list(_known_signer_cases()))
def test_known_signer_shortcut_decides_as_the_full_search(case, monkeypatch):
    # verify_qr._signer_of finds the usual signer once per trust list and key id; with it
    # switched off every verification searches in full. Both give the same result.
    from edl import verify_qr

    trust, text, at = _known_signer_cases()[case]
    kid = presentation.parse_payload(presentation.decode_text(text)).credential.kid
    taken = not isinstance(trust, list) and verify_qr._signer_of(trust, kid) is not None
    assert taken == (case not in ("signer revoked", "signer not listed", "two trust lists"))
    shortcut = verify_presentation([text], trust=trust, now=at)
    again = verify_presentation([text], trust=trust, now=at)  # the list's memo filled
    monkeypatch.setattr(verify_qr, "_signer_of", lambda vl, kid: None)
    full = verify_presentation([text], trust=trust, now=at)
    assert _verdict(shortcut) == _verdict(again) == _verdict(full)
    if case in ("green", "two trust lists"):
        assert full.verdict is Verdict.AMBER and full.portrait_pending  # the portrait frames to come
    else:
        assert not full.portrait_pending


def test_made_up_key_ids_leave_nothing_behind():
    # the shortcut remembers what it found per listed key id only: QR texts naming key ids no
    # list holds (a hostile page posting them by the thousand) do not grow the trust list
    from edl import verify_qr

    trust, text, at = _known_signer_cases()["signer not listed"]
    before = dict(trust._index)
    for i in range(200):
        assert verify_qr._signer_of(trust, i.to_bytes(8, "big")) is None
    assert verify_presentation([text], trust=trust, now=at).verdict is Verdict.RED
    added = set(trust._index) - set(before)
    assert not any(isinstance(k, tuple) and k[0] == "verify_qr.signer" for k in added)
