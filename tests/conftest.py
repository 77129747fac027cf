"""Session fixtures: a test city (IACA root -> DS), holder key, licence, issued credential and
session transcript, all made once. Helpers live in edltest.py."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor
from edl.cose import KeySigner
from edl.issue import issue_mdoc
from edl.mdoc import IssuerSigned, SessionTranscript
from edl.model import Licence
from edltest import NOW, City, licence_json, make_city


@pytest.fixture(scope="session")
def city() -> City:
    return make_city()


@pytest.fixture(scope="session")
def other_city() -> City:
    return make_city("Ichikawa", "JP")


@pytest.fixture(scope="session")
def device_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def licence() -> Licence:
    return Licence.from_json(licence_json())


@pytest.fixture(scope="session")
def issued(city: City, device_key: ec.EllipticCurvePrivateKey, licence: Licence) -> IssuerSigned:
    return issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
    )


@pytest.fixture(scope="session")
def transcript() -> SessionTranscript:
    return SessionTranscript.from_bytes(
        cbor.encode(cbor.wrap24(cbor.encode([None, None, ["edl-test", b"nonce-123"]])))
    )


class SoftHsm:
    """One SoftHSM2 token directory for the whole test session, with every token the tests
    use created up front: SoftHSM reads its configuration and finds its tokens once per
    process, when the PKCS#11 library is first initialised."""

    module = "/usr/lib/softhsm/libsofthsm2.so"
    tokens = {"edl-test": "1234", "city-hsm": "4321", "atomic": "2468"}  # label -> user PIN

    def __init__(self, util: str, conf: str) -> None:
        import subprocess

        self.util = util
        self.conf = conf
        for label, pin in self.tokens.items():
            subprocess.run(
                [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "5678"],
                check=True,
                capture_output=True,
            )


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory) -> SoftHsm:
    import os
    import shutil
    from pathlib import Path

    util = shutil.which("softhsm2-util")
    if util is None or not Path(SoftHsm.module).exists():
        pytest.fail("SoftHSM2 is not installed: run bash scripts/setup.sh --test (Debian package softhsm2)")
    d = tmp_path_factory.mktemp("softhsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return SoftHsm(util, str(conf))


@pytest.fixture(autouse=True)
def _isolated_edl_home(tmp_path_factory, monkeypatch):
    """No test reads or writes the real ~/.local/share/edl."""
    monkeypatch.setenv("EDL_HOME", str(tmp_path_factory.mktemp("edl-home")))
