"""The handheld's state moves forward only (#10 items 2 and 5): a bundle whose status list is
older than the one held, or another list under a sequence already held, is refused; a clock that
reads earlier than the newest signed time the device has seen is refused (``clock_turned_back``)
instead of reviving expired lists; and a refused bundle records nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from edl.bundle import build_bundle
from edl.errors import ClockTurnedBackError, StatusListError, TrustListExpiredError
from edl.pins import Pins
from edl.trust import sign_root
from edltest import NOW, make_city
from statustest import DAY, make_status_signer_for, publish_trust_list, sample_list, token

HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def world():
    qingdao = make_city("Qingdao", "CN")
    published = publish_trust_list({"cn-qingdao": (qingdao, "CN")})
    return published, make_status_signer_for(qingdao)


def pins_for(tmp_path, published) -> Pins:
    pins = Pins(tmp_path)
    pins.pin(sign_root(published.root, [published.op]))
    return pins


def test_a_bundle_loads_and_its_status_lists_are_remembered(tmp_path, world):
    published, ss = world
    pins = pins_for(tmp_path, published)
    bundle = pins.load_bundle(build_bundle([published.data], [token(ss, sequence=4)]), now=NOW + HOUR)
    assert bundle.status_list_for("cn-qingdao", 1).sequence == 4
    assert pins.clock_floor() == NOW


def test_an_older_status_list_is_refused_and_nothing_is_recorded(tmp_path, world):
    published, ss = world
    pins = pins_for(tmp_path, published)
    pins.load_bundle(build_bundle([published.data], [token(ss, sequence=4)]), now=NOW + HOUR)
    before = (tmp_path / "state.json").read_bytes()
    with pytest.raises(StatusListError) as e:
        pins.load_bundle(build_bundle([published.data], [token(ss, sequence=3)]), now=NOW + HOUR)
    assert e.value.code == "status_rollback" and "#3, older than #4" in e.value.message
    other = token(ss, sample_list(revoked=(1,)), sequence=4)  # another list under a held sequence
    with pytest.raises(StatusListError, match="substituted") as e:
        pins.load_bundle(build_bundle([published.data], [other]), now=NOW + HOUR)
    assert (tmp_path / "state.json").read_bytes() == before
    # the same bundle again, and a newer one, are fine
    pins.load_bundle(build_bundle([published.data], [token(ss, sequence=5)]), now=NOW + HOUR)


def test_a_clock_turned_back_is_refused_not_trusted(tmp_path, world):
    published, ss = world
    pins = pins_for(tmp_path, published)
    later = token(ss, sequence=9, issued=NOW + 3 * DAY, expires=NOW + 5 * DAY)
    pins.load_bundle(build_bundle([published.data], [later]), now=NOW + 3 * DAY)
    assert pins.clock_floor() == NOW + 3 * DAY
    with pytest.raises(ClockTurnedBackError) as e:
        pins.load_list(published.data, now=NOW + HOUR)  # the device's clock went back three days
    assert e.value.code == "clock_turned_back" and "turned back" in e.value.diagnostics()
    with pytest.raises(ClockTurnedBackError):
        pins.load_bundle(build_bundle([published.data], [later]), now=NOW + HOUR)
    pins.load_list(published.data, now=NOW + 3 * DAY - 4 * 60 * dt.timedelta(seconds=1))  # within the skew


def test_an_at_for_one_run_is_never_recorded_as_the_floor(tmp_path, world):
    published, ss = world
    pins = pins_for(tmp_path, published)
    pins.load_list(published.data, now=NOW + 6 * DAY)  # a run "as of" a later time
    assert pins.clock_floor() == NOW  # only signed times count
    pins.load_list(published.data, now=NOW + HOUR)


def test_an_expired_list_stays_expired_on_a_correct_clock(tmp_path, world):
    published, _ = world
    pins = pins_for(tmp_path, published)
    pins.load_list(published.data, now=NOW)
    with pytest.raises(TrustListExpiredError):
        pins.load_list(published.data, now=NOW + 8 * DAY)
