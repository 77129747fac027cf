"""QR codes: payload text <-> QR image, and the capacity budget of one frame.

This module owns the picture, not the payload: it draws a text that is already framed
(``DL1:`` + base45, see ``specs/presentation-qr.md``) as a QR code and reads the texts back
out of an image or a camera frame. It does not build, parse or verify payloads.

* Drawing: error correction level M, **alphanumeric mode**. base45's alphabet is exactly QR's
  alphanumeric set (ISO/IEC 18004 §7.4.4: ``0-9 A-Z space $ % * + - . / :``), which packs 2
  characters in 11 bits; in byte mode the same text would cost 3–8 more versions. Text outside
  that set is refused with ``ValueError``. :func:`render_png`, :func:`render_svg`,
  :func:`render_terminal`; :func:`qr_version` gives the smallest version that fits. Two
  writers: ``"zxing"`` (zxing-cpp, the default: a version-15 frame to PNG in about 2 ms, 10×
  faster than qrcode) and ``"qrcode"`` (pure Python, one alphanumeric segment); ``writer="auto"``
  takes zxing-cpp when it is installed. Their symbols may differ in mask (zxing-cpp may also
  split off a numeric segment: never a larger version); every decoder reads the same text.
* Budget: the main frame must fit version 15 at M, which holds 600 alphanumeric characters:
  the 4-character prefix plus base45 of at most :data:`MAX_PAYLOAD_BYTES` (397) bytes, i.e.
  596 characters. :func:`fits_budget` checks a payload size against it.
* Reading: :func:`decode_image` (texts) and :func:`decode_bytes_image` (exact bytes) take PNG
  or JPEG bytes, a PIL image, or a numpy array (grayscale ``(h, w)`` or RGB/RGBA
  ``(h, w, 3|4)`` uint8, e.g. a camera frame). Two backends: ``"zxing"`` (zxing-cpp, the
  default: 5–15× faster and far more robust on camera frames) and ``"zbar"`` (pyzbar, with
  zbar's binary mode switched on so that byte-mode content comes back exactly, which pyzbar
  alone does not do). ``backend="auto"`` takes zxing-cpp when it is installed, else zbar.

Image bytes are untrusted: bytes that are not a readable image, or an image larger than
:data:`MAX_IMAGE_PIXELS`, raise :class:`~edl.errors.MalformedError`. A frame with no QR code
gives an empty list, not an error.

>>> text = "DL1:" + "A" * 596
>>> qr_version(text)
15
>>> decode_image(render_png(text)) == [text]
True
"""

from __future__ import annotations

import importlib.util
import io
import re
import struct
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from PIL import Image, ImageFilter, UnidentifiedImageError

from .errors import MalformedError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "ALPHANUMERIC",
    "BACKENDS",
    "ERROR_CORRECTION",
    "MAX_IMAGE_PIXELS",
    "MAX_PAYLOAD_BYTES",
    "MAX_TEXT_CHARS",
    "MAX_VERSION",
    "Backend",
    "ImageInput",
    "Writer",
    "WRITERS",
    "available_backends",
    "available_writers",
    "decode_bytes_image",
    "decode_image",
    "fits_budget",
    "is_alphanumeric",
    "qr_version",
    "render_png",
    "render_svg",
    "render_terminal",
]

ALPHANUMERIC: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
"""QR's alphanumeric character set (ISO/IEC 18004 Table 5), which is also base45's alphabet."""

ERROR_CORRECTION: Final = "M"
"""Error correction level of every code we draw (recovers ~15% of codewords)."""

MAX_VERSION: Final = 15
"""Largest QR version a frame may need: 77×77 modules, still read at 640×480 (FIELD-NOTES)."""

MAX_TEXT_CHARS: Final = 600
"""Alphanumeric characters that fit :data:`MAX_VERSION` at level M (415 data codewords)."""

MAX_PAYLOAD_BYTES: Final = 397
"""Largest payload (bytes before base45) of one frame: ``4 + len(b45(397 bytes)) == 600``."""

