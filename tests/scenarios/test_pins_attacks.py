"""The verifier's state folder under attack: nothing that arrives unverified is ever recorded.

An outside review found that a root appended to a trust list's unprotected ``edl-roots`` header,
with the name and version of the real one, was written into ``EDL_HOME/roots/`` when the real
root came from ``--trust-root``; from then on a list signed only by the attacker loaded. Each
row here is an attack on ``edl.pins.Pins`` and what the verifier must (not) believe after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from edl import cose
from edl.errors import EdlError, PinConflictError, ThresholdError, TrustListRollbackError
from edl.pins import Pins
from edl.trust import ROOTS_HEADER, TrustList, sign_root, sign_trust_list, update_root
from edltest import NOW, operator_keys, operator_root

DAY = dt.timedelta(days=1)


def a_list(sequence: int = 1, root_version: int = 1, name: str = "CN-MPS") -> TrustList:
    return TrustList(
        provider=name,
        sequence=sequence,
        issued=NOW,
        next_update=NOW + DAY,
        expires=NOW + 7 * DAY,
        root_version=root_version,
    )


@dataclasses.dataclass
class Operator:
    signers: list
    root: object
    root_bytes: bytes

    def publish(self, sequence: int = 1, chain: list[bytes] | None = None, root_version: int = 1) -> bytes:
        tl = a_list(sequence, root_version, self.root.name)
        return sign_trust_list(tl, self.signers[:2], chain if chain is not None else [self.root_bytes])


def operator(name: str = "CN-MPS") -> Operator:
    signers = operator_keys(3)
    root = operator_root(signers, name=name)
    return Operator(signers, root, sign_root(root, signers))


def with_roots_header(data: bytes, chain: list[bytes]) -> bytes:
    """The same signed list with another unprotected root chain (no key needed to do this)."""
    signed = cose.decode_sign(data)
    return dataclasses.replace(signed, unprotected={**signed.unprotected, ROOTS_HEADER: chain}).to_bytes()


def recorded_files(home) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*.root.cbor"))


@pytest.mark.parametrize("pinned", [True, False], ids=["real-root-pinned", "real-root-given-for-one-run"])
def test_a_root_smuggled_in_the_unprotected_header_is_never_recorded(tmp_path, pinned):
    real, evil = operator(), operator()  # same name, same version, other keys
    pins = Pins(tmp_path)
    extra = []
    if pinned:
        pins.pin(real.root_bytes)
    else:
        extra = [real.root]
    smuggling = with_roots_header(real.publish(), [real.root_bytes, evil.root_bytes])
    assert pins.load_list(smuggling, now=NOW, extra_roots=extra).trust_list.sequence == 1

    assert recorded_files(tmp_path) == ([f"pins/{real.root.fingerprint}.root.cbor"] if pinned else [])
    assert [r.fingerprint for r in pins.roots()] == ([real.root.fingerprint] if pinned else [])
    # The attacker's own list (its keys only, a higher sequence) still does not load.
    with pytest.raises(ThresholdError):
        pins.load_list(evil.publish(sequence=9), now=NOW, extra_roots=extra)
    with pytest.raises(ThresholdError):
        pins.load_list(evil.publish(sequence=9), now=NOW, extra_roots=extra, record=False)


def test_trust_root_for_one_run_is_never_written_as_a_pin(tmp_path):
    real = operator()
    pins = Pins(tmp_path)
    pins.load_list(real.publish(), now=NOW, extra_roots=[real.root])
    assert pins.pinned() == []
    with pytest.raises(ValueError, match="edl trust pin"):
        pins.load_list(real.publish(), now=NOW)  # nothing is pinned: the next run must say so
    # What it remembered (the sequence) is kept by key fingerprint, for rollback protection.
    assert pins.last_sequence(real.root) == 1


def rotated(real: Operator) -> tuple[Operator, bytes]:
    """Root v2 with new keys, signed by a threshold of the old and of the new keys."""
    new_signers = operator_keys(3)
    v2 = operator_root(new_signers, version=2)
    v2_bytes = sign_root(v2, real.signers[:2] + new_signers[:2])
    assert update_root(real.root, v2_bytes) == v2
    return Operator(new_signers, v2, v2_bytes), v2_bytes


def test_learned_roots_only_from_a_pin_and_old_keys_then_refused(tmp_path):
    real = operator()
    v2, v2_bytes = rotated(real)
    pins = Pins(tmp_path)
    pins.pin(real.root_bytes)
    later = v2.publish(sequence=2, chain=[real.root_bytes, v2_bytes], root_version=2)
    assert pins.load_list(later, now=NOW).root.version == 2
    assert [r.version for r in pins.lineages()[0].roots] == [1, 2]
    assert f"learned/{v2.root.fingerprint}.root.cbor" in recorded_files(tmp_path)
    # A list made later with the superseded v1 keys (say they were stolen) is refused.
    with pytest.raises(TrustListRollbackError):
        pins.load_list(real.publish(sequence=5), now=NOW)


def test_learned_roots_are_not_kept_for_a_root_given_for_one_run(tmp_path):
    real = operator()
    v2, v2_bytes = rotated(real)
    pins = Pins(tmp_path)
    later = v2.publish(sequence=2, chain=[real.root_bytes, v2_bytes], root_version=2)
    assert pins.load_list(later, now=NOW, extra_roots=[real.root]).root.version == 2
    assert recorded_files(tmp_path) == []
    # ...but the state is kept under every root of the verified chain: v1's old list is refused.
    with pytest.raises(TrustListRollbackError):
        pins.load_list(real.publish(sequence=1), now=NOW, extra_roots=[real.root])


def test_a_planted_learned_root_is_ignored_reported_and_removed(tmp_path):
    real, evil = operator(), operator()
    evil_v2 = operator_root(evil.signers, version=2)
    evil_v2_bytes = sign_root(evil_v2, evil.signers)
    pins = Pins(tmp_path)
    pins.pin(real.root_bytes)
    (tmp_path / "learned").mkdir()
    planted = tmp_path / "learned" / f"{evil_v2.fingerprint}.root.cbor"
    planted.write_bytes(evil_v2_bytes)
    assert [r.version for r in pins.roots()] == [1]  # the pin's lineage stops at v1
    assert any("no verified chain" in p and planted.name in p for p in pins.problems())
    with pytest.raises(ThresholdError):
        pins.load_list(evil.publish(sequence=3, chain=[evil_v2_bytes], root_version=2), now=NOW)
    pins.load_list(real.publish(), now=NOW)  # the next record removes it
    assert not planted.exists() and pins.problems() == []


def test_a_folder_from_edl_0_1_is_not_trusted_and_says_what_to_do(tmp_path):
    real = operator()
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "CN-MPS-v1.root.cbor").write_bytes(real.root_bytes)
    pins = Pins(tmp_path)
    assert pins.roots() == []
    assert any("edl trust pin" in p for p in pins.problems())
    with pytest.raises(ValueError, match="edl trust pin"):
        pins.load_list(real.publish(), now=NOW)


def test_two_operators_with_one_name_keep_separate_state(tmp_path):
    # e.g. two demos in one state folder, each verified with its own --trust-root
    a, b = operator(), operator()
    pins = Pins(tmp_path)
    pins.pin(a.root_bytes)
    assert pins.load_list(a.publish(sequence=10), now=NOW).root == a.root
    got = pins.load_list(b.publish(sequence=1), now=NOW, extra_roots=[b.root])
    assert got.root == b.root  # not "older than #10"
    assert (pins.last_sequence(a.root), pins.last_sequence(b.root)) == (10, 1)
    with pytest.raises(TrustListRollbackError, match="#9 is older than #10") as e:
        pins.load_list(a.publish(sequence=9), now=NOW)
    assert "edl trust pin --replace" in e.value.diagnostics()  # says what to do


def test_pinning_other_keys_under_a_pinned_name_is_explicit(tmp_path):
    a, b = operator(), operator()
    pins = Pins(tmp_path)
    pins.pin(a.root_bytes)
    pins.pin(a.root_bytes)  # the same root again changes nothing
    with pytest.raises(PinConflictError) as e:
        pins.pin(b.root_bytes)
    assert a.root.fingerprint[:16] in e.value.message and b.root.fingerprint[:16] in e.value.message
    assert [r.fingerprint for r in pins.pinned()] == [a.root.fingerprint]
    pins.pin(b.root_bytes, replace=True)
    assert [r.fingerprint for r in pins.pinned()] == [b.root.fingerprint]
    assert pins.load_list(b.publish(), now=NOW).root == b.root


def test_pinning_a_later_version_already_reached_is_no_conflict(tmp_path):
    real = operator()
    v2, v2_bytes = rotated(real)
    pins = Pins(tmp_path)
    pins.pin(real.root_bytes)
    pins.load_list(v2.publish(sequence=2, chain=[real.root_bytes, v2_bytes], root_version=2), now=NOW)
    pins.pin(v2_bytes)  # a verified continuation of what is pinned
    assert {r.version for r in pins.pinned()} == {1, 2}


def test_unpin_by_name_or_fingerprint_removes_learned_roots_too(tmp_path):
    real = operator()
    v2, v2_bytes = rotated(real)
    pins = Pins(tmp_path)
    pins.pin(real.root_bytes)
    pins.load_list(v2.publish(sequence=2, chain=[real.root_bytes, v2_bytes], root_version=2), now=NOW)
    assert pins.unpin("nobody") == []
    assert pins.unpin(real.root.fingerprint[:12]) == [real.root]
    assert recorded_files(tmp_path) == [] and pins.problems() == []


def test_a_decoy_root_of_the_next_version_does_not_block_the_real_one(tmp_path):
    real = operator()
    v2, v2_bytes = rotated(real)
    decoy = sign_root(operator_root(operator_keys(3), version=2), operator_keys(3))
    pins = Pins(tmp_path)
    pins.pin(real.root_bytes)
    later = v2.publish(sequence=2, chain=[real.root_bytes, decoy, v2_bytes], root_version=2)
    assert pins.load_list(later, now=NOW).root == v2.root


@pytest.mark.parametrize(
    "state",
    [
        b"\xff\xfe not json",
        b"[]",
        b'{"format": 2, "roots": {"x": {"sequence": 1e400, "newest_issued": "9999-99-99"}}}',
        b'{"format": 2, "roots": []}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not-utf8", "not-an-object", "wrong-types", "roots-not-a-map", "deep-nesting"],
)
def test_a_damaged_state_file_is_ignored_not_an_exception(tmp_path, state):
    real = operator()
    pins = Pins(tmp_path)
    pins.pin(real.root_bytes)
    (tmp_path / "state.json").write_bytes(state)
    assert pins.load_list(real.publish(), now=NOW).trust_list.sequence == 1
    assert pins.last_sequence(real.root) == 1


def test_many_signatures_under_one_key_cost_one_check(monkeypatch):
    real = operator()
    signed = cose.decode_sign(real.publish())
    bad = dataclasses.replace(signed.signatures[0], signature=bytes(64))
    many = dataclasses.replace(signed, signatures=(bad,) * 31 + signed.signatures[:1]).to_bytes()
    calls = []
    original = cose.CoseSign.verify_signature

    def counting(self, *a, **k):
        calls.append(1)
        return original(self, *a, **k)

    monkeypatch.setattr(cose.CoseSign, "verify_signature", counting)
    from edl.trust import verify_trust_list

    with pytest.raises(EdlError):
        verify_trust_list(many, [real.root], now=NOW)
    assert len(calls) == 1  # the 31 bad copies under one kid are tried once, not 31 times
