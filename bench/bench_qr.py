"""Benchmark: draw one QR frame (zxing-cpp's writer vs qrcode), and read the main QR frame out of
camera-like frames (zxing-cpp vs zbar).

Drawing (printed first; ``--render-only`` for nothing else): the main frame's text (600
characters, version 15-M) to PNG bytes at edl's defaults (8 pixels per module, 4 modules of quiet
zone, 680×680), calls taken in turn so the machine's drifts hit all alike; median of each round,
the median of the rounds and their range, and the ratios from the same rounds:

* ``edl zxing``: ``edl.qr.render_png(text)`` (the default writer, zxing-cpp, and edl's 1-bit PNG);
* ``edl qrcode``: ``edl.qr.render_png(text, writer="qrcode")``;
* ``qrcode library``: the qrcode package as its README uses it, with the same symbol: one
  alphanumeric segment, level M, ``box_size=8, border=4``, ``make_image().save(png)`` (its
  Pillow 1-bit image);
* PNG encoding alone, for the same 77×77 symbol: edl's writer against Pillow saving the 1-bit
  image (``optimize`` off, the default compression).

The code holds a realistic main frame: ``DL1:`` + base45 of 397 random bytes (600 characters,
QR version 15 at level M: the budget's limit). Each frame is synthesised with Pillow + numpy
from a fixed seed (frame *i* of a cell is the same whatever ``--frames`` is), as a grayscale
(luma) uint8 array, the plane a camera pipeline hands a decoder:

* the code on a phone screen (quiet zone, a margin of lit screen, a dark bezel) over a cluttered
  background (smooth shading and a few rectangles of other greys);
* **mild**: symbol 35–55 % of the frame height, rotation ±10°, a slight tilt (perspective, corners
  moved ≤ 3 % of the side), blur σ 0.3–0.6 px, noise σ 1–3, contrast 65–85 %, lighting even to
  within 15 %;
* **harsh**: symbol 30–50 % of the frame height, rotation ±35°, perspective (corners moved up to
  12 % of the side, ~25° of tilt), blur σ 0.5–0.8 px, noise σ 4–8, contrast 35–45 %, a lighting
  gradient that dims one side by 30–50 % and a glare spot on the screen;
* blur and size are per 480 lines: at 1280×720 the same scene has 1.5× the pixels, so σ is 1.5×;
* the code and its quiet zone always lie inside the picture (a tilt that pushes them out slides
  the phone back in: an officer frames the code, and no decoder reads what is not there).

For each (resolution, condition) and backend: success rate (one decoded text exactly equal to the
payload), misreads (a decoded text that is not the payload), median and 95th-percentile decode
time per frame through ``edl.qr.decode_image`` (array in, texts out), on one core.

    .venv/bin/python bench/bench_qr.py [--frames 100] [--seed 2026] [--json] [--save-samples DIR]
    .venv/bin/python bench/bench_qr.py --render-only [--rounds 9] [--calls 20]
    .venv/bin/python bench/bench_qr.py --sweep-size   # harsh, by symbol size: where decoding falls off

Needs numpy, base45 and both decoders (zbar: pyzbar + Debian libzbar0); ``--backends zxing`` without.

Other benchmarks (decode + verify) reuse the frames: ``make_frames(text, (640, 480), "mild", n, seed)``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from machine import describe as machine_facts
from machine import line as machine_line
from PIL import Image, ImageFilter

from edl import qr

RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))
CONDITIONS = ("mild", "harsh")
DEFAULT_SEED = 2026
QUIET, SCREEN, BEZEL = 4, 3, 4  # modules of quiet zone, extra lit screen, phone bezel per side

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """Ranges the frames draw from (uniformly); lengths in pixels per 480 lines of frame."""

    size: tuple[float, float]  # symbol side (no quiet zone) / frame height
    rotation: float  # ± degrees
    tilt: float  # max corner displacement / symbol side (perspective)
    blur: tuple[float, float]  # Gaussian σ, px per 480 lines
    noise: tuple[float, float]  # Gaussian σ, grey levels
    contrast: tuple[float, float]  # (light - dark) / 255
    shading: tuple[float, float]  # depth of a linear lighting gradient (0 = even)
    glare: tuple[float, float]  # peak of an additive glare spot on the screen, grey levels


PROFILES = {
    "mild": Condition(
        size=(0.35, 0.55),
        rotation=10.0,
        tilt=0.03,
        blur=(0.3, 0.6),
        noise=(1.0, 3.0),
        contrast=(0.65, 0.85),
        shading=(0.0, 0.15),
        glare=(0.0, 0.0),
    ),
    "harsh": Condition(
        size=(0.30, 0.50),
        rotation=35.0,
        tilt=0.12,
        blur=(0.5, 0.8),
        noise=(4.0, 8.0),
        contrast=(0.35, 0.45),
        shading=(0.3, 0.5),
        glare=(10.0, 40.0),
    ),
}


def main_frame_text(seed: int = DEFAULT_SEED) -> str:
    """``DL1:`` + base45 of :data:`edl.qr.MAX_PAYLOAD_BYTES` seeded random bytes (600 characters)."""
    import base45

    payload = np.random.default_rng(seed).integers(0, 256, qr.MAX_PAYLOAD_BYTES, dtype=np.uint8)
    return "DL1:" + str(base45.b45encode(payload.tobytes()).decode("ascii"))


def _modules(text: str) -> npt.NDArray[np.bool_]:
    """Dark modules of the code for ``text``, no quiet zone."""
    import io

    image = Image.open(io.BytesIO(qr.render_png(text, scale=1, border=0))).convert("L")
    return np.asarray(image) < 128


def _perspective_coeffs(dst: npt.NDArray[np.float64], src: npt.NDArray[np.float64]) -> list[float]:
    """Pillow PERSPECTIVE data mapping output points ``dst`` to input points ``src`` (4×2 each)."""
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows), np.array(rhs))]


def _background(rng: np.random.Generator, w: int, h: int) -> npt.NDArray[np.float32]:
    base = rng.uniform(70, 170)
    coarse = rng.uniform(-30, 30, (6, 8)).astype(np.float32)
    shade = Image.fromarray(coarse, "F").resize((w, h), Image.Resampling.BICUBIC)
    frame: npt.NDArray[np.float32] = np.asarray(shade, dtype=np.float32) + np.float32(base)
    for _ in range(int(rng.integers(3, 7))):  # clutter: other objects in the scene
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(w // 20, w // 3)), y0 + int(rng.integers(h // 20, h // 3))
        frame[y0:y1, x0:x1] = rng.uniform(20, 235)
    return frame


def _frame(
    modules: npt.NDArray[np.bool_], w: int, h: int, cond: Condition, rng: np.random.Generator
) -> Frame:
    k = h / 480  # pixels per "480-line pixel"
    n = modules.shape[0]
    side = rng.uniform(*cond.size) * h  # symbol side in frame pixels
    px = max(1, math.ceil(side / n))  # source pixels per module: about 1:1 with the frame

    # The phone: dark bezel, lit screen, quiet zone, code.
    contrast = rng.uniform(*cond.contrast)
    light = rng.uniform(205, 245)
    dark = light - contrast * 255
    pad = QUIET + SCREEN + BEZEL
    total = n + 2 * pad
    phone = np.full((total, total), light, dtype=np.float32)
    phone[:BEZEL, :] = phone[-BEZEL:, :] = phone[:, :BEZEL] = phone[:, -BEZEL:] = 15
    phone[pad : pad + n, pad : pad + n][modules] = dark
    source = Image.fromarray(phone, "F").resize((total * px, total * px), Image.Resampling.NEAREST)

    # Where the symbol lands: rotated square around a centre that keeps the quiet zone in frame,
    # then each corner moved at random (a tilted phone).
    scale = side / n
    half_quiet = (n / 2 + QUIET) * scale * math.sqrt(2)
    cx = rng.uniform(min(half_quiet, w / 2), max(w - half_quiet, w / 2))
    cy = rng.uniform(min(half_quiet, h / 2), max(h - half_quiet, h / 2))
    angle = math.radians(rng.uniform(-cond.rotation, cond.rotation))
    cos, sin = math.cos(angle), math.sin(angle)
    half = total / 2 * scale
    corners = np.array([(-half, -half), (half, -half), (half, half), (-half, half)])
    dst = np.array([(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in corners])
    dst += rng.uniform(-cond.tilt, cond.tilt, (4, 2)) * side
    # The tilt can push a corner of the code out of the picture, which no decoder can read:
    # slide the phone back in (no random draw, so every other frame stays as it was).
    inner = np.array([(pad - QUIET) / total, (pad + n + QUIET) / total])
    region = np.array(
        [
            (1 - u) * (1 - v) * dst[0] + u * (1 - v) * dst[1] + u * v * dst[2] + (1 - u) * v * dst[3]
            for u in inner
            for v in inner
        ]
    )
    for axis, limit in ((0, w - 2), (1, h - 2)):
        low, high = region[:, axis].min(), region[:, axis].max()
        dst[:, axis] += max(0.0, 1 - low) - max(0.0, high - limit)
    size_src = total * px
    src = np.array([(0, 0), (size_src, 0), (size_src, size_src), (0, size_src)], dtype=np.float64)
    coeffs = _perspective_coeffs(dst, src)
    warped = source.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    mask = Image.new("F", source.size, 1.0).transform(
        (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    alpha = np.asarray(mask)
    frame = _background(rng, w, h) * (1 - alpha) + np.asarray(warped) * alpha

    # Uneven light: a linear gradient in a random direction, and glare on the screen.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    depth = rng.uniform(*cond.shading)
    if depth > 0:
        theta = rng.uniform(0, 2 * math.pi)
        ramp = (xx - w / 2) * math.cos(theta) + (yy - h / 2) * math.sin(theta)
        ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
        frame *= 1 - depth * ramp
    peak = rng.uniform(*cond.glare)
    if peak > 0:
        gx, gy = cx + rng.uniform(-0.3, 0.3) * side, cy + rng.uniform(-0.3, 0.3) * side
        radius = rng.uniform(0.1, 0.25) * side
        frame += peak * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2))

    # Optics, then the sensor.
    image = Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8), "L")
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*cond.blur) * k))
    noisy = np.asarray(image, dtype=np.float32)
    noisy += rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(*cond.noise))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def make_frames(
    text: str, resolution: tuple[int, int], condition: str | Condition, n: int, seed: int = DEFAULT_SEED
) -> list[Frame]:
    """``n`` grayscale camera-like frames (``(h, w)`` uint8) of the QR code for ``text``.

    ``resolution`` is ``(width, height)``; ``condition`` is ``"mild"``, ``"harsh"`` (see the
    module docstring) or a :class:`Condition` of your own. Frame *i* depends only on (seed,
    resolution, condition, i), so the first frames of a longer run are the frames of a shorter one.
    """
    if isinstance(condition, str):
        if condition not in PROFILES:
            raise ValueError(f"condition must be one of {sorted(PROFILES)} or a Condition")
        cond, salt = PROFILES[condition], CONDITIONS.index(condition)
    else:
        cond, salt = condition, zlib.crc32(repr(condition).encode())
    w, h = resolution
    modules = _modules(text)
    return [_frame(modules, w, h, cond, np.random.default_rng([seed, w, h, salt, i])) for i in range(n)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    resolution: str
    condition: str
    backend: str
    frames: int
    decoded: int
    misread: int
    median_ms: float
    p95_ms: float

    @property
    def rate(self) -> float:
        return self.decoded / self.frames


def run_cell(frames: list[Frame], text: str, backend: qr.Backend, label: tuple[str, str]) -> Result:
    times, decoded, misread = [], 0, 0
    for frame in frames:
        start = time.perf_counter()
        texts = qr.decode_image(frame, backend=backend)
        times.append(time.perf_counter() - start)
        decoded += text in texts
        misread += any(t != text for t in texts)
    times.sort()
    return Result(
        resolution=label[0],
        condition=label[1],
        backend=backend,
        frames=len(frames),
        decoded=decoded,
        misread=misread,
        median_ms=statistics.median(times) * 1000,
        p95_ms=times[min(len(times) - 1, int(0.95 * len(times)))] * 1000,
    )


def interleaved_rounds(
    fns: dict[str, Callable[[], object]], *, rounds: int, calls: int, warmup: int = 3
) -> dict[str, tuple[float, float, float]]:
    """For each function: (median of the rounds' medians, lowest, highest) in microseconds.

    Each round calls every function once in turn, ``calls`` times (so a drift of this machine's
    speed, ±30 % over minutes, hits all of them alike), and takes each one's median."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    medians: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        samples: dict[str, list[int]] = {name: [] for name in fns}
        for _ in range(calls):
            for name, fn in fns.items():
                t0 = time.perf_counter_ns()
                fn()
                samples[name].append(time.perf_counter_ns() - t0)
        for name, v in samples.items():
            medians[name].append(statistics.median(v) / 1000.0)
    return {name: (statistics.median(v), min(v), max(v)) for name, v in medians.items()}


def ratio_rounds(
    fns: dict[str, Callable[[], object]], pairs: dict[str, tuple[str, str]], *, rounds: int, calls: int
) -> tuple[dict[str, tuple[float, float, float]], dict[str, tuple[float, float, float]]]:
    """:func:`interleaved_rounds`, plus for each ``pairs`` entry (numerator, denominator) the ratio
    of their medians in each round: (median, lowest, highest) over the rounds."""
    per_round: list[dict[str, tuple[float, float, float]]] = [
        interleaved_rounds(fns, rounds=1, calls=calls, warmup=3 if i == 0 else 0) for i in range(rounds)
    ]
    times = {
        name: (
            statistics.median(r[name][0] for r in per_round),
            min(r[name][0] for r in per_round),
            max(r[name][0] for r in per_round),
        )
        for name in fns
    }
    ratios = {}
    for label, (num, den) in pairs.items():
        values = [r[num][0] / r[den][0] for r in per_round]
        ratios[label] = (statistics.median(values), min(values), max(values))
    return times, ratios


def fmt_range(figure: tuple[float, float, float], unit: str = "", digits: int = 0) -> str:
    median, low, high = figure
    return f"{median:.{digits}f}{unit} ({low:.{digits}f}–{high:.{digits}f})"


def render_figures(text: str, *, rounds: int, calls: int) -> dict[str, object]:
    """Drawing one frame to PNG: edl (zxing-cpp, qrcode) against the qrcode library, and PNG
    encoding alone (edl's writer against Pillow), interleaved; see the module docstring."""
    import io

    import qrcode
    import qrcode.constants
    import qrcode.util

    def qrcode_library() -> bytes:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
        code.add_data(qrcode.util.QRData(text.encode("ascii"), mode=qrcode.util.MODE_ALPHA_NUM))
        code.make(fit=True)
        out = io.BytesIO()
        code.make_image().save(out)
        return out.getvalue()

    light = ~np.pad(qr._modules(text, "zxing"), 4)

    def png_pillow() -> bytes:
        image = Image.fromarray(np.where(light, 255, 0).astype(np.uint8), "L").convert("1")
        image = image.resize((image.width * 8, image.height * 8), Image.Resampling.NEAREST)
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        return out.getvalue()

    def png_edl() -> bytes:
        return qr._png_1bit(light, 8)

    for png in (qr.render_png(text), qr.render_png(text, writer="qrcode"), qrcode_library()):
        assert qr.decode_image(png) == [text]
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(png_edl())).convert("L")),
        np.asarray(Image.open(io.BytesIO(png_pillow())).convert("L")),
    )
    times, ratios = ratio_rounds(
        {
            "edl_zxing_us": lambda: qr.render_png(text),
            "edl_qrcode_us": lambda: qr.render_png(text, writer="qrcode"),
            "qrcode_library_us": qrcode_library,
            "png_edl_us": png_edl,
            "png_pillow_us": png_pillow,
        },
        {
            "qrcode_library/edl_zxing": ("qrcode_library_us", "edl_zxing_us"),
            "edl_qrcode/edl_zxing": ("edl_qrcode_us", "edl_zxing_us"),
            "png_pillow/png_edl": ("png_pillow_us", "png_edl_us"),
        },
        rounds=rounds,
        calls=calls,
    )
    return {"times": times, "ratios": ratios, "png_bytes": len(qr.render_png(text))}