MAX_IMAGE_PIXELS: Final = 40_000_000
"""Largest image (width × height) the decoders accept from bytes: a 12 MP photo fits."""

BACKENDS: Final = ("zxing", "zbar")
"""Decoder backends, in the order ``"auto"`` tries them."""

Backend: TypeAlias = Literal["auto", "zxing", "zbar"]

WRITERS: Final = ("zxing", "qrcode")
"""QR writers (drawing), in the order ``"auto"`` tries them."""

Writer: TypeAlias = Literal["auto", "zxing", "qrcode"]
_WRITER_MODULE: Final = {"zxing": "zxingcpp", "qrcode": "qrcode"}

if TYPE_CHECKING:
    ImageInput: TypeAlias = bytes | bytearray | memoryview | Image.Image | npt.NDArray[np.uint8]
else:
    ImageInput = Any

_ALNUM_SET: Final = frozenset(ALPHANUMERIC)
_ZBAR_QRCODE: Final = 64  # zbar_symbol_type_t ZBAR_QRCODE
_ZBAR_NONE: Final = 0  # "all symbologies" in zbar_image_scanner_set_config
_ZBAR_CFG_ENABLE: Final = 0
_ZBAR_CFG_BINARY: Final = 4  # zbar >= 0.23: return QR byte segments untouched (no charset guess)
_ZBAR_Y800: Final = 0x30303859  # fourcc "Y800": 8-bit grayscale
_RETRY_MAX_PIXELS: Final = 1920 * 1080  # zxing's retries on enlarged frames: camera frames up to 1080p
_RETRY_3X_MAX_PIXELS: Final = 640 * 480  # zxing's third retry (3×): small frames only, up to VGA
_INSTALL_HINT: Final = {
    "zxing": "install zxing-cpp (pip install zxing-cpp)",
    "zbar": "install pyzbar (pip install pyzbar) and the zbar library (apt-get install libzbar0)",
    "qrcode": "install qrcode (pip install qrcode)",
}


# --- drawing -------------------------------------------------------------------------------


def is_alphanumeric(text: str) -> bool:
    """True if every character of ``text`` is in QR's alphanumeric set (:data:`ALPHANUMERIC`)."""
    return _ALNUM_SET.issuperset(text)


def _check_text(text: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"QR text must be str, not {type(text).__name__}")
    if not text:
        raise ValueError("QR text is empty")
    if not is_alphanumeric(text):
        bad = next(c for c in text if c not in _ALNUM_SET)
        raise ValueError(
            f"QR text must use only QR alphanumeric characters (base45's alphabet "
            f"{ALPHANUMERIC!r}); found {bad!r} at position {text.index(bad)}"
        )
    return text.encode("ascii")


# Data codewords of versions 1-40 at level M (ISO/IEC 18004 Table 7; tests/unit/test_qr.py
# checks them against qrcode's Reed-Solomon block table).
_DATA_CODEWORDS_M: Final = (
    16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669,
    714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914,
    1992, 2102, 2216, 2334,
)  # fmt: skip


def _alphanumeric_version(n: int) -> int | None:
    """Smallest version holding ``n`` characters as one alphanumeric segment at level M."""
    payload = 11 * (n // 2) + 6 * (n % 2)
    for version, codewords in enumerate(_DATA_CODEWORDS_M, start=1):
        # mode indicator (4 bits) + character count (9, 11 or 13 bits, §7.4.1 Table 3) + data
        count_bits = 9 if version <= 9 else 11 if version <= 26 else 13
        if 4 + count_bits + payload <= 8 * codewords:
            return version
    return None


def qr_version(text: str) -> int:
    """The smallest QR version (1–40) that holds ``text`` in alphanumeric mode at level M.

    Every writer draws ``text`` at this version or a smaller one (a writer that splits off a
    run of digits into a numeric segment can save bits). Raises ``ValueError`` if ``text`` is
    not alphanumeric-safe or does not fit version 40.
    """
    _check_text(text)
    version = _alphanumeric_version(len(text))
    if version is None:
        raise ValueError(f"{len(text)} characters do not fit any QR version at level M")
    return version


def fits_budget(n_bytes: int) -> bool:
    """True if a payload of ``n_bytes`` (before base45 and the prefix) fits one frame.

    One frame is QR version :data:`MAX_VERSION` at level M: ``n_bytes <= MAX_PAYLOAD_BYTES``.
    The same budget applies to each portrait chunk.
    """
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int):
        raise TypeError("n_bytes must be an int")
    if n_bytes < 0:
        raise ValueError("n_bytes must not be negative")
    return n_bytes <= MAX_PAYLOAD_BYTES


