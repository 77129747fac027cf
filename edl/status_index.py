"""Status list indices: who gets which place in a city's status lists, never twice.

This module owns handing out ``(list id, index)`` pairs (``specs/status-list.md`` §3.3). One
owner allocates per city: :class:`StatusIndexAllocator` is the interface; the key store uses
:class:`FileStatusIndexAllocator` now, the issuer service's database will implement the same
protocol later. The rules, whoever implements them:

* an index is **never reused** (a revoked licence's place stays revoked);
* indices are **random-looking**, so that an index says nothing about when, or in which order,
  a licence was issued, and neighbouring indices are not neighbouring licences;
* a list is sized at about 1.5 × the city's expected licences (:func:`list_size_for`); when
  every place of the current list is taken, allocation moves on to a new list id (the next
  integer) of the same size. It never refuses.

The file implementation keeps, per city and list, a counter and a random 256-bit key: the n-th
index of a list is a keyed pseudorandom permutation of n (a Feistel network over HMAC-SHA-256,
cycle-walked into ``range(size)``), so every index of ``range(size)`` is handed out exactly
once, in an order nobody without the key can predict, and the state stays a few bytes whatever
the list's size. The key is not a secret that protects anything but that order (indices are
public in every credential). State is one JSON file, rewritten atomically
(:func:`edl._files.write_atomic`) under an exclusive lock before an index is returned: a crash
can waste an index, never hand one out twice. Keeping a licence's index on renewal is the
issuer's record (licence → index), not this module's.

>>> allocator = FileStatusIndexAllocator(Path("qingdao/status-index.json"))  # doctest: +SKIP
>>> allocator.set_capacity("cn-qingdao", 2_000_000)  # doctest: +SKIP
>>> allocator.allocate("cn-qingdao")  # doctest: +SKIP
(1, 1874125)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ._files import damaged, read_state_json, write_atomic

__all__ = [
    "DEFAULT_CAPACITY",
    "FileStatusIndexAllocator",
    "StatusIndexAllocator",
    "StatusListSlot",
    "list_size_for",
    "permuted_index",
]

DEFAULT_CAPACITY = 100_000
"""Expected licences of a city whose capacity was never set (its lists hold 150,000)."""

MAX_LIST_SIZE = 1 << 26
"""Largest list size (the default ``max_entries`` a verifier decompresses, ``edl.status``)."""

_ROUNDS = 8
_CITY = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_STATE_VERSION = 1


@runtime_checkable
class StatusIndexAllocator(Protocol):
    """The one owner of a city's status list indices."""

    def allocate(self, city_id: str) -> tuple[int, int]:
        """A fresh ``(list id, index)`` for a new licence of ``city_id``: never handed out
        before, random-looking, inside a list of the city's list size."""
        ...


