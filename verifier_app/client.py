"""The office's side of the handheld's page: sending it a bundle (``edl bundle push``).

This module owns the one network call of the project's command line, a ``POST /bundle`` to the
address the user gives; the ``edl`` library itself never opens a connection (a test checks). It
uses only the standard library, so ``edl bundle push`` needs nothing a handheld does not have.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["HandheldRefused", "HandheldUnreachable", "push_bundle"]

MAX_ANSWER = 1 << 20


class HandheldUnreachable(Exception):
    """Nothing answered at the address (or not as a handheld would)."""


class HandheldRefused(Exception):
    """The handheld answered and refused the bundle: its ``code`` and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def push_bundle(data: bytes, to: str, *, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
    """POST ``data`` to the handheld at ``to`` (``http(s)://host:port``, ``/bundle`` added when
    absent); returns (the URL, what the handheld now holds). ``ValueError`` for an address that
    is not an http(s) URL."""
    url = to.rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--to {to!r} is not a URL: give the handheld's address, e.g. http://127.0.0.1:8470")
    if not parts.path.endswith("/bundle"):
        url += "/bundle"
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/octet-stream"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            body = json.loads(response.read(MAX_ANSWER) or b"{}")
    except urllib.error.HTTPError as e:
        try:
            err = json.loads(e.read(1 << 16))
            raise HandheldRefused(str(err.get("code", e.code)), str(err.get("message", e.reason))) from None
        except (ValueError, AttributeError):
            raise HandheldRefused(str(e.code), str(e.reason)) from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise HandheldUnreachable(f"cannot reach {url}: {getattr(e, 'reason', e)}") from None
    if not isinstance(body, dict):
        raise HandheldUnreachable(f"{url} did not answer as a handheld does")
    return url, body
