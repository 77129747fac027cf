"""edl.qr: drawing in alphanumeric mode at level M, the version-15 budget, reading with both
backends (zxing-cpp and zbar), binary safety, and what is refused.

The zbar tests need pyzbar and Debian's libzbar0 (scripts/setup.sh --test installs both); they
fail, not skip, when those are missing, so CI cannot pass without them.
"""

from __future__ import annotations

import io
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import base45
import numpy as np
import pytest
import qrcode
import qrcode.util
from PIL import Image, ImageFilter

from edl import qr
from edl.errors import MalformedError

ZBAR_HINT = (
    "the zbar backend needs pyzbar (pip install pyzbar) and libzbar0 (apt-get install libzbar0); "
    "run bash scripts/setup.sh --test"
)
BACKENDS: list[qr.Backend] = ["zxing", "zbar"]


def payload_text(n_bytes: int, seed: int = 1) -> str:
    """A realistic frame: the versioned prefix + base45 of ``n_bytes`` random bytes."""
    return "DL1:" + str(base45.b45encode(random.Random(seed).randbytes(n_bytes)).decode("ascii"))


@pytest.fixture(scope="module")
def main_text() -> str:
    return payload_text(qr.MAX_PAYLOAD_BYTES)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> qr.Backend:
    name: qr.Backend = request.param
    if name not in qr.available_backends():
        pytest.fail(f"QR backend {name!r} is not installed: {ZBAR_HINT if name == 'zbar' else ''}")
    return name


def binary_qr_png(data: bytes) -> bytes:
    """A byte-mode QR code holding ``data`` (edl.qr itself only draws alphanumeric text)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=4)
    code.add_data(qrcode.util.QRData(data, mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()


def modules_of_png(png: bytes) -> int:
    """Side of the symbol in modules, from a PNG drawn at scale 1 with no quiet zone."""
    image = Image.open(io.BytesIO(png))
    assert image.width == image.height
    return image.width


# --- budget and mode --------------------------------------------------------------------


def test_main_frame_is_600_characters_and_fits_version_15(main_text: str) -> None:
    assert len(main_text) == 4 + 596 == qr.MAX_TEXT_CHARS
    assert qr.qr_version(main_text) == qr.MAX_VERSION == 15
    # One byte more is one version more: the budget is exact.
    assert qr.qr_version(payload_text(qr.MAX_PAYLOAD_BYTES + 1)) == 16


def test_fits_budget() -> None:
    assert qr.fits_budget(0)
    assert qr.fits_budget(397)
    assert not qr.fits_budget(398)
    with pytest.raises(ValueError):
        qr.fits_budget(-1)
    with pytest.raises(TypeError):
        qr.fits_budget(True)
    with pytest.raises(TypeError):
        qr.fits_budget(397.0)  # type: ignore[arg-type]


def test_rendered_code_is_alphanumeric_mode(main_text: str) -> None:
    """The drawn symbol is version 15 (77 modules); in byte mode 600 characters need version 20."""
    assert modules_of_png(qr.render_png(main_text, scale=1, border=0)) == 17 + 4 * 15
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(qrcode.util.QRData(main_text.lower().encode(), mode=qrcode.util.MODE_8BIT_BYTE))
    assert code.best_fit() > 15  # the same length of lowercase text would not fit


def test_small_text_small_version() -> None:
    assert qr.qr_version("DL1:") == 1
    assert modules_of_png(qr.render_png("DL1:", scale=1, border=0)) == 21


def test_too_long_for_any_version() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        qr.qr_version("A" * 5000)


@pytest.mark.parametrize(
    "text",
    ["dl1:abc", "DL1:é", "DL1:#", "DL1:\n", "DL1:_", ""],
    ids=["lowercase", "accent", "hash", "newline", "underscore", "empty"],
)
@pytest.mark.parametrize(
    "render", [qr.render_png, qr.render_svg, qr.render_terminal, qr.qr_version], ids=lambda f: f.__name__
)
def test_refuses_text_outside_alphanumeric_set(render: Callable[[str], object], text: str) -> None:
    with pytest.raises(ValueError):
        render(text)


def test_refuses_non_str() -> None:
    with pytest.raises(TypeError):
        qr.render_png(b"DL1:ABC")  # type: ignore[arg-type]


def test_alphanumeric_set_is_base45_alphabet() -> None:
    assert qr.is_alphanumeric(qr.ALPHANUMERIC)
    assert set(base45.b45encode(bytes(range(256))).decode()) <= set(qr.ALPHANUMERIC)
    assert len(qr.ALPHANUMERIC) == 45


# --- PNG ----------------------------------------------------------------------------------


def test_png_round_trip(backend: qr.Backend, main_text: str) -> None:
    png = qr.render_png(main_text)
    assert png.startswith(b"\x89PNG")
    assert qr.decode_image(png, backend=backend) == [main_text]
    assert qr.decode_bytes_image(png, backend=backend) == [main_text.encode("ascii")]


@pytest.mark.parametrize("scale,border", [(1, 0), (3, 4), (8, 4), (4, 2)])
def test_png_size(scale: int, border: int) -> None:
    image = Image.open(io.BytesIO(qr.render_png("DL1:ABC", scale=scale, border=border)))
    assert image.size == ((21 + 2 * border) * scale,) * 2
    assert image.mode == "1"


@pytest.mark.parametrize("kwargs", [{"scale": 0}, {"scale": -2}, {"border": -1}, {"scale": 2.5}])
def test_png_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        qr.render_png("DL1:ABC", **kwargs)


def test_png_deterministic(main_text: str) -> None:
    assert qr.render_png(main_text) == qr.render_png(main_text)


# --- SVG and terminal -----------------------------------------------------------------------


def svg_to_image(svg: str) -> Image.Image:
    """Rasterise our SVG (a white rect and one path of 1-module-high runs) at 4 px per module."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    _, _, w, h = (int(v) for v in root.attrib["viewBox"].split())
    (path,) = root.iter(f"{ns}path")
    image = Image.new("L", (w, h), 255)
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path.attrib["d"]):
        for dx in range(int(run)):
            image.putpixel((int(x) + dx, int(y)), 0)
    assert re.fullmatch(r"(M\d+ \d+h(\d+)v1h-\2z)+", path.attrib["d"])
    return image.resize((w * 4, h * 4), Image.Resampling.NEAREST)


