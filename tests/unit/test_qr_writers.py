"""edl.qr's two writers (zxing-cpp, the default, and qrcode): what each symbol keeps (level M,
at most the alphanumeric version, the quiet zone and scale asked for, a 1-bit PNG) and that
both decoders (zxing-cpp and zbar) read exactly the text back from either writer's code.

The writers may choose different masks, and zxing-cpp may split off a numeric segment (never a
larger version): these tests compare what is decoded, not pixels across writers. zbar needs
pyzbar and Debian's libzbar0 (scripts/setup.sh --test): missing, these tests fail.
"""

from __future__ import annotations

import io
import random
from typing import Any

import base45
import numpy as np
import pytest
import qrcode
import qrcode.base
import qrcode.constants
import qrcode.util
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from edl import qr

WRITERS: list[qr.Writer] = ["zxing", "qrcode"]
DECODERS: list[qr.Backend] = ["zxing", "zbar"]

alphanumeric_texts = st.text(alphabet=qr.ALPHANUMERIC, min_size=1, max_size=qr.MAX_TEXT_CHARS)
frame_texts = st.binary(max_size=qr.MAX_PAYLOAD_BYTES).map(lambda b: "DL1:" + base45.b45encode(b).decode())


@pytest.fixture(autouse=True, scope="module")
def _both_decoders() -> None:
    missing = [b for b in DECODERS if b not in qr.available_backends()]
    if missing:
        pytest.fail(f"QR decoder(s) not installed: {missing}; run bash scripts/setup.sh --test")