def available_writers() -> list[str]:
    """The QR writers that can run here, in the order ``writer="auto"`` tries them."""
    return [name for name in WRITERS if importlib.util.find_spec(_WRITER_MODULE[name]) is not None]


def _resolve_writer(writer: str) -> str:
    if writer == "auto":
        found = available_writers()
        if not found:
            raise ImportError(
                f"no QR writer is installed: {_INSTALL_HINT['zxing']}, or {_INSTALL_HINT['qrcode']}"
            )
        return found[0]
    if writer not in WRITERS:
        raise ValueError(f"unknown QR writer {writer!r}; choose one of 'auto', 'zxing', 'qrcode'")
    if importlib.util.find_spec(_WRITER_MODULE[writer]) is None:
        raise ImportError(f"QR writer {writer!r} is not available: {_INSTALL_HINT[writer]}")
    return writer


def _modules_zxing(text: str, version: int) -> npt.NDArray[np.bool_]:
    """zxing-cpp's writer (libzint's QR encoder inside): it picks the segment modes itself, and
    for a text of QR alphanumeric characters never needs more bits than one alphanumeric
    segment, so never a larger version; it may choose another mask than qrcode."""
    import numpy as np

    zxingcpp = _load("zxing")
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_CORRECTION)
    light = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    side = light.shape[0]
    # The symbol must keep what the budget assumes; a zxing-cpp that changed its writer (a
    # byte-mode segment, another level) would be caught here rather than shown to a camera.
    if barcode.ec_level != ERROR_CORRECTION or light.shape != (side, side) or (side - 17) // 4 > version:
        raise RuntimeError(
            f"zxing-cpp drew a {side}×{light.shape[1]} QR at level {barcode.ec_level} for a text that "
            f"fits version {version} at {ERROR_CORRECTION}: use writer='qrcode'"
        )
    dark: npt.NDArray[np.bool_] = light < 128
    return dark


def _modules_qrcode(text: str, version: int) -> npt.NDArray[np.bool_]:
    """qrcode (pure Python): one alphanumeric segment, level M, at ``version``."""
    import numpy as np
    import qrcode
    import qrcode.util

    data = qrcode.util.QRData(text.encode("ascii"), mode=qrcode.util.MODE_ALPHA_NUM)
    code = qrcode.QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    # A QRData is added as is: qrcode's own optimiser would otherwise be free to split the text.
    code.add_data(data)
    code.make(fit=False)
    return np.array(code.get_matrix(), dtype=bool)


def _modules(text: str, writer: str) -> npt.NDArray[np.bool_]:
    """Dark (True) / light modules of the code for ``text``, no quiet zone."""
    version = qr_version(text)
    if _resolve_writer(writer) == "zxing":
        return _modules_zxing(text, version)
    return _modules_qrcode(text, version)


def _check_border(border: int) -> None:
    if isinstance(border, bool) or not isinstance(border, int) or border < 0:
        raise ValueError("border must be a non-negative int (4 is the quiet zone ISO 18004 asks for)")