def test_svg_is_xml_with_the_right_modules(main_text: str) -> None:
    svg = qr.render_svg(main_text)
    image = svg_to_image(svg)
    assert image.size == ((77 + 8) * 4,) * 2  # version 15 + quiet zone
    # Same modules as the PNG, pixel for pixel.
    png = Image.open(io.BytesIO(qr.render_png(main_text, scale=4))).convert("L")
    assert image.tobytes() == png.tobytes()


def test_svg_round_trip(backend: qr.Backend, main_text: str) -> None:
    assert qr.decode_image(svg_to_image(qr.render_svg(main_text)), backend=backend) == [main_text]


def terminal_to_image(lines: str, invert: bool) -> Image.Image:
    """Read half blocks back as module rows; dark = the cell not drawn (or drawn, if inverted)."""
    halves = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
    rows: list[list[int]] = []
    for line in lines.splitlines():
        cells = [halves[c] for c in line]
        rows.append([top for top, _ in cells])
        rows.append([bottom for _, bottom in cells])
    drawn = np.array(rows, dtype=np.uint8)
    light = (1 - drawn) if invert else drawn
    return Image.fromarray(light * 255).resize(
        (drawn.shape[1] * 4, drawn.shape[0] * 4), Image.Resampling.NEAREST
    )


