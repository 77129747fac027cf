"""What a benchmark ran on: the CPU, the interpreter and how it was built, the crypto library.

Ratios to the crypto floor depend on the machine as much as on edl: the public-key operations run
in OpenSSL's assembly, everything around them in the interpreter, and the two move apart from one
CPU (and one Python build) to another. On 2026-12-06 the same commit measured mdoc verify at
1.80× its floor on one machine and 2.2× on another (AMD EPYC, a pyenv CPython built without PGO),
where the interpreter's work cost twice as much against the floor. So every figure printed by
``bench/`` carries this line, and figures are compared within one run, never across machines.

It reads only local facts (``/proc/cpuinfo``, ``sysconfig``, the libraries' versions).
"""

from __future__ import annotations

import os
import platform
import sysconfig
from pathlib import Path


def _cpu_model() -> str:
    """The model name, with family and model numbers (a virtual machine often names only the
    vendor's line: "AMD EPYC" covers several generations)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model") and key not in fields:
                fields[key] = value.strip()
            if not line.strip() and fields:
                break  # the first processor is enough
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def _python_build() -> str:
    args = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    flags = [
        name
        for name, present in (
            ("PGO", "--enable-optimizations" in args),
            ("LTO", "--with-lto" in args),
            ("shared libpython", "--enable-shared" in args),
        )
        if present
    ]
    recorded = ", ".join(flags) if flags else "none of PGO, LTO, shared"
    return f"configured with: {recorded}"


def describe() -> dict[str, str | int | None]:
    """The machine and software a run measured, as JSON-ready facts."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_build": _python_build(),
        "crypto": backend.openssl_version_text(),
    }


def line() -> str:
    """One line for a benchmark's header."""
    d = describe()
    return (
        f"machine: {d['cpu']}, {d['cores']} cores; {d['python']} ({d['python_build']}); {d['crypto']}; "
        "ratios to the floor vary by machine (bench/machine.py)"
    )
