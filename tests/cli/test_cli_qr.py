"""`edl issue`, `edl wallet qr` and `edl verify` as a city, a phone and a handheld run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.cli import main
from edl.demo import make_portrait
from edltest import licence_json
from edltest import run_cli as run

T0 = "2026-06-01T08:00:00Z"
T5 = "2026-06-01T08:00:05Z"


def _phone(d: Path, name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (d / f"{name}.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (d / f"{name}.pub.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import base64
    import os

    d = tmp_path_factory.mktemp("qr-cli")
    os.environ["EDL_KEYSTORE_PASSPHRASE"] = "a long passphrase"
    os.environ["EDL_HOME"] = str(d / "home")
    assert main(["trust", "init", "--name", "OPS", "--keystore", str(d / "ops"), "--at", T0]) == 0
    assert (
        main(
            [
                "city",
                "init",
                "cn-qingdao",
                "--name",
                "Qingdao",
                "--country",
                "CN",
                "--keystore",
                str(d / "city"),
                "--at",
                T0,
            ]
        )
        == 0
    )
    assert main(["city", "export", "cn-qingdao", "--keystore", str(d / "city"), "--out", str(d / "x")]) == 0
    assert main(["trust", "add", str(d / "x"), "--keystore", str(d / "ops")]) == 0
    assert (
        main(["trust", "publish", "--keystore", str(d / "ops"), "--out", str(d / "tl.cbor"), "--at", T0]) == 0
    )
    lic = licence_json()
    lic["portrait"] = base64.b64encode(make_portrait(seed=9)).decode()
    (d / "licence.json").write_text(json.dumps(lic))
    for name in ("alice", "bob"):
        _phone(d, name)
        assert (
            main(
                [
                    "issue",
                    "--city",
                    "cn-qingdao",
                    "--keystore",
                    str(d / "city"),
                    "--licence",
                    str(d / "licence.json"),
                    "--device-key",
                    str(d / f"{name}.pub.pem"),
                    "--at",
                    T0,
                    "--out",
                    str(d / f"{name}-cred"),
                ]
            )
            == 0
        )
    # The licences name the city's status list: the handheld verifies with a bundle holding it.
    status = [
        "status",
        "publish",
        "cn-qingdao",
        "--keystore",
        str(d / "city"),
        "--out",
        str(d / "status.cbor"),
    ]
    assert main([*status, "--at", T0]) == 0
    bundle = ["bundle", "build", "--trust-list", str(d / "tl.cbor"), "--status", str(d / "status.cbor")]
    assert main([*bundle, "--out", str(d / "bundle.cbor")]) == 0
    yield d
    os.environ.pop("EDL_KEYSTORE_PASSPHRASE", None)


def test_issue_with_a_portrait_that_is_not_an_image_exits_2(world, capsys, tmp_path):
    # Starts like a JPEG (FF D8) but is not one: refused as the licence is read, one line, exit 2
    # (it used to pass and make issuing raise Pillow's UnidentifiedImageError).
    lic = licence_json(portrait=b"\xff\xd8\xff\xe0" + b"not a picture" * 10)
    (tmp_path / "bad.json").write_text(json.dumps(lic))
    argv = ["issue", "--city", "cn-qingdao", "--keystore", str(world / "city"), "--licence"]
    argv += [str(tmp_path / "bad.json"), "--device-key", str(world / "alice.pub.pem"), "--out"]
    code, _, err = run(capsys, *argv, str(tmp_path / "out"), "--at", T0)
    assert code == 2 and err.count("\n") == 1 and "portrait: not a JPEG" in err


def test_issue_writes_fixed_file_names(world):
    names = sorted(p.name for p in (world / "alice-cred").iterdir())
    assert names == [
        "age-check.cbor",
        "credential.json",
        "mdoc.cbor",
        "portrait-thumbnail.jpg",
        "rental.cbor",
        "roadside.cbor",
    ]


def _qr(capsys, world, who: str, out: str, *extra: str) -> list[Path]:
    code, _, err = run(
        capsys,
        "wallet",
        "qr",
        str(world / f"{who}-cred"),
        "--device-key",
        str(world / f"{who}.key.pem"),
        "--at",
        T0,
        "--out",
        str(world / out),
        *extra,
    )
    assert code == 0, err
    return sorted((world / out).glob("*.png"))


def _verify(capsys, world, *inputs, extra=()):
    code, out, err = run(
        capsys,
        "verify",
        *map(str, inputs),
        "--bundle",
        str(world / "bundle.cbor"),
        "--trust-root",
        str(world / "ops" / "trust" / "roots" / "v1.root.cbor"),
        "--at",
        T5,
        "--json",
        *extra,
    )
    return code, (json.loads(out) if out.strip() else None), err


def test_wallet_frames_sort_main_first_and_verify_green(world, capsys):
    pngs = _qr(capsys, world, "alice", "alice-frames")
    assert pngs[0].name == "00-main.png" and len(pngs) >= 2
    assert all(p.with_suffix(".txt").read_text().startswith("DL1:") for p in pngs)
    code, res, err = _verify(capsys, world, *reversed(pngs))
    assert code == 0, (err, res)
    assert "portrait" in res["documents"][0]["elements"]["org.iso.18013.5.1"]


def test_text_payloads_and_zbar_backend(world, capsys):
    pngs = _qr(capsys, world, "alice", "alice-frames-2")
    texts = [p.with_suffix(".txt").read_text().strip() for p in pngs]
    code, _, err = _verify(capsys, world, *texts)
    assert code == 0, err
    code, _, err = _verify(capsys, world, *pngs, extra=("--qr-backend", "zbar"))
    assert code == 0, err


@pytest.mark.parametrize("writer", ["zxing", "qrcode"])
def test_either_qr_writer_draws_frames_both_decoders_read(world, capsys, writer):
    pngs = _qr(capsys, world, "alice", f"alice-frames-{writer}", "--qr-writer", writer)
    for backend in ("zxing", "zbar"):
        code, res, err = _verify(capsys, world, *pngs, extra=("--qr-backend", backend))
        assert code == 0 and res["verdict"] == "green", (writer, backend, err)


def test_main_frame_alone_is_amber(world, capsys):
    pngs = _qr(capsys, world, "alice", "alice-frames-3")
    code, res, _ = _verify(capsys, world, pngs[0])
    assert code == 3 and res["verdict"] == "amber"
    assert next(c for c in res["checks"] if c["name"] == "portrait")["code"] == "portrait_missing"


def test_two_phones_in_one_carousel_exit_2(world, capsys):
    a = _qr(capsys, world, "alice", "mix-a")
    b = _qr(capsys, world, "bob", "mix-b")
    code, _, err = _verify(capsys, world, a[0], b[0])
    assert code == 2 and "more than one licence" in err and "one phone at a time" in err
    # A portrait frame of the other phone is ignored (the verdict is judged, not refused).
    code, res, err = _verify(capsys, world, *a, b[1])
    assert code == 0, err
    assert "1 portrait frame(s) of another licence ignored" in res["checks"][0]["message"]


def test_challenge_and_profile(world, capsys):
    pngs = _qr(capsys, world, "alice", "age", "--profile", "age-check", "--challenge", "K7Q2")
    code, res, _ = _verify(capsys, world, *pngs, extra=("--challenge", "K7Q2"))
    assert code == 0 and set(res["documents"][0]["elements"]["org.iso.18013.5.1"]) == {
        "age_over_18",
        "portrait",
    }
    code, res, _ = _verify(capsys, world, *pngs, extra=("--challenge", "ZZZZ"))
    assert code == 1


def test_stale_frames_are_red(world, capsys):
    pngs = _qr(capsys, world, "alice", "stale")
    root = world / "ops" / "trust" / "roots" / "v1.root.cbor"
    argv = ["verify", *map(str, pngs), "--trust-list", str(world / "tl.cbor"), "--trust-root", str(root)]
    code, out, _ = run(capsys, *argv, "--at", "2026-06-01T08:05:00Z")
    assert code == 1 and "QR expired: ask the holder to refresh" in out
    # said once: the check's message gives the age, the advice says what to do
    assert out.count("QR expired") == 1 and "made 300 s ago, and a QR is good for 90 s." in out


def test_frame_from_the_future_advises_checking_clocks(world, capsys):
    pngs = _qr(capsys, world, "alice", "future")
    root = world / "ops" / "trust" / "roots" / "v1.root.cbor"
    argv = ["verify", *map(str, pngs), "--trust-list", str(world / "tl.cbor"), "--trust-root", str(root)]
    code, out, _ = run(capsys, *argv, "--at", "2026-06-01T07:55:00Z")
    assert code == 1 and "300 s ahead of this device's clock. Check the time" in out
    assert "QR expired" not in out


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n" + b"not a picture", b"\xff\xd8\xff\xe0" + b"\0" * 40],
    ids=["png", "jpeg"],
)
def test_damaged_image_says_not_an_image(content, world, capsys, tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(content)
    code, res, err = _verify(capsys, world, bad)
    assert code == 1 and res is None and err.count("\n") == 1
    assert f"{bad}: not an image" in err and " at 0x" not in err and "BytesIO" not in err


@pytest.mark.parametrize("content", [b"hello\n", b"", b"  \n"], ids=["text", "empty", "blank"])
def test_text_file_is_neither_a_credential_nor_an_image(content, world, capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    code, res, err = _verify(capsys, world, notes)
    assert code == 1 and res is None and err.count("\n") == 1
    assert "neither a credential nor an image" in err and err.count("credential") == 1


def test_unreadable_image_exits_2(world, capsys, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    code, _, err = _verify(capsys, world, blank)
    assert code == 2 and "no QR code" in err
