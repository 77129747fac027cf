"""edl.bundle: the handheld bundle (specs/status-list.md §7): build, load, replace one city's
list; the whole bundle refused, with its own code, when any part is bad."""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib

import pytest

from edl import cbor
from edl.bundle import (
    BUNDLE_TYPE,
    MAX_BUNDLE_SIZE,
    BundlePart,
    build_bundle,
    encode_bundle,
    load_bundle,
    replace_status,
)
from edl.errors import BundleError, EdlError, StatusListError
from edl.status import Status, decode_status_list
from edl.trust import read_unverified, verify_trust_list
from edltest import NOW, make_city
from statustest import (
    DAY,
    StatusSigner,
    claims_for,
    make_status_signer_for,
    publish_trust_list,
    raw_token,
    sample_list,
    token,
)

HOUR = dt.timedelta(hours=1)
LATER = NOW + HOUR


@pytest.fixture(scope="module")
def world(city, other_city):
    """Three cities (Qingdao and Guangzhou in CN, Ichikawa in JP) on one trust list; status
    lists for Qingdao (lists 1 and 2) and Guangzhou; none for Ichikawa."""
    guangzhou_city = make_city("Guangzhou", "CN")
    published = publish_trust_list(
        {
            "cn-qingdao": (city, "CN"),
            "cn-guangzhou": (guangzhou_city, "CN"),
            "jp-ichikawa": (other_city, "JP"),
        }
    )
    qingdao = make_status_signer_for(city)
    guangzhou = make_status_signer_for(guangzhou_city)
    lists = {
        "q1": token(qingdao, list_id=1, sequence=3),
        "q2": token(qingdao, sample_list(revoked=(5,), suspended=()), list_id=2, sequence=1),
        "g1": token(guangzhou, city_id="cn-guangzhou", sequence=9),
    }
    return published, qingdao, guangzhou, lists


def _verify(published):
    return lambda data: verify_trust_list(data, [published.root], now=NOW)


def _load(data, published, now=LATER):
    return load_bundle(data, verify_trust_list=_verify(published), now=now)


@pytest.fixture(scope="module")
def bundle(world):
    published, _, _, lists = world
    return build_bundle([published.data], [lists["g1"], lists["q2"], lists["q1"]])


# --- the happy path -----------------------------------------------------------------------------


def test_round_trip(world, bundle):
    published, qingdao, _, lists = world
    loaded = _load(bundle, published)
    assert set(loaded.status_lists) == {
        "urn:edl:status:cn-qingdao:1",
        "urn:edl:status:cn-qingdao:2",
        "urn:edl:status:cn-guangzhou:1",
    }
    assert loaded.status_list("urn:edl:status:cn-qingdao:1").status_of(412) is Status.REVOKED
    assert loaded.status_list_for("cn-qingdao", 2).status_of(5) is Status.REVOKED
    assert loaded.status_list_for("cn-guangzhou", 1).status_of(7) is Status.SUSPENDED
    assert loaded.status_list_for("cn-qingdao", 3) is None
    assert loaded.status_list_for("CN", 1) is None and loaded.status_list("https://x") is None
    assert loaded.cities() == ("cn-guangzhou", "cn-qingdao", "jp-ichikawa")
    assert loaded.cities_without_status() == ("jp-ichikawa",)  # never blocks the bundle
    assert loaded.status_list_for("cn-qingdao", 1).raw == lists["q1"]
    assert loaded.status_list_for("cn-qingdao", 1).signer_certificate == qingdao.der
    assert [v.trust_list.provider for v in loaded.trust_lists] == ["TEST-OPS"]


def test_parts_give_what_a_rollback_check_needs(world, bundle):
    published, _, _, lists = world
    parts = _load(bundle, published).parts()
    payload = read_unverified(published.data)[0].payload
    assert parts[0] == BundlePart(
        kind="trust_list", name="TEST-OPS", sequence=1, issued=NOW, digest=hashlib.sha256(payload).digest()
    )
    assert [(p.kind, p.name, p.sequence) for p in parts[1:]] == [
        ("status_list", "urn:edl:status:cn-guangzhou:1", 9),
        ("status_list", "urn:edl:status:cn-qingdao:1", 3),
        ("status_list", "urn:edl:status:cn-qingdao:2", 1),
    ]
    q1 = decode_status_list(lists["q1"])
    assert parts[2].digest == hashlib.sha256(q1.payload).digest() and parts[2].issued == q1.issued


