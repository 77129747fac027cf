"""One frame at a time: the wallet signs and draws only the main frame on a refresh and its
portrait frames once; the verifier says when a main frame read before its portrait frames is
authentic with only the portrait still to come (``portrait_pending``)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl import qr
from edl.cose import KeySigner
from edl.credentials import issue_licence
from edl.demo import make_portrait
from edl.issue import DocumentSigner
from edl.model import Licence
from edl.presentation import decode_text, parse_payload
from edl.verify import CheckStatus, Verdict
from edl.verify_qr import QrVerificationResult, verify_presentation
from edl.wallet import Wallet
from edltest import NOW, licence_json, make_city, make_trust_list

SOON = NOW + dt.timedelta(seconds=5)


@pytest.fixture(scope="module")
def qingdao():
    return make_city("Qingdao", "CN")


@pytest.fixture(scope="module")
def phone():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def wallet(qingdao, phone):
    issued = issue_licence(
        Licence.from_json(licence_json(portrait=make_portrait())),
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
        status=(1, 7),
    )
    w = Wallet(phone)
    w.add(issued.compact, issued.thumbnail)
    return w


@pytest.fixture(scope="module")
def trust(qingdao):
    return make_trust_list({"cn-qingdao": (qingdao, "CN")})


def verify(texts, trust, *, now=SOON, **kwargs) -> QrVerificationResult:
    result = verify_presentation(texts, trust=trust, now=now, **kwargs)
    assert isinstance(result, QrVerificationResult)
    return result


# --- the wallet: one frame ---------------------------------------------------------------


def test_frame_and_portrait_frames_make_the_carousel(wallet):
    main = wallet.frame("roadside", at=NOW)
    portrait = wallet.portrait_frames("roadside")
    carousel = wallet.frames("roadside", at=NOW)
    assert len(portrait) >= 2 and carousel[1:] == portrait
    # The main frame is signed (ECDSA: new bytes each time) over the same credential and time.
    first, again = parse_payload(decode_text(main)), parse_payload(decode_text(carousel[0]))
    assert first.credential.raw == again.credential.raw and first.signed_at == again.signed_at == NOW


def test_portrait_frames_do_not_change_between_refreshes(wallet):
    assert wallet.portrait_frames("roadside") == wallet.portrait_frames("roadside")
    later = NOW + dt.timedelta(minutes=10)
    assert wallet.frames("roadside", at=later)[1:] == wallet.portrait_frames("roadside")
    assert parse_payload(decode_text(wallet.frame("roadside", at=later))).signed_at == later


def test_a_profile_without_portrait_has_no_portrait_frames(wallet, trust):
    assert wallet.portrait_frames("rental") == []
    assert wallet.render_portrait_frames("rental") == []
    result = verify([wallet.frame("rental", at=NOW)], trust, status=None)
    assert not result.portrait_pending
    assert result.check("portrait", None).code == "no_portrait"


def test_unknown_profile(wallet):
    with pytest.raises(ValueError, match="no learner credential"):
        wallet.frame("learner", at=NOW)
    with pytest.raises(ValueError, match="no learner credential"):
        wallet.portrait_frames("learner")


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
def test_render_frame_draws_the_main_frame_only(wallet, decoder):
    png = wallet.render_frame("roadside", at=NOW, challenge=b"c" * 16)
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    (text,) = qr.decode_image(png, backend=decoder)
    frame = parse_payload(decode_text(text))
    assert frame.signed_at == NOW and frame.challenge == b"c" * 16


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
@pytest.mark.parametrize("writer", ["zxing", "qrcode"])
def test_render_portrait_frames_once(wallet, decoder, writer):
    drawn = wallet.render_portrait_frames("roadside", writer=writer)
    assert [qr.decode_image(png, backend=decoder) for png in drawn] == [
        [t] for t in wallet.portrait_frames("roadside")
    ]


def test_render_formats(wallet):
    svg = wallet.render_frame("roadside", at=NOW, fmt="svg")
    assert isinstance(svg, str) and svg.startswith("<svg")
    terminal = wallet.render_frame("roadside", at=NOW, fmt="terminal", writer="qrcode")
    assert isinstance(terminal, str) and "\u2588" in terminal
    assert all(s.startswith("<svg") for s in wallet.render_portrait_frames("roadside", fmt="svg"))
    with pytest.raises(ValueError, match="png, svg or terminal"):
        wallet.render_frame("roadside", at=NOW, fmt="jpeg")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="png, svg or terminal"):
        wallet.render_portrait_frames("roadside", fmt="gif")  # type: ignore[call-overload]


def test_the_whole_carousel_still_renders(wallet):
    drawn = wallet.render("roadside", at=NOW)
    texts = [qr.decode_image(png) for png in drawn]
    assert [t for (t,) in texts[1:]] == wallet.portrait_frames("roadside")
    assert parse_payload(decode_text(texts[0][0])).signed_at == NOW


def test_an_app_refreshing_only_the_main_frame_verifies_green(wallet, trust):
    """The app's loop: portrait frames made once at start, a new main frame at each refresh."""
    portrait = wallet.portrait_frames("roadside")
    for seconds in (0, 30, 60, 600):
        at = NOW + dt.timedelta(seconds=seconds)
        result = verify([wallet.frame("roadside", at=at), *portrait], trust, now=at + dt.timedelta(seconds=2))
        # The credential names a status list nobody gave the verifier: amber for that only.
        assert [c.name for c in result.checks if c.status is not CheckStatus.PASSED and c.required] == [
            "status"
        ]
        assert result.check("portrait", None).status is CheckStatus.PASSED
        assert not result.portrait_pending  # nothing pending: the portrait is here


