"""Small state files: written all-or-nothing, read strictly.

This module owns two things: :func:`write_atomic` (a temporary name in the same folder, fsync,
rename: a reader sees the old file or the whole new one, never half of it, and a failure midway
leaves no file behind) and :func:`read_state_json` (a key store's JSON state read with a size
bound, any damage a :class:`~edl.errors.KeyStoreError` that names the file and the fix).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from .errors import KeyStoreError

__all__ = ["read_state_json", "write_atomic"]

MAX_STATE_FILE = 1 << 20


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Replace (or create) ``path`` with ``data`` atomically and durably."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (not every FS allows it)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_state_json(path: str | os.PathLike[str], *, missing: KeyStoreError | None = None) -> Any:
    """The JSON value in a key store's state file; damage is a ``KeyStoreError`` saying so.

    ``missing`` is raised when the file does not exist (else a generic ``KeyStoreError``).
    Shapes are the caller's to check (with :func:`damaged` for the error).
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_STATE_FILE + 1)
    except FileNotFoundError:
        raise (missing or KeyStoreError(f"{p} is missing")) from None
    except IsADirectoryError:
        raise damaged(p, "it is a folder") from None
    except OSError as e:
        raise KeyStoreError(f"cannot read {p}: {e.strerror or e}") from None
    if len(raw) > MAX_STATE_FILE:
        raise damaged(p, "it is larger than 1 MiB")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise damaged(p, "it is not JSON") from None


def damaged(path: str | os.PathLike[str], why: str) -> KeyStoreError:
    return KeyStoreError(
        f"{path} is damaged ({why}): restore it from a backup of this key store", code="key_store"
    )