def list_size_for(capacity: int) -> int:
    """Entries of a status list for ``capacity`` expected licences: 1.5 × capacity, rounded up
    to a whole byte of 2-bit entries (a multiple of 4), at most :data:`MAX_LIST_SIZE`."""
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError("capacity is a positive number of licences")
    size = -(-capacity * 3 // 2)
    size = -(-size // 4) * 4
    if size > MAX_LIST_SIZE:
        raise ValueError(f"a list of {size} entries is larger than {MAX_LIST_SIZE}; use a smaller capacity")
    return size


def permuted_index(key: bytes, size: int, n: int) -> int:
    """The ``n``-th index (0 ≤ n < size) of a list of ``size`` under ``key``: a bijection of
    ``range(size)`` (a balanced Feistel network of 8 HMAC-SHA-256 rounds over the smallest even
    number of bits that holds ``size - 1``, cycle-walked back into range)."""
    if not 0 <= n < size:
        raise ValueError("n must be in range(size)")
    half = max(1, ((size - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    x = n
    while True:
        left, right = x >> half, x & mask
        for r in range(_ROUNDS):
            f = hmac.new(key, bytes([r]) + right.to_bytes(8, "big"), hashlib.sha256).digest()
            left, right = right, left ^ (int.from_bytes(f[:8], "big") & mask)
        x = (left << half) | right
        if x < size:
            return x


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusListSlot:
    """One status list of a city as the allocator knows it: its id, its size (what the
    published list must hold) and how many of its places are taken."""

    list_id: int
    size: int
    allocated: int


class FileStatusIndexAllocator:
    """:class:`StatusIndexAllocator` over one JSON state file (a key store's ``status-index.json``).

    ``{"version": 1, "cities": {CITY: {"capacity": N, "lists": [{"id", "size", "key", "next"}]}}}``:
    ``key`` is the list's permutation key (hex), ``next`` the count handed out. Damage to the
    file is a :class:`~edl.errors.KeyStoreError` naming it.
    """

    def __init__(self, path: str | os.PathLike[str], *, default_capacity: int = DEFAULT_CAPACITY) -> None:
        list_size_for(default_capacity)  # checks it
        self.path = Path(path)
        self.default_capacity = default_capacity
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileStatusIndexAllocator({str(self.path)!r})"

    # --- the protocol ---

    def allocate(self, city_id: str) -> tuple[int, int]:
        return self.allocate_many(city_id, 1)[0]

    # --- more ---

    def allocate_many(self, city_id: str, count: int) -> list[tuple[int, int]]:
        """``count`` fresh ``(list id, index)`` pairs, written to the state file once."""
        _check_city(city_id)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError("count is a positive integer")
        out: list[tuple[int, int]] = []
        with self._locked() as state:
            city = self._city(state, city_id)
            while len(out) < count:
                lists = city["lists"]
                if not lists or lists[-1]["next"] >= lists[-1]["size"]:
                    lists.append(
                        {
                            "id": lists[-1]["id"] + 1 if lists else 1,
                            "size": list_size_for(city["capacity"]),
                            "key": secrets.token_hex(32),
                            "next": 0,
                        }
                    )
                current = lists[-1]
                key, size = bytes.fromhex(current["key"]), current["size"]
                take = min(count - len(out), size - current["next"])
                out.extend(
                    (current["id"], permuted_index(key, size, current["next"] + i)) for i in range(take)
                )
                current["next"] += take
            self._write(state)
        return out

    def set_capacity(self, city_id: str, capacity: int) -> None:
        """The city's expected licences: sizes every list started from now on (1.5 ×)."""
        _check_city(city_id)
        list_size_for(capacity)
        with self._locked() as state:
            self._city(state, city_id)["capacity"] = capacity
            self._write(state)

    def lists(self, city_id: str) -> tuple[StatusListSlot, ...]:
        """The city's lists so far (what a status list publisher must cover), oldest first."""
        _check_city(city_id)
        with self._locked() as state:
            city = state["cities"].get(city_id)
        if city is None:
            return ()
        return tuple(
            StatusListSlot(list_id=e["id"], size=e["size"], allocated=e["next"]) for e in city["lists"]
        )

    # --- state ---

    def _city(self, state: dict[str, Any], city_id: str) -> dict[str, Any]:
        city: dict[str, Any] = state["cities"].setdefault(
            city_id, {"capacity": self.default_capacity, "lists": []}
        )
        return city

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The state, read under an exclusive lock (threads of this process and other processes)."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield self._read()
            finally:
                os.close(fd)  # releases the lock

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"version": _STATE_VERSION, "cities": {}}
        state = read_state_json(self.path)
        _check_state(state, self.path)
        return dict(state)

    def _write(self, state: dict[str, Any]) -> None:
        write_atomic(self.path, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode(), mode=0o600)


def _check_city(city_id: str) -> None:
    if not isinstance(city_id, str) or _CITY.fullmatch(city_id) is None:
        raise ValueError(f"{city_id!r} is not a city id ([a-z0-9][a-z0-9-]{{1,62}})")


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _check_state(state: Any, path: Path) -> None:
    """The state file's shape, every field (a damaged file must not hand out an index twice)."""
    if (
        not isinstance(state, dict)
        or state.get("version") != _STATE_VERSION
        or not isinstance(state.get("cities"), dict)
    ):
        raise damaged(path, "it is not a status index state of version 1")
    for city_id, city in state["cities"].items():
        if _CITY.fullmatch(city_id) is None or not isinstance(city, dict):
            raise damaged(path, f"city {city_id!r} is not a city entry")
        if not _is_count(city.get("capacity")) or not isinstance(city.get("lists"), list):
            raise damaged(path, f"city {city_id!r} lacks its capacity or lists")
        for i, entry in enumerate(city["lists"]):
            ok = (
                isinstance(entry, dict)
                and set(entry) == {"id", "size", "key", "next"}
                and _is_count(entry["id"])
                and entry["id"] == (city["lists"][i - 1]["id"] + 1 if i else 1)
                and _is_count(entry["size"])
                and 1 <= entry["size"] <= MAX_LIST_SIZE
                and _is_count(entry["next"])
                and entry["next"] <= entry["size"]
                and isinstance(entry["key"], str)
                and re.fullmatch(r"[0-9a-f]{64}", entry["key"]) is not None
            )
            if not ok:
                raise damaged(path, f"list {i + 1} of city {city_id!r} is not {{id, size, key, next}}")
