"""``--at``: an empty value is a usage error (exit 2) naming the fix, never silently "now"."""

from __future__ import annotations

import pytest

from edl.cli import main


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_at_is_refused(value, capsys, tmp_path):
    code = main(["demo", "--out", str(tmp_path / "d"), "--at", value])
    err = capsys.readouterr().err
    assert code == 2
    assert "--at is empty" in err and "leave --at out" in err
    assert not (tmp_path / "d").exists()


def test_time_without_zone_is_refused(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path / "d"), "--at", "2026-11-25T08:00:00"]) == 2
    assert "no time zone" in capsys.readouterr().err