def read_symbol(png: bytes) -> tuple[int, str, list[str]]:
    """(modules per side without quiet zone, level read back, texts) of a PNG at scale 1."""
    image = Image.open(io.BytesIO(png))
    assert image.mode == "1"
    found = zxingcpp.read_barcodes(np.asarray(image.convert("L")), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    return image.width, found[0].ec_level, [b.text for b in found]


def test_capacity_table_is_qrcodes() -> None:
    """The data codewords per version at level M behind qr_version are the standard's (qrcode's
    Reed-Solomon block table)."""
    for version in range(1, 41):
        blocks = qrcode.base.rs_blocks(version, qrcode.constants.ERROR_CORRECT_M)
        assert qr._DATA_CODEWORDS_M[version - 1] == sum(b.data_count for b in blocks)


def qrcode_best_fit(text: str) -> int:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(qrcode.util.QRData(text.encode(), mode=qrcode.util.MODE_ALPHA_NUM))
    return int(code.best_fit())


def test_qr_version_is_qrcodes_best_fit_at_every_boundary() -> None:
    """qr_version(text) is what qrcode's best_fit says, on both sides of every version's limit."""
    lengths = {1, 2, 3}
    n = 1
    for version in range(1, 41):
        while qr._alphanumeric_version(n + 1) == version:
            n += 1
        lengths |= {n - 1, n, n + 1}  # the last length of this version and the first of the next
    for length in sorted(lengths):
        text = "A" * length
        if length > 4296:  # beyond version 40-L; at M the limit is 3391
            continue
        if qr._alphanumeric_version(length) is None:
            with pytest.raises(ValueError, match="do not fit"):
                qr.qr_version(text)
            continue
        assert qr.qr_version(text) == qrcode_best_fit(text), length
    assert qr.qr_version("A" * 3391) == 40
    with pytest.raises(ValueError, match="do not fit"):
        qr.qr_version("A" * 3392)


@pytest.mark.parametrize("writer", WRITERS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(alphanumeric_texts, frame_texts))
def test_symbol_keeps_level_version_and_mode(writer: qr.Writer, text: str) -> None:
    """Level M read back; the version is at most qr_version (qrcode: exactly), so never byte
    mode (which needs several versions more for a long text); the budget holds."""
    side, level, texts = read_symbol(qr.render_png(text, scale=1, border=4, writer=writer))
    version = (side - 8 - 17) // 4
    assert level == "M"
    assert texts == [text]
    if writer == "qrcode":
        assert version == qr.qr_version(text)
    else:
        assert version <= qr.qr_version(text)
    if len(text) <= qr.MAX_TEXT_CHARS:
        assert version <= qr.MAX_VERSION


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("decoder", DECODERS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(alphanumeric_texts, frame_texts))
def test_both_decoders_read_both_writers(writer: qr.Writer, decoder: qr.Backend, text: str) -> None:
    png = qr.render_png(text, scale=3, writer=writer)
    assert qr.decode_image(png, backend=decoder) == [text]
    assert qr.decode_bytes_image(png, backend=decoder) == [text.encode("ascii")]


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("scale, border", [(1, 0), (1, 4), (3, 2), (8, 4), (5, 7)])
def test_png_is_the_matrix_scaled_with_its_quiet_zone(writer: qr.Writer, scale: int, border: int) -> None:
    """Pixel for pixel: ``scale`` pixels per module, ``border`` light modules all round, 1-bit."""
    text = "DL1:" + base45.b45encode(random.Random(scale * 10 + border).randbytes(150)).decode()
    modules = qr._modules(text, writer)
    image = Image.open(io.BytesIO(qr.render_png(text, scale=scale, border=border, writer=writer)))
    assert image.mode == "1" and image.format == "PNG"
    side = (modules.shape[0] + 2 * border) * scale
    assert image.size == (side, side)
    dark = np.asarray(image.convert("L")) < 128
    expected = np.kron(np.pad(modules, border), np.ones((scale, scale), dtype=bool))
    assert np.array_equal(dark, expected)


@pytest.mark.parametrize("writer", WRITERS)
def test_main_frame_is_version_15_from_either_writer(writer: qr.Writer) -> None:
    text = "DL1:" + base45.b45encode(random.Random(7).randbytes(qr.MAX_PAYLOAD_BYTES)).decode()
    assert qr._modules(text, writer).shape == (77, 77)
    image = Image.open(io.BytesIO(qr.render_png(text, writer=writer)))
    assert image.size == (680, 680)  # (77 + 2·4) · 8


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("decoder", DECODERS)
def test_svg_and_terminal_from_either_writer(writer: qr.Writer, decoder: qr.Backend) -> None:
    text = "DL1:SVG AND TERMINAL 0123456789"
    modules = qr._modules(text, writer)
    svg = qr.render_svg(text, border=4, writer=writer)
    n = modules.shape[0] + 8
    assert f'viewBox="0 0 {n} {n}"' in svg
    terminal = qr.render_terminal(text, invert=True, writer=writer)
    # Decode the terminal drawing: each character is two module rows.
    rows = []
    for line in terminal.splitlines():
        rows.append([c in "\u2580\u2588" for c in line])
        rows.append([c in "\u2584\u2588" for c in line])
    dark = np.array(rows[:n], dtype=bool)
    assert np.array_equal(dark, np.pad(modules, 4))
    image = Image.fromarray(np.where(np.kron(dark, np.ones((4, 4), dtype=bool)), 0, 255).astype(np.uint8))
    assert qr.decode_image(image, backend=decoder) == [text]


def test_writers_listed_and_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    assert qr.available_writers() == ["zxing", "qrcode"]
    assert qr._resolve_writer("auto") == "zxing"
    real = qr.importlib.util.find_spec

    def without_zxing(name: str, *args: Any) -> Any:
        return None if name == "zxingcpp" else real(name, *args)

    monkeypatch.setattr(qr.importlib.util, "find_spec", without_zxing)
    assert qr.available_writers() == ["qrcode"]
    assert qr._resolve_writer("auto") == "qrcode"
    with pytest.raises(ImportError, match="pip install zxing-cpp"):
        qr.render_png("DL1:X", writer="zxing")
    monkeypatch.setattr(qr.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ImportError, match="no QR writer is installed"):
        qr.render_png("DL1:X")


@pytest.mark.parametrize("writer", ["segno", "", "ZXING", None])
def test_unknown_writer(writer: Any) -> None:
    with pytest.raises(ValueError, match="unknown QR writer"):
        qr.render_png("DL1:X", writer=writer)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("text", ["dl1:lower", "DL1:É", "DL1:\n", ""])
def test_every_writer_refuses_what_is_not_alphanumeric(writer: qr.Writer, text: str) -> None:
    with pytest.raises(ValueError):
        qr.render_png(text, writer=writer)


def test_a_zxing_symbol_outside_the_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a zxing-cpp release drew another level (or a larger version), rendering stops."""
    real = zxingcpp.create_barcode

    def low_level(text: str, fmt: Any, **kwargs: Any) -> Any:
        return real(text, fmt, ec_level="L")

    monkeypatch.setattr(zxingcpp, "create_barcode", low_level)
    with pytest.raises(RuntimeError, match="writer='qrcode'"):
        qr.render_png("DL1:" + "A" * 100, writer="zxing")