# --- the verifier: portrait_pending ------------------------------------------------------


@pytest.fixture(scope="module")
def plain_wallet(qingdao, phone):
    """A wallet whose credentials carry no status reference (so green is reachable offline)."""
    issued = issue_licence(
        Licence.from_json(licence_json(portrait=make_portrait(seed=3))),
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
    )
    w = Wallet(phone)
    w.add(issued.compact, issued.thumbnail)
    return w


def test_main_frame_alone_is_authentic_with_portrait_pending(plain_wallet, trust):
    main = plain_wallet.frame("roadside", at=NOW)
    portrait = plain_wallet.portrait_frames("roadside")
    alone = verify([main], trust)
    assert alone.verdict is Verdict.AMBER and alone.portrait_pending
    assert alone.to_json()["portrait_pending"] is True
    some = verify([main, portrait[0]], trust)
    assert some.verdict is Verdict.AMBER and some.portrait_pending
    whole = verify([main, *portrait], trust)
    assert whole.verdict is Verdict.GREEN and not whole.portrait_pending
    assert whole.to_json()["portrait_pending"] is False


def test_age_check_profile_also_waits_for_its_portrait(plain_wallet, trust):
    alone = verify([plain_wallet.frame("age-check", at=NOW)], trust)
    assert alone.verdict is Verdict.AMBER and alone.portrait_pending
    whole = verify(plain_wallet.frames("age-check", at=NOW), trust)
    assert whole.verdict is Verdict.GREEN and not whole.portrait_pending


def test_not_pending_when_anything_else_is_wrong(plain_wallet, wallet, trust, qingdao):
    main = plain_wallet.frame("roadside", at=NOW)
    # stale
    stale = verify([main], trust, now=NOW + dt.timedelta(minutes=5))
    assert stale.verdict is Verdict.RED and not stale.portrait_pending
    # another challenge
    other = verify([main], trust, challenge=b"x" * 16)
    assert other.verdict is Verdict.RED and not other.portrait_pending
    # a required check that could not run (the credential's status list is missing): amber for
    # more than the portrait
    with_status = verify([wallet.frame("roadside", at=NOW)], trust)
    assert with_status.verdict is Verdict.AMBER and not with_status.portrait_pending
    # an unknown city
    stranger = verify([main], make_trust_list({"jp-ichikawa": (make_city("Ichikawa", "JP"), "JP")}))
    assert stranger.verdict is Verdict.RED and not stranger.portrait_pending
    # not a licence at all
    junk = verify(["DL1:0"], trust)
    assert junk.verdict is Verdict.RED and not junk.portrait_pending


def test_not_pending_when_the_portrait_frames_cannot_complete(plain_wallet, wallet, trust):
    from edl import cbor
    from edl.presentation import encode_text

    main = plain_wallet.frame("roadside", at=NOW)
    chunks = [parse_payload(decode_text(t)) for t in plain_wallet.portrait_frames("roadside")]
    first = chunks[0]

    def chunk(index, count, data):
        return encode_text(cbor.encode(["p", first.credential_id, index, count, data]))

    # the same index read twice with different content
    twice = verify([main, chunk(0, first.count, first.data), chunk(0, first.count, b"other")], trust)
    assert twice.verdict is Verdict.AMBER and not twice.portrait_pending
    # frames that disagree on their number
    counts = verify([main, chunk(0, first.count, first.data), chunk(1, first.count + 1, b"x")], trust)
    assert counts.verdict is Verdict.AMBER and not counts.portrait_pending
    # all read, but not the portrait the city signed
    forged = [chunk(c.index, c.count, bytes(len(c.data))) for c in chunks]
    wrong = verify([main, *forged], trust)
    assert wrong.verdict is Verdict.AMBER and not wrong.portrait_pending


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pending_means_only_the_portrait_stands_between_it_and_green(plain_wallet, trust, data):
    """For any subset of the carousel, time and challenge: ``portrait_pending`` is exactly "no
    failure, every other required check passed, some portrait frames not read yet", and then
    the missing frames make it green."""
    challenge = data.draw(st.sampled_from([None, b"c" * 16]))
    asked = data.draw(st.sampled_from([None, b"c" * 16, b"d" * 16]))
    shown = plain_wallet.frames("roadside", at=NOW, challenge=challenge)
    keep = data.draw(st.lists(st.booleans(), min_size=len(shown) - 1, max_size=len(shown) - 1))
    subset = [shown[0]] + [t for t, k in zip(shown[1:], keep, strict=True) if k]
    now = NOW + dt.timedelta(seconds=data.draw(st.integers(-120, 200)))
    result = verify(subset, trust, now=now, challenge=asked)
    required_open = {c.name for c in result.checks if c.required and c.status is not CheckStatus.PASSED}
    expected = not result.failures() and required_open == {"portrait"} and not all(keep)
    assert result.portrait_pending is expected
    if result.portrait_pending:
        assert verify(shown, trust, now=now, challenge=asked).verdict is Verdict.GREEN