@pytest.mark.parametrize("invert", [False, True])
def test_terminal_round_trip(backend: qr.Backend, main_text: str, invert: bool) -> None:
    out = qr.render_terminal(main_text, invert=invert)
    lines = out.splitlines()
    assert out.endswith("\n") and len(lines) == (85 + 1) // 2
    assert all(len(line) == 85 for line in lines)
    assert set(out) <= {" ", "\u2580", "\u2584", "\u2588", "\n"}
    image = terminal_to_image(out, invert)
    if not invert:
        # The row below the last one is the terminal's background (dark): crop it off.
        image = image.crop((0, 0, image.width, image.width))
    assert qr.decode_image(image, backend=backend) == [main_text]


# --- reading: inputs, backends, hostile bytes -------------------------------------------------


def as_inputs(png: bytes) -> dict[str, Any]:
    image = Image.open(io.BytesIO(png))
    jpeg = io.BytesIO()
    image.convert("L").save(jpeg, format="JPEG", quality=90)
    rgb = np.asarray(image.convert("RGB"))
    return {
        "png": png,
        "jpeg": jpeg.getvalue(),
        "bytearray": bytearray(png),
        "pil-1": image,
        "pil-rgb": image.convert("RGB"),
        "pil-p": image.convert("P"),
        "np-gray": np.asarray(image.convert("L")),
        "np-rgb": rgb,
        "np-rgba": np.asarray(image.convert("RGBA")),
        "np-gray-1ch": np.asarray(image.convert("L"))[:, :, None],
        "np-rgb-view": rgb[::1, ::1, :],
        "np-non-contiguous": np.asarray(image.convert("L")).T.copy().T,
    }


def test_every_input_kind(backend: qr.Backend, main_text: str) -> None:
    for kind, value in as_inputs(qr.render_png(main_text, scale=4)).items():
        assert qr.decode_image(value, backend=backend) == [main_text], kind


def test_colour_frames_are_rgb(backend: qr.Backend) -> None:
    """A red-on-blue code: luminance decides dark and light, so channel order matters."""
    text = "DL1:COLOUR"
    gray = np.asarray(Image.open(io.BytesIO(qr.render_png(text, scale=4))).convert("L"))
    frame = np.zeros(gray.shape + (3,), dtype=np.uint8)
    frame[gray == 0] = (0, 0, 255)  # dark modules: pure blue (luma 29)
    frame[gray == 255] = (255, 255, 0)  # light modules: yellow (luma 226)
    assert qr.decode_image(frame, backend=backend) == [text]


def test_camera_like_frame(backend: qr.Backend, main_text: str) -> None:
    """Rotated, blurred and dimmed inside a 1280×720 grey frame."""
    code = Image.open(io.BytesIO(qr.render_png(main_text, scale=5))).convert("L")
    code = code.point(lambda v: 60 + v * 140 // 255).rotate(17, expand=True, fillcolor=200)
    frame = Image.new("L", (1280, 720), 110)
    frame.paste(code, (300, 10))
    frame = frame.filter(ImageFilter.GaussianBlur(1.2))
    noisy = np.asarray(frame, dtype=np.int16) + np.random.default_rng(3).normal(0, 4, (720, 1280))
    assert qr.decode_image(np.clip(noisy, 0, 255).astype(np.uint8), backend=backend) == [main_text]


def test_no_code_is_an_empty_list(backend: qr.Backend) -> None:
    assert qr.decode_image(np.full((480, 640), 128, dtype=np.uint8), backend=backend) == []
    assert qr.decode_bytes_image(Image.new("L", (64, 64), 255), backend=backend) == []


def test_two_codes_in_one_frame(backend: qr.Backend) -> None:
    a = Image.open(io.BytesIO(qr.render_png("DL1:FIRST", scale=6)))
    b = Image.open(io.BytesIO(qr.render_png("DL1:SECOND", scale=6)))
    frame = Image.new("L", (a.width + b.width + 40, max(a.height, b.height) + 40), 255)
    frame.paste(a, (10, 20))
    frame.paste(b, (a.width + 30, 20))
    assert sorted(qr.decode_image(frame, backend=backend)) == ["DL1:FIRST", "DL1:SECOND"]


@pytest.mark.parametrize(
    "data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"\xff\xd8\xff\xe0" + b"\x01" * 100]
)
def test_unreadable_bytes_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedError):
        qr.decode_image(data)