def _matrix(text: str, border: int, writer: str) -> npt.NDArray[np.bool_]:
    """Dark (True) / light modules of the code for ``text``, with ``border`` light modules around."""
    import numpy as np

    _check_border(border)
    dark = _modules(text, writer)
    return np.pad(dark, border, constant_values=False)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_1bit(light: npt.NDArray[np.bool_], scale: int) -> bytes:
    """A 1-bit grayscale PNG (RFC 2083) of ``light`` (True = white), each module ``scale`` pixels.

    Written here rather than by Pillow, which filters and compresses a 680×680 bitmap in about
    1.5 ms, as long as zxing-cpp takes to make the code: each module row is one row of packed
    bits (filter None) and ``scale - 1`` rows of filter Up, all zero, which zlib's run-length
    strategy compresses in about 0.2 ms to the size Pillow's default gives."""
    import numpy as np

    rows, side = light.shape[0], light.shape[0] * scale
    packed = np.packbits(np.repeat(light, scale, axis=1), axis=1)
    scanlines = np.zeros((rows, scale, packed.shape[1] + 1), dtype=np.uint8)
    scanlines[:, 0, 1:] = packed
    scanlines[:, 1:, 0] = 2  # filter type Up: the same bits as the row above
    deflate = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = deflate.compress(scanlines.tobytes()) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # bit depth 1, grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def render_png(text: str, *, scale: int = 8, border: int = 4, writer: Writer = "auto") -> bytes:
    """A 1-bit PNG of the QR code for ``text``: ``scale`` pixels per module, ``border`` modules
    of quiet zone (ISO 18004 asks for 4). Version 15 at the default scale is 680×680 pixels.

    ``writer``: ``"auto"`` (zxing-cpp if installed, else qrcode), ``"zxing"`` (about 10× faster)
    or ``"qrcode"``; both draw alphanumeric mode at level M, at most :func:`qr_version`, and
    every decoder reads the same text from either (their masks may differ)."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError("scale must be a positive int (pixels per module)")
    return _png_1bit(~_matrix(text, border, writer), scale)


def render_svg(text: str, *, border: int = 4, writer: Writer = "auto") -> str:
    """An SVG of the QR code for ``text``: one module per user unit (``viewBox`` is the module
    count plus the quiet zone), dark modules as one path of horizontal runs, on a white square.
    It scales to any size; give it a width and height in CSS. ``writer`` as :func:`render_png`."""
    matrix = _matrix(text, border, writer).tolist()
    n = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>\n'
    )


_HALF_BLOCKS: Final = (" ", "\u2580", "\u2584", "\u2588")  # none, upper, lower, full


def render_terminal(text: str, *, border: int = 4, invert: bool = False, writer: Writer = "auto") -> str:
    """The QR code for ``text`` as lines of Unicode half blocks, two module rows per line.

    By default *light* modules (and the quiet zone) are drawn as blocks, which reads right on the
    usual light-on-dark terminal; ``invert=True`` draws the dark modules instead, for a terminal
    with a light background. ``writer`` as :func:`render_png`.
    """
    matrix = _matrix(text, border, writer).tolist()
    n = len(matrix)
    lines = []
    for y in range(0, n, 2):
        top = matrix[y]
        bottom = matrix[y + 1] if y + 1 < n else None
        chars = []
        for x in range(n):
            upper = top[x] == invert
            # Past the last row there is no module: leave it as the terminal's background.
            lower = bottom is not None and bottom[x] == invert
            chars.append(_HALF_BLOCKS[upper | (lower << 1)])
        lines.append("".join(chars))
    return "\n".join(lines) + "\n"


# --- reading -------------------------------------------------------------------------------


def available_backends() -> list[str]:
    """The decoder backends that can run here, in the order ``"auto"`` tries them.

    zbar counts only if both pyzbar and the libzbar shared library load.
    """
    found = []
    for name in BACKENDS:
        try:
            _load(name)
        except ImportError:
            continue
        found.append(name)
    return found


def _load(name: str) -> Any:
    if name == "zxing":
        try:
            import zxingcpp
        except ImportError as e:
            raise ImportError(f"QR backend 'zxing' is not available: {_INSTALL_HINT['zxing']}") from e
        return zxingcpp
    try:
        # pyzbar.wrapper loads libzbar at import time and raises ImportError if it is missing.
        from pyzbar import wrapper
    except ImportError as e:
        raise ImportError(f"QR backend 'zbar' is not available: {_INSTALL_HINT['zbar']} ({e})") from e
    return wrapper


def _resolve(backend: str) -> str:
    if backend == "auto":
        if importlib.util.find_spec("zxingcpp") is not None:
            return "zxing"
        try:
            _load("zbar")
        except ImportError as e:
            raise ImportError(
                f"no QR decoder is installed: {_INSTALL_HINT['zxing']}, or {_INSTALL_HINT['zbar']}"
            ) from e
        return "zbar"
    if backend not in BACKENDS:
        raise ValueError(f"unknown QR backend {backend!r}; choose one of 'auto', 'zxing', 'zbar'")
    return backend


_OBJECT_REPR = re.compile(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>")  # "<_io.BytesIO object at 0x7f...>"


def _open_bytes(data: bytes | bytearray | memoryview) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(bytes(data)))
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise MalformedError(
                f"image of {width}×{height} pixels is larger than the {MAX_IMAGE_PIXELS:,} accepted"
            )
        image.load()
    except MalformedError:
        raise
    except UnidentifiedImageError as e:  # its message names Pillow's file object: not for a person
        raise MalformedError("not an image: neither a PNG nor a JPEG that can be read") from e
    except Exception as e:  # Pillow raises many types on damaged files; all mean "not an image"
        reason = _OBJECT_REPR.sub("", str(e)).strip()[:120] or type(e).__name__
        raise MalformedError(f"not an image: a damaged PNG or JPEG ({reason})") from e
    return image


def _as_image(image: ImageInput) -> Image.Image | npt.NDArray[np.uint8]:
    """PIL image (any mode) or a uint8 numpy array of shape (h, w) or (h, w, 3|4)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return _open_bytes(image)
    if isinstance(image, Image.Image):
        return image
    if hasattr(image, "__array_interface__") or hasattr(image, "__array__"):
        import numpy as np

        array = np.asarray(image)
        if array.dtype != np.uint8:
            raise TypeError(f"image array must be uint8, not {array.dtype}")
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
            raise ValueError(f"image array must be (h, w) or (h, w, 3|4), not {array.shape}")
        if array.shape[0] == 0 or array.shape[1] == 0:
            raise ValueError("image array is empty")
        return np.ascontiguousarray(array)
    raise TypeError(f"image must be PNG/JPEG bytes, a PIL image or a numpy array, not {type(image).__name__}")