def test_layout_follows_the_spec(world, bundle):
    published, _, _, lists = world
    value = cbor.decode(bundle, max_size=MAX_BUNDLE_SIZE)
    assert list(value) == ["type", "sha256", "content", "version"]  # length-first order
    assert value["type"] == BUNDLE_TYPE == "edl-bundle" and value["version"] == 1
    assert value["sha256"] == hashlib.sha256(value["content"]).digest()
    content = cbor.decode(value["content"], max_size=MAX_BUNDLE_SIZE)
    assert list(content) == ["trustLists", "statusLists"]
    assert content["trustLists"] == [published.data]  # byte for byte, as published
    assert content["statusLists"] == {
        "cn-qingdao": [lists["q1"], lists["q2"]],  # in list-id order, whatever order they were given
        "cn-guangzhou": [lists["g1"]],
    }
    assert cbor.encode(value) == bundle and cbor.encode(content) == value["content"]  # deterministic
    assert build_bundle([published.data], [lists["q1"], lists["q2"], lists["g1"]]) == bundle
    assert encode_bundle(content["trustLists"], content["statusLists"]) == bundle


def test_a_bundle_of_trust_lists_only(world):
    published = world[0]
    loaded = _load(build_bundle([published.data], []), published)
    assert loaded.status_lists == {} and len(loaded.cities_without_status()) == 3


def test_two_operators(city, other_city, world):
    _, qingdao, _, lists = world
    a = publish_trust_list({"cn-qingdao": (city, "CN")}, provider="CN-MPS")
    b = publish_trust_list({"jp-ichikawa": (other_city, "JP")}, provider="JP-NPA")
    ichikawa = make_status_signer_for(other_city)
    jp = token(ichikawa, city_id="jp-ichikawa")
    data = build_bundle([a.data, b.data], [lists["q1"], jp])
    verify = lambda raw: verify_trust_list(raw, [a.root, b.root], now=NOW)  # noqa: E731
    loaded = load_bundle(data, verify_trust_list=verify, now=LATER)
    assert loaded.status_list_for("jp-ichikawa", 1).status_of(412) is Status.REVOKED
    assert [p.name for p in loaded.parts()[:2]] == ["CN-MPS", "JP-NPA"]


# --- replacing one city's list --------------------------------------------------------------------


def _parts(data):
    value = cbor.decode(cbor.decode(data, max_size=MAX_BUNDLE_SIZE)["content"], max_size=MAX_BUNDLE_SIZE)
    return value["trustLists"], value["statusLists"]


def test_replace_status_touches_only_that_list(world, bundle):
    published, qingdao, _, lists = world
    newer = token(qingdao, sample_list(revoked=(412, 413)), list_id=1, sequence=4, issued=LATER)
    updated = replace_status(bundle, newer)
    trust, status = _parts(updated)
    old_trust, old_status = _parts(bundle)
    assert trust == old_trust and status["cn-guangzhou"] == old_status["cn-guangzhou"]
    assert status["cn-qingdao"] == [newer, lists["q2"]]
    assert (
        _load(updated, published, now=LATER).status_list_for("cn-qingdao", 1).status_of(413) is Status.REVOKED
    )
    assert replace_status(updated, newer) == updated  # the same list again: nothing changes


def test_replace_status_adds_a_new_list_in_order(world, bundle):
    published, qingdao, guangzhou, lists = world
    g0 = token(guangzhou, city_id="cn-guangzhou", list_id=0)
    updated = replace_status(replace_status(bundle, g0), token(qingdao, list_id=3))
    _, status = _parts(updated)
    assert status["cn-guangzhou"] == [g0, lists["g1"]]
    assert len(status["cn-qingdao"]) == 3
    assert [decode_status_list(b).uri[-1] for b in status["cn-qingdao"]] == ["1", "2", "3"]
    assert len(_load(updated, published).status_lists) == 5