def print_render(figures: dict[str, object], text: str, rounds: int, calls: int) -> None:
    times = cast(dict[str, tuple[float, float, float]], figures["times"])
    ratios = cast(dict[str, tuple[float, float, float]], figures["ratios"])
    print(
        f"one frame to PNG ({len(text)} characters, version {qr.qr_version(text)}-M, 680×680, "
        f"{figures['png_bytes']} B); {rounds} rounds × {calls} interleaved calls; median of round "
        "medians (lowest–highest round)"
    )
    ms = {k: tuple(x / 1000 for x in v) for k, v in times.items()}
    print(f"  edl, zxing-cpp writer (default)  {fmt_range(cast(Any, ms['edl_zxing_us']), ' ms', 2)}")
    print(f"  edl, qrcode writer               {fmt_range(cast(Any, ms['edl_qrcode_us']), ' ms', 2)}")
    print(f"  qrcode library (make_image+save) {fmt_range(cast(Any, ms['qrcode_library_us']), ' ms', 2)}")
    print(
        f"  -> zxing-cpp writer is {fmt_range(ratios['qrcode_library/edl_zxing'], '×', 1)} faster than "
        f"the qrcode library (issue #13's goal: ≥ 3.5×), {fmt_range(ratios['edl_qrcode/edl_zxing'], '×', 1)} "
        "than edl's qrcode writer"
    )
    print(
        f"  PNG encoding of the 1-bit image: edl {fmt_range(times['png_edl_us'], ' µs')}, "
        f"Pillow {fmt_range(times['png_pillow_us'], ' µs')} "
        f"({fmt_range(ratios['png_pillow/png_edl'], '×', 1)})"
    )


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--frames", type=int, default=100, help="frames per cell (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="(default %(default)s)")
    ap.add_argument("--backends", default=",".join(qr.BACKENDS), help="comma-separated (default %(default)s)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--render-only", action="store_true", help="only the drawing figures")
    ap.add_argument("--rounds", type=int, default=9, help="drawing: rounds (default %(default)s)")
    ap.add_argument("--calls", type=int, default=20, help="drawing: calls per round (default %(default)s)")
    ap.add_argument(
        "--sweep-size",
        action="store_true",
        help="instead: success under harsh conditions by symbol size (fraction of frame height)",
    )
    ap.add_argument(
        "--save-samples", type=Path, metavar="DIR", help="write the first 4 frames per cell as PNG"
    )
    args = ap.parse_args()
    pin_one_core()
    backends = [cast(qr.Backend, b) for b in args.backends.split(",") if b]
    missing = [b for b in backends if b not in qr.available_backends()]
    if missing:
        print(
            f"backend(s) not installed: {', '.join(missing)} "
            "(zbar: pip install pyzbar; apt-get install libzbar0)",
            file=sys.stderr,
        )
        return 2

    text = main_frame_text(args.seed)
    assert qr.qr_version(text) == qr.MAX_VERSION
    if args.sweep_size:
        return sweep_size(text, backends, args.frames, args.seed)
    render = render_figures(text, rounds=args.rounds, calls=args.calls)
    if args.render_only:
        if args.json:
            print(json.dumps({"machine": machine_facts(), **render}, indent=2))
        else:
            print(machine_line())
            print_render(render, text, args.rounds, args.calls)
        return 0
    if not args.json:
        print(machine_line())
        print_render(render, text, args.rounds, args.calls)
    results: list[Result] = []
    started = time.perf_counter()
    for w, h in RESOLUTIONS:
        for condition in CONDITIONS:
            frames = make_frames(text, (w, h), condition, args.frames, args.seed)
            if args.save_samples:
                args.save_samples.mkdir(parents=True, exist_ok=True)
                for i, frame in enumerate(frames[:4]):
                    Image.fromarray(frame).save(args.save_samples / f"{w}x{h}-{condition}-{i}.png")
            for backend in backends:
                qr.decode_image(frames[0], backend=backend)  # warm up
                results.append(run_cell(frames, text, backend, (f"{w}x{h}", condition)))
    elapsed = time.perf_counter() - started

    if args.json:
        print(
            json.dumps(
                {"machine": machine_facts(), "render": render, "decode": [_asdict(r) for r in results]},
                indent=2,
            )
        )
        return 0
    print(
        f"QR version {qr.MAX_VERSION}-M, {len(text)} characters (DL1: + base45 of {qr.MAX_PAYLOAD_BYTES} B); "
        f"{args.frames} frames per cell, seed {args.seed}; one core; decode_image(frame) per frame"
    )
    by_cell: dict[tuple[str, str], dict[str, Result]] = {}
    for r in results:
        by_cell.setdefault((r.resolution, r.condition), {})[r.backend] = r
    head = f"{'frame':<10}{'cond.':<7}"
    for b in backends:
        head += f"| {b + ' ok':>9}{'bad':>5}{'med ms':>8}{'p95 ms':>8} "
    if len(backends) == 2:
        head += f"| {backends[1]}/{backends[0]} time"
    print(head)
    for (res, cond), cell in by_cell.items():
        line = f"{res:<10}{cond:<7}"
        for b in backends:
            r = cell[b]
            line += f"| {r.rate:>9.1%}{r.misread:>5}{r.median_ms:>8.2f}{r.p95_ms:>8.2f} "
        if len(backends) == 2:
            ratio = cell[backends[1]].median_ms / cell[backends[0]].median_ms
            line += f"| {ratio:>5.1f}×"
        print(line)
    print(f"({elapsed:.0f} s; ok = payload decoded exactly, bad = frames with a wrong text)")
    return 0