def _zxing(image: Image.Image | npt.NDArray[np.uint8], *, text: bool) -> list[Any]:
    """Scan with zxing-cpp, QR only; if nothing is found, again on sharpened, enlarged copies.

    zxing-cpp's detector and sampler miss many codes of 2–3 pixels per module (a version-15
    code at 30–40 % of the frame height, blurred, noisy, low-contrast, tilted): it finds the
    finder patterns but reads too many modules wrong (a checksum error), or finds no code at all.
    Enlarging the frame helps, and sharpening it first helps more. The retries, in order, each
    only if the one before found nothing (:func:`_retry_images`), all from the grey frame
    sharpened once (unsharp mask, radius 1.5 px, 150 %):

    1. the sharpened frame enlarged 1.5× (bilinear): cheap, and reads most of the misses;
    2. the sharpened frame smoothed (Gaussian, σ 0.5 px), enlarged 2× (bilinear): sharpen +
       smooth is a band-pass that keeps the modules and drops the sensor noise, which is what the
       larger, blurrier codes of a 720p frame need;
    3. frames of at most 640×480 only (:data:`_RETRY_3X_MAX_PIXELS`), where modules are the
       smallest (about 2 pixels): the sharpened frame enlarged 3× (bicubic), fewer pixels than
       a 720p frame at 2×. On larger frames it read nothing the first two had not.

    Measured with bench/bench_qr.py, harsh frames, 400 per cell, seeds 2026, 7 and 99, against
    the previous retries (1.5× bilinear then 2× bicubic, not sharpened): 1280×720 98.8 % -> 100 %,
    640×480 97.7 % -> 99.8 %; on five more seeds 1280×720 99.2 % -> 99.95 % (the one miss has a
    corner of the code outside the frame) and 640×480 97.9 % -> 99.4 % (the misses are codes
    of about 2 pixels per module); no misread; mild frames and the first scan unchanged. A
    frame with no code pays for every retry: about 1.5× the time of the previous retries at
    1280×720 and 1080p, 3× at 640×480 (the third retry), still less than a 1280×720 frame; the
    95th percentile of harsh 1280×720 frames goes from about 4× to 6× the median. No retry above
    :data:`_RETRY_MAX_PIXELS`.
    """
    zxingcpp = _load("zxing")
    source: Any = image
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "RGB", "RGBA"):
            source = image.convert("L")
    elif image.ndim == 3:
        # zxing-cpp reads a 3-channel array as BGR; ours are RGB(A) (Pillow, imageio, browsers).
        fmt = zxingcpp.ImageFormat.RGB if image.shape[2] == 3 else zxingcpp.ImageFormat.RGBA
        source = zxingcpp.ImageView(image, image.shape[1], image.shape[0], fmt)
    # try_rotate only matters for 1D symbologies: the QR detector finds any orientation.
    # Only the plain QR code (model 2) that every licence frame is: zxing-cpp 3's "QRCode" also
    # looks for Micro QR and rMQR, and once read a 4-digit "Micro QR" out of a noisy background
    # in place of the real code (bench_qr.py, seed 3, harsh 640×480 frame 395).
    options: dict[str, Any] = {
        "formats": getattr(zxingcpp.BarcodeFormat, "QRCodeModel2", zxingcpp.BarcodeFormat.QRCode),
        "text_mode": zxingcpp.TextMode.Plain,
        "try_rotate": False,
    }
    barcodes = zxingcpp.read_barcodes(source, **options)
    if not barcodes:
        width, height = image.size if isinstance(image, Image.Image) else (image.shape[1], image.shape[0])
        if width * height <= _RETRY_MAX_PIXELS:
            # The copies are already enlarged: zxing's own downscaled passes would only repeat
            # the first scan.
            for enlarged in _retry_images(_gray_image(image)):
                barcodes = zxingcpp.read_barcodes(enlarged, try_invert=False, try_downscale=False, **options)
                if barcodes:
                    break
    return [b.text if text else b.bytes for b in barcodes]