def test_a_city_gets_its_first_list(world, other_city):
    published = world[0]
    ichikawa = make_status_signer_for(other_city)
    data = replace_status(build_bundle([published.data], []), token(ichikawa, city_id="jp-ichikawa"))
    assert _load(data, published).cities_without_status() == ("cn-guangzhou", "cn-qingdao")


@pytest.mark.parametrize(
    ("name", "sequence", "code"),
    [
        ("an older sequence", 2, "status_rollback"),
        ("the same sequence, other contents", 3, "status_rollback"),
    ],
)
def test_replace_status_refuses_an_older_list(world, bundle, name, sequence, code):
    _, qingdao, _, _ = world
    older = token(qingdao, sample_list(revoked=()), list_id=1, sequence=sequence)
    with pytest.raises(StatusListError) as failure:
        replace_status(bundle, older)
    assert failure.value.code == code, name


def test_replace_status_refuses_an_unknown_city(world, bundle):
    _, qingdao, _, _ = world
    with pytest.raises(BundleError) as failure:
        replace_status(bundle, token(qingdao, city_id="cn-shenzhen"))
    assert failure.value.code == "bundle_unknown_city"


def test_replace_status_refuses_a_list_without_sequence(world, bundle):
    _, qingdao, _, _ = world
    with pytest.raises(StatusListError) as failure:
        replace_status(bundle, raw_token(qingdao.signer, [qingdao.der], claims_for(sequence=None)))
    assert failure.value.code == "status_unsupported"


# --- building -------------------------------------------------------------------------------------


def test_build_refusals(world):
    published, qingdao, _, lists = world
    cases = [
        (
            "a city no trust list names",
            [lists["q1"], token(qingdao, city_id="cn-shenzhen")],
            "bundle_unknown_city",
        ),
        ("one list twice", [lists["q1"], lists["q1"]], "bundle_duplicate"),
        ("not a status list", [published.data], "status_malformed"),
        ("a foreign URI", [raw_token(qingdao.signer, [], claims_for(uri="https://x/1"))], "status_uri"),
    ]
    for name, status_lists, code in cases:
        with pytest.raises(EdlError) as failure:
            build_bundle([published.data], status_lists)
        assert failure.value.code == code, name
    with pytest.raises(BundleError) as failure:
        build_bundle([published.data, published.data], [])
    assert failure.value.code == "bundle_duplicate"
    with pytest.raises(EdlError) as failure:
        build_bundle([lists["q1"]], [])
    assert failure.value.code == "malformed"  # not a trust list
    with pytest.raises(ValueError):
        build_bundle([], [lists["q1"]])
    with pytest.raises(TypeError):
        build_bundle(published.data, [])  # type: ignore[arg-type]


# --- the attack table ------------------------------------------------------------------------------