SWEEP_SIZES = ((0.25, 0.30), (0.30, 0.35), (0.35, 0.40), (0.40, 0.50), (0.50, 0.60))


def sweep_size(text: str, backends: list[qr.Backend], n: int, seed: int) -> int:
    """Harsh conditions, symbol size in fixed bands: where decoding falls off."""
    print(f"harsh conditions by symbol size; {n} frames per cell; success rate (median ms)")
    print(f"{'frame':<10}{'size/h':<11}{'px/module':<11}" + "".join(f"{b:>16}" for b in backends))
    for w, h in RESOLUTIONS:
        for size in SWEEP_SIZES:
            frames = make_frames(text, (w, h), replace(PROFILES["harsh"], size=size), n, seed)
            px = f"{size[0] * h / 77:.1f}-{size[1] * h / 77:.1f}"
            line = f"{f'{w}x{h}':<10}{size[0]:.2f}-{size[1]:.2f}  {px:<11}"
            for backend in backends:
                r = run_cell(frames, text, backend, (f"{w}x{h}", "harsh"))
                line += f"{r.rate:>9.0%} ({r.median_ms:4.1f})"
            print(line)
    return 0


def _asdict(r: Result) -> dict[str, object]:
    return {
        "resolution": r.resolution,
        "condition": r.condition,
        "backend": r.backend,
        "frames": r.frames,
        "decoded": r.decoded,
        "misread": r.misread,
        "success_rate": r.rate,
        "median_ms": r.median_ms,
        "p95_ms": r.p95_ms,
    }


if __name__ == "__main__":
    sys.exit(main())