def _retry_images(gray: Image.Image) -> Iterator[Image.Image]:
    """The images of :func:`_zxing`'s retries, in order, each made only when it is asked for."""
    sharp = gray.filter(ImageFilter.UnsharpMask(radius=1.5, percent=150, threshold=0))
    yield _enlarge(sharp, 3, 2, Image.Resampling.BILINEAR)
    yield _enlarge(sharp.filter(ImageFilter.GaussianBlur(0.5)), 2, 1, Image.Resampling.BILINEAR)
    if gray.width * gray.height <= _RETRY_3X_MAX_PIXELS:
        yield _enlarge(sharp, 3, 1, Image.Resampling.BICUBIC)


def _enlarge(image: Image.Image, num: int, den: int, resample: Image.Resampling) -> Image.Image:
    return image.resize((image.width * num // den, image.height * num // den), resample)


def _gray_image(image: Image.Image | npt.NDArray[np.uint8]) -> Image.Image:
    if isinstance(image, Image.Image):
        return image if image.mode == "L" else image.convert("L")
    if image.ndim == 3:
        return Image.fromarray(image, "RGB" if image.shape[2] == 3 else "RGBA").convert("L")
    return Image.fromarray(image, "L")


def _gray(image: Image.Image | npt.NDArray[np.uint8]) -> tuple[bytes, int, int]:
    if not isinstance(image, Image.Image) and image.ndim == 2:
        return image.tobytes(), image.shape[1], image.shape[0]
    gray = _gray_image(image)
    return gray.tobytes(), gray.width, gray.height


def _zbar(image: Image.Image | npt.NDArray[np.uint8], *, binary: bool) -> list[bytes]:
    """Scan with libzbar through pyzbar's ctypes bindings, QR only.

    ``pyzbar.decode`` cannot set ``ZBAR_CFG_BINARY``; without it zbar guesses a charset for byte
    segments and re-encodes them as UTF-8, which corrupts binary content (FIELD-NOTES: 0/223
    exact). So the scanner is driven here with the same bindings.
    """
    import ctypes

    zbar = _load("zbar")
    pixels, width, height = _gray(image)
    scanner = zbar.zbar_image_scanner_create()
    if not scanner:
        raise MemoryError("zbar could not create an image scanner")
    try:
        zbar.zbar_image_scanner_set_config(scanner, _ZBAR_NONE, _ZBAR_CFG_ENABLE, 0)
        zbar.zbar_image_scanner_set_config(scanner, _ZBAR_QRCODE, _ZBAR_CFG_ENABLE, 1)
        if binary and zbar.zbar_image_scanner_set_config(scanner, _ZBAR_QRCODE, _ZBAR_CFG_BINARY, 1):
            raise ImportError(
                f"this libzbar has no binary mode (zbar >= 0.23 needed): {_INSTALL_HINT['zbar']}"
            )
        zimage = zbar.zbar_image_create()
        if not zimage:
            raise MemoryError("zbar could not create an image")
        try:
            zbar.zbar_image_set_format(zimage, _ZBAR_Y800)
            zbar.zbar_image_set_size(zimage, width, height)
            buffer = ctypes.c_char_p(pixels)  # zbar reads the bytes in place: keep them referenced
            zbar.zbar_image_set_data(zimage, ctypes.cast(buffer, ctypes.c_void_p), len(pixels), None)
            if zbar.zbar_scan_image(scanner, zimage) < 0:
                raise RuntimeError("zbar refused the image")
            found = []
            symbol = zbar.zbar_image_first_symbol(zimage)
            while symbol:
                if symbol.contents.type == _ZBAR_QRCODE:
                    found.append(
                        ctypes.string_at(
                            zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol)
                        )
                    )
                symbol = zbar.zbar_symbol_next(symbol)
            return found
        finally:
            zbar.zbar_image_destroy(zimage)
    finally:
        zbar.zbar_image_scanner_destroy(scanner)


def decode_image(image: ImageInput, *, backend: Backend = "auto") -> list[str]:
    """The texts of all QR codes found in ``image`` (an empty list if there is none).

    ``image``: PNG/JPEG bytes (untrusted: :class:`~edl.errors.MalformedError` if unreadable or
    larger than :data:`MAX_IMAGE_PIXELS`), a PIL image, or a uint8 numpy array, grayscale
    ``(h, w)`` or RGB/RGBA ``(h, w, 3|4)``. ``backend``: ``"auto"`` (zxing-cpp if installed, else
    zbar), ``"zxing"`` or ``"zbar"``; an unknown name raises ``ValueError``, a backend that is not
    installed ``ImportError`` with what to install.
    """
    name = _resolve(backend)
    source = _as_image(image)
    if name == "zxing":
        return _zxing(source, text=True)
    # zbar's own text conversion (charset guess, UTF-8 out); our frames are ASCII either way.
    return [data.decode("utf-8", errors="replace") for data in _zbar(source, binary=False)]


def decode_bytes_image(image: ImageInput, *, backend: Backend = "auto") -> list[bytes]:
    """The exact content bytes of all QR codes found in ``image``, as :func:`decode_image`.

    Binary-safe with both backends (zxing-cpp's raw bytes; zbar with ``ZBAR_CFG_BINARY`` on).
    """
    name = _resolve(backend)
    source = _as_image(image)
    if name == "zxing":
        return _zxing(source, text=False)
    return _zbar(source, binary=True)