def _bundle(trust_lists, status, *, version=1, extra=None):
    """A bundle encoded by hand (what an attacker can write: the checksum is anyone's to make)."""
    value = cbor.decode(encode_bundle(trust_lists, status))
    value["version"] = version
    value.update(extra or {})
    return cbor.encode(value)


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def bundle_attacks(world, bundle, city):
    published, qingdao, guangzhou, lists = world
    tl = published.data
    ds = StatusSigner(city=city, key=city.ds_key, cert=city.ds)
    other_operator = publish_trust_list({"cn-qingdao": (city, "CN")}, provider="OTHER-OPS")
    bomb = claims_for()
    z = zlib.compressobj(9)
    bomb[65533] = {"bits": 2, "lst": b"".join(z.compress(bytes(1 << 20)) for _ in range(20)) + z.flush()}
    return [
        ("truncated", bundle[:-100], "bundle_malformed"),
        ("bit-flipped", _flip(bundle, len(bundle) // 2), "bundle_damaged"),
        (
            "a status list altered, checksum remade",
            _bundle([tl], {"cn-qingdao": [_flip(lists["q1"], -5)]}),
            "status_bad_signature",
        ),
        (
            "the trust list altered, checksum remade",
            _bundle([_flip(tl, -5)], {}),
            "insufficient_signatures",
        ),
        ("another city's list substituted", _bundle([tl], {"cn-qingdao": [lists["g1"]]}), "bundle_misfiled"),
        (
            "signed by another city's status signer",
            _bundle([tl], {"cn-qingdao": [token(guangzhou)]}),
            "status_untrusted",
        ),
        (
            "signed by a DS key",
            _bundle([tl], {"cn-qingdao": [raw_token(ds.signer, [ds.der], claims_for())]}),
            "status_signer_eku",
        ),
        (
            "a city no trust list knows",
            _bundle([tl], {"cn-shenzhen": [token(qingdao, city_id="cn-shenzhen")]}),
            "bundle_unknown_city",
        ),
        (
            "a status list twice",
            _bundle([tl], {"cn-qingdao": [lists["q1"], lists["q1"]]}),
            "bundle_duplicate",
        ),
        ("another format version", _bundle([tl], {}, version=2), "bundle_version"),
        ("larger than a handheld reads", bytes(MAX_BUNDLE_SIZE + 1), "bundle_too_large"),
        (
            "a status list dated in the future",
            _bundle([tl], {"cn-qingdao": [token(qingdao, issued=NOW + DAY, expires=NOW + 2 * DAY)]}),
            "status_not_yet_valid",
        ),
        ("a trust list of an operator not pinned", _bundle([other_operator.data], {}), "trust_root_unknown"),
        (
            "a zlib bomb",
            _bundle([tl], {"cn-qingdao": [raw_token(qingdao.signer, [qingdao.der], bomb)]}),
            "status_too_large",
        ),
        ("a truncated status list", _bundle([tl], {"cn-qingdao": [lists["q1"][:-1]]}), "status_malformed"),
    ]


@pytest.fixture(scope="module")
def attacks(world, bundle, city):
    return bundle_attacks(world, bundle, city)


def test_every_bundle_attack_has_its_own_code(attacks):
    codes = [code for _, _, code in attacks]
    assert len(set(codes)) == len(codes)


def test_bundle_attack_table(world, attacks):
    published = world[0]
    failures = []
    for name, data, code in attacks:
        try:
            _load(data, published)
        except EdlError as e:
            if e.code != code:
                failures.append(f"{name}: {e.code} ({e.message}), expected {code}")
            continue
        failures.append(f"{name}: accepted")
    assert failures == []


def test_the_same_operator_twice_is_refused(world, city):
    published = world[0]
    newer = publish_trust_list({"cn-qingdao": (city, "CN")}, sequence=2, op=published.op)
    data = _bundle([published.data, newer.data], {})
    with pytest.raises(BundleError) as failure:
        _load(data, published)
    assert failure.value.code == "bundle_duplicate"
    with pytest.raises(BundleError) as failure:
        _load(_bundle([published.data, published.data], {}), published)
    assert failure.value.code == "bundle_duplicate"


def test_a_stripped_list_leaves_its_city_without_status(world, bundle):
    published = world[0]
    trust, status = _parts(bundle)
    del status["cn-qingdao"]
    loaded = _load(encode_bundle(trust, status), published)
    assert loaded.cities_without_status() == ("cn-qingdao", "jp-ichikawa")  # the verifier says status_missing
    assert loaded.status_list_for("cn-qingdao", 1) is None


def test_a_part_error_says_which_part(world, attacks):
    published = world[0]
    data = next(d for n, d, _ in attacks if n == "a status list dated in the future")
    with pytest.raises(StatusListError) as failure:
        _load(data, published)
    assert "cn-qingdao" in failure.value.message


def test_an_expired_status_list_loads_as_stale_not_as_a_broken_bundle(world):
    # Authentic but past its exp: the bundle (and every trust list in it) still loads, and the
    # verifiers report the city's status as stale (amber), not the handheld as unusable.
    published, qingdao = world[0], world[1]
    tl = published.data
    old = token(qingdao, issued=NOW - 2 * HOUR, expires=NOW - HOUR)
    loaded = _load(_bundle([tl], {"cn-qingdao": [old]}), published)
    (stale,) = loaded.status_lists.values()
    assert stale.expires < NOW


def _content(**changes):
    value = {"trustLists": [b"x"], "statusLists": {}}
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


def _envelope(content=None, **changes):
    raw = cbor.encode(_content() if content is None else content)
    value = {"type": "edl-bundle", "version": 1, "content": raw, "sha256": hashlib.sha256(raw).digest()}
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("not a map", ["edl-bundle", 1]),
        ("another type", _envelope(type="edl-bundlf")),
        ("no version", _envelope(version=None)),
        ("version text", _envelope(version="1")),
        ("content not bytes", {**_envelope(), "content": _content()}),
        ("short checksum", _envelope(sha256=b"\x00" * 31)),
        ("no checksum", _envelope(sha256=None)),
        ("content not CBOR", {**_envelope(), "content": b"\xff", "sha256": hashlib.sha256(b"\xff").digest()}),
        ("content an array", _envelope([[b"x"], {}])),
        ("content with more", _envelope({**_content(), "note": 1})),
        ("a key added", _envelope(signature=b"trust me")),
        ("no trust list", _envelope(_content(trustLists=[]))),
        ("trust lists not bytes", _envelope(_content(trustLists=["x"]))),
        ("17 trust lists", _envelope(_content(trustLists=[b"x"] * 17))),
        ("status not a map", _envelope(_content(statusLists=[]))),
        ("upper-case city", _envelope(_content(statusLists={"CN": [b""]}))),
        ("empty list array", _envelope(_content(statusLists={"cn-x": []}))),
        ("list not bytes", _envelope(_content(statusLists={"cn-x": [1]}))),
        ("too deep", _envelope(_content(statusLists={"cn-x": [[[[b""]]]]}))),
    ],
)
def test_structure_is_read_strictly(world, name, value):
    with pytest.raises(BundleError) as failure:
        _load(cbor.encode(value), world[0])
    assert failure.value.code == "bundle_malformed", name


