"""A file that is not what a command expects: the one-line error names the file and what was
expected, and never calls a trust list or a root "a driving licence credential"."""

from __future__ import annotations

import pytest

from edl.cli import main
from edl.errors import MalformedError
from edl.trust import read_unverified, verify_root


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["trust", "show", "{f}"], "is not a trust list"),
        (["trust", "pin", "{f}"], "trust root"),
    ],
)
def test_cli_names_the_file_and_what_it_expected(argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    f = tmp_path / "notes.cbor"
    f.write_bytes(b"hello\n")
    code = main([a.replace("{f}", str(f)) for a in argv])
    err = capsys.readouterr().err
    assert code == 1, err
    assert str(f) in err and expected in err
    assert "driving licence credential" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("parse", "what"), [(read_unverified, "trust list"), (verify_root, "trust root")])
def test_library_advice_says_what_was_expected(parse, what):
    with pytest.raises(MalformedError) as e:
        parse(b"\xa1\x01\x02")  # a CBOR map, not a COSE_Sign
    assert e.value.code == "malformed"
    assert f"not a {what}" in e.value.diagnostics()
    assert "driving licence" not in e.value.diagnostics()


def test_advice_is_per_error_not_per_class():
    assert "driving licence credential" in MalformedError("x").diagnostics()
    assert MalformedError("x", advice="Do this.").diagnostics() == "x. Do this."
    assert "driving licence credential" in MalformedError("y").diagnostics()