def test_truncated_png_is_malformed(main_text: str) -> None:
    png = qr.render_png(main_text)
    with pytest.raises(MalformedError):
        qr.decode_image(png[: len(png) // 2])


def test_oversize_image_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch, main_text: str) -> None:
    monkeypatch.setattr(qr, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(MalformedError, match="larger than"):
        qr.decode_image(qr.render_png(main_text))


@pytest.mark.parametrize(
    "value,error",
    [
        ("DL1:ABC", TypeError),  # a str is not an image
        (np.zeros((10, 10), dtype=np.float32), TypeError),
        (np.zeros((10, 10, 2), dtype=np.uint8), ValueError),
        (np.zeros((0, 10), dtype=np.uint8), ValueError),
        (np.zeros(10, dtype=np.uint8), ValueError),
    ],
)
def test_caller_mistakes(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        qr.decode_image(value)


# --- backend choice -------------------------------------------------------------------------


def test_auto_picks_zxing(monkeypatch: pytest.MonkeyPatch) -> None:
    import zxingcpp

    calls: list[int] = []
    real = zxingcpp.read_barcodes

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(zxingcpp, "read_barcodes", spy)
    assert qr.decode_image(qr.render_png("DL1:AUTO")) == ["DL1:AUTO"]
    assert qr.decode_bytes_image(qr.render_png("DL1:AUTO"), backend="auto") == [b"DL1:AUTO"]
    assert len(calls) == 2
    assert qr.available_backends()[0] == "zxing"


def test_auto_falls_back_to_zbar(monkeypatch: pytest.MonkeyPatch) -> None:
    if "zbar" not in qr.available_backends():
        pytest.fail(ZBAR_HINT)
    monkeypatch.setitem(sys.modules, "zxingcpp", None)  # as if zxing-cpp were not installed
    assert qr.available_backends() == ["zbar"]
    assert qr.decode_image(qr.render_png("DL1:FALLBACK")) == ["DL1:FALLBACK"]
    with pytest.raises(ImportError, match="pip install zxing-cpp"):
        qr.decode_image(qr.render_png("DL1:X"), backend="zxing")


def test_no_backend_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("zxingcpp", "pyzbar", "pyzbar.wrapper"):
        monkeypatch.setitem(sys.modules, name, None)
    assert qr.available_backends() == []
    with pytest.raises(ImportError, match="libzbar0"):
        qr.decode_image(qr.render_png("DL1:X"))
    with pytest.raises(ImportError, match="libzbar0"):
        qr.decode_bytes_image(qr.render_png("DL1:X"), backend="zbar")


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown QR backend"):
        qr.decode_image(qr.render_png("DL1:X"), backend="opencv")  # type: ignore[arg-type]


# --- binary safety ------------------------------------------------------------------------------


def test_binary_content_round_trips_exactly(backend: qr.Backend) -> None:
    """All 256 byte values, in a byte-mode code: both backends give back the exact bytes."""
    data = bytes(range(256))
    assert qr.decode_bytes_image(binary_qr_png(data), backend=backend) == [data]
    shuffled = random.Random(7).randbytes(300)
    assert qr.decode_bytes_image(binary_qr_png(shuffled), backend=backend) == [shuffled]


def test_pyzbar_alone_corrupts_binary_content() -> None:
    """Negative control: pyzbar.decode (zbar's binary mode off) re-encodes byte segments, which is
    why edl drives libzbar itself with ZBAR_CFG_BINARY."""
    if "zbar" not in qr.available_backends():
        pytest.fail(ZBAR_HINT)
    from pyzbar import pyzbar

    data = bytes(range(256))
    (found,) = pyzbar.decode(Image.open(io.BytesIO(binary_qr_png(data))))
    assert found.data != data