def test_every_byte_flip_is_refused(world, bundle):
    published = world[0]
    step = 1
    accepted = []
    for at in range(0, len(bundle), step):
        try:
            _load(_flip(bundle, at), published)
        except EdlError:
            continue
        accepted.append(at)
    assert accepted == []


def test_caller_mistakes(world, bundle):
    published = world[0]
    with pytest.raises(ValueError):
        load_bundle(bundle, verify_trust_list=_verify(published), now=NOW.replace(tzinfo=None))
    with pytest.raises(TypeError):
        load_bundle("bundle", verify_trust_list=_verify(published), now=NOW)  # type: ignore[arg-type]

    def broken(data):
        raise ValueError("no pinned root")

    with pytest.raises(ValueError, match="no pinned root"):  # the caller's mistake is not the bundle's
        load_bundle(bundle, verify_trust_list=broken, now=NOW)


def test_flips_under_a_remade_checksum_are_refused_by_the_parts(world, bundle):
    """An attacker remakes the checksum: then each part's own authority refuses the change,
    except in a trust list's unprotected edl-roots hint, which nothing uses when the list's root
    is the pinned one (specs/trust-list.md §2.2): there a flip changes nothing that counts."""
    published = world[0]
    trust, status = _parts(bundle)
    tl = trust[0]
    signed, _ = read_unverified(tl)
    hint_start = tl.index(b"iedl-roots")
    hint_end = max(tl.index(r) + len(r) for r in signed.unprotected["edl-roots"])
    parts = [("trust", 0, tl)] + [("status", i, b) for i, b in enumerate(status["cn-qingdao"])]
    accepted = []
    for kind, i, part in parts:
        for at in range(0, len(part), 5):
            flipped = _flip(part, at)
            if kind == "trust":
                data = encode_bundle([flipped], status)
            else:
                data = encode_bundle(trust, {**status, "cn-qingdao": [*status["cn-qingdao"][:i], flipped]})
            try:
                _load(data, published)
            except EdlError:
                continue
            accepted.append((kind, at))
    assert all(kind == "trust" and hint_start <= at < hint_end for kind, at in accepted), accepted
