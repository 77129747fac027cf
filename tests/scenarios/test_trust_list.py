"""Trust lists as scenario tables: threshold signatures, root rotation (TUF-style), rollback,
expiry, revocation, and credentials from several cities verified through one list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from edl import cbor, cose
from edl.cose import KeySigner
from edl.errors import (
    ClockTurnedBackError,
    MalformedError,
    ThresholdError,
    TrustError,
    TrustListExpiredError,
    TrustListRollbackError,
)
from edl.issue import issue_mdoc
from edl.trust import (
    CityEntry,
    SignerEntry,
    TrustList,
    TrustRoot,
    cosign_trust_list,
    operator_key_id,
    sign_root,
    sign_trust_list,
    update_root,
    verify_root,
    verify_trust_list,
)
from edl.verify import CheckStatus, Verdict, verify_issuer_signed
from edl.x509 import RevokedSigner, certificate_der
from edltest import NOW, City, make_city, operator_keys, operator_root

DAY = dt.timedelta(days=1)


keys = operator_keys
root_of = operator_root


def city_entry(
    city: City, city_id: str, name: str, country: str, revoked: tuple[RevokedSigner, ...] = ()
) -> CityEntry:
    return CityEntry(
        id=city_id,
        name=name,
        country=country,
        roots=(certificate_der(city.root),),
        signers=(SignerEntry(certificate=certificate_der(city.ds)),),
        revoked=revoked,
    )


def a_list(
    sequence: int = 1, cities: tuple[CityEntry, ...] = (), root_version: int = 1, issued=NOW, days: int = 7
):
    return TrustList(
        provider="CN-MPS",
        sequence=sequence,
        issued=issued,
        next_update=issued + DAY,
        expires=issued + days * DAY,
        root_version=root_version,
        cities=cities,
    )


@dataclass
class World:
    ops: list[KeySigner]
    root: TrustRoot
    root_bytes: bytes
    qingdao: City
    ichikawa: City


@pytest.fixture(scope="module")
def world(city, other_city) -> World:
    ops = keys(3)
    root = root_of(ops)
    return World(ops=ops, root=root, root_bytes=sign_root(root, ops), qingdao=city, ichikawa=other_city)


def test_root_file_verifies_with_its_own_threshold(world):
    assert verify_root(world.root_bytes) == world.root
    one = sign_root(world.root, world.ops[:1])
    with pytest.raises(ThresholdError, match="signed by 1/2"):
        verify_root(one)


def test_list_round_trip_and_anchors(world, device_key, licence):
    tl = a_list(
        cities=(
            city_entry(world.qingdao, "cn-qingdao", "Qingdao", "CN"),
            city_entry(world.ichikawa, "jp-ichikawa", "Ichikawa", "JP"),
        )
    )
    data = sign_trust_list(tl, world.ops[:2], [world.root_bytes])
    verified = verify_trust_list(data, [world.root], now=NOW)
    assert verified.trust_list == tl
    assert sorted(verified.signed_by) == sorted(operator_key_id(s.public_key()) for s in world.ops[:2])
    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(world.qingdao.ds_key),
        signer_certificate=world.qingdao.ds,
        now=NOW,
    )
    result = verify_issuer_signed(issued.to_bytes(), trust=verified.anchors(), now=NOW)
    assert result.check("certificate_chain").status is CheckStatus.PASSED
    assert verified.find_signers(cose_kid(world.qingdao))[0][0].id == "cn-qingdao"


def cose_kid(city: City) -> bytes:
    from edl.x509 import key_id

    return key_id(certificate_der(city.ds))


# --- the table: each row builds a published list and says how verification must end ----------


@dataclass
class Row:
    id: str
    build: Callable[[World], tuple[bytes, list[TrustRoot], dict]]
    error: type[Exception] | None
    code: str | None = None


def _ok(w):
    return sign_trust_list(a_list(), w.ops[:2], [w.root_bytes]), [w.root], {}


def _one_signature(w):
    return sign_trust_list(a_list(), w.ops[:1], [w.root_bytes]), [w.root], {}


def _cosigned(w):
    return cosign_trust_list(sign_trust_list(a_list(), w.ops[:1], [w.root_bytes]), w.ops[2]), [w.root], {}


def _same_key_twice(w):
    data = sign_trust_list(a_list(), w.ops[:1], [w.root_bytes])
    signed = cose.decode_sign(data)
    again = signed.with_signature(w.ops[0], operator_key_id(w.ops[0].public_key()))
    return again.to_bytes(), [w.root], {}


def _outsider_keys(w):
    return sign_trust_list(a_list(), keys(2), [w.root_bytes]), [w.root], {}


def _expired(w):
    return sign_trust_list(a_list(), w.ops[:2], [w.root_bytes]), [w.root], {"now": NOW + 8 * DAY}


def _rollback(w):
    return sign_trust_list(a_list(sequence=4), w.ops[:2], [w.root_bytes]), [w.root], {"min_sequence": 5}


def _same_sequence_again(w):
    return sign_trust_list(a_list(sequence=5), w.ops[:2], [w.root_bytes]), [w.root], {"min_sequence": 5}


def _future(w):
    return sign_trust_list(a_list(issued=NOW + DAY), w.ops[:2], [w.root_bytes]), [w.root], {}


def _unknown_provider(w):
    other = root_of(w.ops, name="JP-NPA")
    return sign_trust_list(a_list(), w.ops[:2], [w.root_bytes]), [other], {}


def _tampered_payload(w):
    listed = a_list(cities=(city_entry(w.qingdao, "cn-qingdao", "Qingdao", "CN"),))
    data = sign_trust_list(listed, w.ops[:2], [w.root_bytes])
    return data.replace(b"Qingdao", b"Qingdap", 1), [w.root], {}


def _rotated_root(w):
    new_ops = keys(3)
    v2 = root_of(new_ops, version=2)
    v2_bytes = sign_root(v2, w.ops[:2] + new_ops[:2])  # threshold of old AND of new
    return sign_trust_list(a_list(root_version=2), new_ops[:2], [w.root_bytes, v2_bytes]), [w.root], {}


def _rotation_too_few_old(w):
    new_ops = keys(3)
    v2 = root_of(new_ops, version=2)
    v2_bytes = sign_root(v2, w.ops[:1] + new_ops[:2])  # only 1 of the old keys
    return sign_trust_list(a_list(root_version=2), new_ops[:2], [w.root_bytes, v2_bytes]), [w.root], {}


def _rotation_too_few_new(w):
    new_ops = keys(3)
    v2 = root_of(new_ops, version=2)
    v2_bytes = sign_root(v2, w.ops[:2] + new_ops[:1])
    return sign_trust_list(a_list(root_version=2), new_ops[:2], [w.root_bytes, v2_bytes]), [w.root], {}


def _rotation_missing_step(w):
    return sign_trust_list(a_list(root_version=2), w.ops[:2], [w.root_bytes]), [w.root], {}


def _old_root_after_rotation(w):
    # The device already trusts v2; a list signed under v1 (by the old keys) is refused.
    new_ops = keys(3)
    v2 = root_of(new_ops, version=2)
    return sign_trust_list(a_list(root_version=1), w.ops[:2], [w.root_bytes]), [v2], {}


def _two_operators_one_name(w):
    # Two operators may carry the same name: each is tried on its own keys (the old code took
    # the highest version of that name and refused the other's lists).
    other = keys(3)
    other_root = root_of(other, version=3)
    return sign_trust_list(a_list(root_version=1), w.ops[:2], [w.root_bytes]), [other_root, w.root], {}


def _not_a_list(w):
    return sign_root(w.root, w.ops), [w.root], {}


ROWS = [
    Row("threshold-met", _ok, None),
    Row("one-of-two-signatures", _one_signature, ThresholdError, "insufficient_signatures"),
    Row("co-signed-later", _cosigned, None),
    Row("same-key-twice-counts-once", _same_key_twice, ThresholdError, "insufficient_signatures"),
    Row("signed-by-outsiders", _outsider_keys, ThresholdError, "insufficient_signatures"),
    Row("expired-list", _expired, TrustListExpiredError, "trust_expired"),
    Row("older-sequence-rollback", _rollback, TrustListRollbackError, "trust_rollback"),
    Row("same-sequence-reloaded", _same_sequence_again, None),
    Row("dated-in-the-future", _future, TrustError, "trust_not_yet_valid"),
    Row("provider-not-pinned", _unknown_provider, TrustError, "trust_root_unknown"),
    Row("tampered-payload", _tampered_payload, ThresholdError, "insufficient_signatures"),
    Row("root-rotated-by-threshold", _rotated_root, None),
    Row("root-rotation-too-few-old-keys", _rotation_too_few_old, ThresholdError, "insufficient_signatures"),
    Row("root-rotation-too-few-new-keys", _rotation_too_few_new, ThresholdError, "insufficient_signatures"),
    Row("root-rotation-step-missing", _rotation_missing_step, TrustError, "trust_root_chain"),
    Row("signed-under-superseded-root", _old_root_after_rotation, TrustListRollbackError, "trust_rollback"),
    Row("root-file-instead-of-list", _not_a_list, MalformedError, "malformed"),
    Row("two-operators-share-a-name", _two_operators_one_name, None),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_trust_list_table(row: Row, world):
    data, pinned, kwargs = row.build(world)
    now = kwargs.pop("now", NOW)
    if row.error is None:
        assert verify_trust_list(data, pinned, now=now, **kwargs).trust_list.provider == "CN-MPS"
    else:
        with pytest.raises(row.error) as e:
            verify_trust_list(data, pinned, now=now, **kwargs)
        assert e.value.code == row.code


def test_update_root_directly(world):
    new_ops = keys(2)
    v2 = root_of(new_ops, version=2, threshold=1)
    assert update_root(world.root, sign_root(v2, world.ops[:2] + new_ops[:1])) == v2
    v3 = root_of(new_ops, version=3, threshold=1)
    with pytest.raises(TrustListRollbackError, match="does not follow"):
        update_root(world.root, sign_root(v3, world.ops[:2] + new_ops[:1]))


def test_nothing_pinned_is_refused(world):
    with pytest.raises(ValueError, match="no pinned trust-list root"):
        verify_trust_list(sign_trust_list(a_list(), world.ops[:2], [world.root_bytes]), [], now=NOW)


# --- what a list means for credentials -------------------------------------------------------


def test_revoked_signer_is_red_once_listed(world, device_key, licence):
    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(world.qingdao.ds_key),
        signer_certificate=world.qingdao.ds,
        now=NOW,
    ).to_bytes()
    before = verify_trust_list(
        sign_trust_list(
            a_list(1, (city_entry(world.qingdao, "cn-qingdao", "Qingdao", "CN"),)),
            world.ops[:2],
            [world.root_bytes],
        ),
        [world.root],
        now=NOW,
    )
    assert (
        verify_issuer_signed(issued, trust=before.anchors(), now=NOW).check("certificate_chain").status
        is CheckStatus.PASSED
    )
    revoked = city_entry(
        world.qingdao, "cn-qingdao", "Qingdao", "CN", revoked=(RevokedSigner.of(world.qingdao.ds),)
    )
    after = verify_trust_list(
        sign_trust_list(a_list(2, (revoked,)), world.ops[:2], [world.root_bytes]),
        [world.root],
        now=NOW,
        min_sequence=1,
    )
    result = verify_issuer_signed(issued, trust=after.anchors(), now=NOW)
    assert result.verdict is Verdict.RED
    assert result.check("certificate_chain").code == "signer_revoked"


def test_city_root_swapped_by_attacker_is_untrusted(world, device_key, licence):
    # An attacker's look-alike "Qingdao" (same names) is not in the list: its credentials are red.
    fake = make_city("Qingdao", "CN")
    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(fake.ds_key),
        signer_certificate=fake.ds,
        now=NOW,
    ).to_bytes()
    listed = verify_trust_list(
        sign_trust_list(
            a_list(1, (city_entry(world.qingdao, "cn-qingdao", "Qingdao", "CN"),)),
            world.ops[:2],
            [world.root_bytes],
        ),
        [world.root],
        now=NOW,
    )
    result = verify_issuer_signed(issued, trust=listed.anchors(), now=NOW)
    assert result.check("certificate_chain").code == "untrusted_issuer"


def test_bit_flips_in_signed_parts_are_refused(world):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from edl.errors import EdlError

    good = sign_trust_list(a_list(), world.ops[:2], [world.root_bytes])
    signed = cose.decode_sign(good)
    # The signed parts: the payload and each signature. (The root chain in the unprotected
    # header is read only for versions newer than the pinned one, and is itself signed.)
    spans = [(good.find(signed.payload), len(signed.payload))]
    spans += [(good.find(sig.signature), len(sig.signature)) for sig in signed.signatures]

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(spans), st.integers(0, 10_000), st.integers(0, 7))
    def flip(span, offset, bit):
        start, length = span
        buf = bytearray(good)
        buf[start + offset % length] ^= 1 << bit
        with pytest.raises(EdlError):
            verify_trust_list(bytes(buf), [world.root], now=NOW)

    flip()


def test_random_bytes_only_raise_edl_errors(world):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from edl.errors import EdlError

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def junk(data):
        with pytest.raises(EdlError):
            verify_trust_list(data, [world.root], now=NOW)

    junk()


def _sign_raw_payload(world, value) -> bytes:
    from edl.trust import CONTENT_TYPE_LIST, ROOTS_HEADER

    signed = cose.CoseSign.create(
        cbor.encode(value),
        protected={cose.Header.CONTENT_TYPE: CONTENT_TYPE_LIST},
        unprotected={ROOTS_HEADER: [world.root_bytes]},
    )
    for s in world.ops[:2]:
        signed = signed.with_signature(s, operator_key_id(s.public_key()))
    return signed.to_bytes()


def test_validly_signed_but_misshapen_list_is_malformed_not_a_crash(world):
    value = a_list(cities=(city_entry(world.qingdao, "cn-qingdao", "Qingdao", "CN"),)).to_value()
    value["cities"][0]["signers"] = 5
    with pytest.raises(MalformedError):
        verify_trust_list(_sign_raw_payload(world, value), [world.root], now=NOW)


def test_a_city_cannot_list_a_root_of_another_country(world):
    value = a_list(
        cities=(city_entry(world.ichikawa, "cn-fake", "Fake", "CN"),)
    ).to_value()  # a JP root as CN
    with pytest.raises(MalformedError, match="not from its country"):
        verify_trust_list(_sign_raw_payload(world, value), [world.root], now=NOW)


def test_a_signature_with_an_unknown_algorithm_just_does_not_count(world):
    data = sign_trust_list(a_list(), world.ops[:2], [world.root_bytes])
    signed = cose.decode_sign(data)
    odd = cose.CoseSignature(
        protected_bytes=cbor.encode({1: -257}),
        protected={1: -257},
        unprotected={4: b"\x00" * 8},
        signature=b"\x01" * 256,
        algorithm=None,
    )
    extra = cose.CoseSign(
        signed.protected_bytes,
        signed.protected,
        signed.unprotected,
        signed.payload,
        (*signed.signatures, odd),
    ).to_bytes()
    assert verify_trust_list(extra, [world.root], now=NOW).trust_list.sequence == 1


def test_pins_refuse_a_substituted_list_with_the_same_sequence(world, tmp_path):
    from edl.pins import Pins

    pins = Pins(tmp_path)
    pins.pin(world.root_bytes)
    first = sign_trust_list(a_list(sequence=3), world.ops[:2], [world.root_bytes])
    pins.load_list(first, now=NOW)
    assert pins.load_list(first, now=NOW).trust_list.sequence == 3  # the same list again is fine
    other = sign_trust_list(
        a_list(sequence=3, cities=(city_entry(world.qingdao, "cn-qingdao", "Qingdao", "CN"),)),
        world.ops[:2],
        [world.root_bytes],
    )
    with pytest.raises(TrustListRollbackError, match="substituted"):
        pins.load_list(other, now=NOW)
    # A clock turned back does not revive an expired list: the newest issue time seen is the floor.
    later = sign_trust_list(a_list(sequence=4, issued=NOW + 10 * DAY), world.ops[:2], [world.root_bytes])
    pins.load_list(later, now=NOW + 10 * DAY)
    old_but_newer = sign_trust_list(a_list(sequence=5, issued=NOW), world.ops[:2], [world.root_bytes])
    with pytest.raises(ClockTurnedBackError):
        pins.load_list(old_but_newer, now=NOW)  # this device has seen a list signed at NOW+10d
    with pytest.raises(TrustListExpiredError):
        pins.load_list(old_but_newer, now=NOW + 10 * DAY)  # and on the right clock it has expired


def test_a_test_city_is_flagged_in_the_list_and_nothing_else_changes(world):
    entry = city_entry(world.qingdao, "cn-qingdao", "Qingdao", "CN")
    plain = entry.to_value()
    assert "test" not in plain  # lists without test cities keep their bytes
    flagged = dataclasses.replace(entry, test=True)
    assert CityEntry.from_value(flagged.to_value()).test is True
    assert CityEntry.from_value(plain).test is False
    with pytest.raises(MalformedError, match="test flag"):
        CityEntry.from_value({**plain, "test": 1})
    data = sign_trust_list(a_list(cities=(flagged,)), world.ops[:2], [world.root_bytes])
    assert verify_trust_list(data, [world.root], now=NOW).trust_list.cities[0].test is True


def test_city_init_test_flag_travels_to_the_trust_list(tmp_path):
    from edl.city import CityAdmin, verify_city_export
    from edl.keys import FileKeyStore

    admin = CityAdmin(tmp_path, FileKeyStore(tmp_path / "keys", b"pass phrase"))
    admin.init("cn-demo-city", name="Demo City", country="CN", now=NOW, test=True)
    assert admin.load("cn-demo-city").test is True
    assert verify_city_export(admin.export("cn-demo-city", now=NOW)).entry.test is True
    admin.init("cn-real", name="Real", country="CN", now=NOW)
    assert verify_city_export(admin.export("cn-real", now=NOW)).entry.test is False
