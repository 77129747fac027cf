"""The city admin the service uses: ``edl.city.CityAdmin`` whose ``city.json`` reads and
certificates are kept in memory while their files stay the same.

Every request names its city, and issuing needs the city's state and its document signer's
certificate: without this, each request reads and parses ``city.json`` (two or three times) and
a PEM certificate. The key store is read-only to the service; when ``edl city`` changes a city
(a rotation, say), it writes a new ``city.json``, whose file identity (inode, modification time
in ns, size) then differs, and the next request reads it again. Keys are not cached here: signing
goes through the key store each time, as before (a PKCS#11 key stays in its token).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography import x509

from edl.city import CityAdmin, CityState

__all__ = ["CachedCityAdmin"]


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class CachedCityAdmin(CityAdmin):
    """A ``CityAdmin`` that reads a file again only when it changed (see the module's docstring)."""

    def __init__(self, folder: Any, keystore: Any) -> None:
        super().__init__(folder, keystore)
        # (plain dicts: a lost race stores an equal value; a stale stamp only means a re-read)
        self._states: dict[str, tuple[tuple[int, int, int], CityState]] = {}
        self._certs: dict[tuple[str, str], tuple[tuple[int, int, int], x509.Certificate]] = {}

    def load(self, city_id: str) -> CityState:
        stamp = _stamp(self._dir(city_id) / "city.json")  # (checks the city id first)
        hit = self._states.get(city_id)
        if stamp is not None and hit is not None and hit[0] == stamp:
            return hit[1]
        state = super().load(city_id)  # a missing or damaged file fails here, as without a cache
        if stamp is not None:  # (stamped before the read: a change in between re-reads next time)
            self._states[city_id] = (stamp, state)
        return state

    def certificate(self, city_id: str, file: str) -> x509.Certificate:
        stamp = _stamp(self._dir(city_id) / file)
        hit = self._certs.get((city_id, file))
        if stamp is not None and hit is not None and hit[0] == stamp:
            return hit[1]
        cert = super().certificate(city_id, file)
        if stamp is not None:
            self._certs[(city_id, file)] = (stamp, cert)
        return cert
