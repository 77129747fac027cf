"""A city's status lists as its key store keeps them: the bits, the indices, the log, publishing.

This module owns the office side of ``specs/status-list.md`` §3.1 and §11 for a key-store
folder (:class:`~edl.city.CityAdmin`): which ``(list id, index)`` each licence holds (allocated
by :class:`~edl.status_index.FileStatusIndexAllocator`, kept on renewal by document number),
the current 2-bit status of every place, an append-only log of changes, and publishing each
list signed by the city's status signer with a sequence that strictly increases per list.

Folder layout (inside ``cities/<CITY_ID>/``)::

    status/index.json      the allocator's state (per list: size, permutation key, count)
    status/state.json      {"version": 1, "sequences": {LIST: n}, "licences": {DOC: [LIST, IDX]}}
    status/list-<LIST>.bits  the packed 2-bit entries of list LIST (what the next publish signs)
    status/log.jsonl       one JSON line per change: time, action, list, index, document
                           number (when known) and reason; appended, never rewritten
    status/.lock           an exclusive lock held while any of these change

Every file but the log is replaced atomically (temporary name, fsync, rename); changes take the
lock, so two commands on one key store never hand out one index twice or lose a revocation. A
sequence is recorded *before* the list that carries it is written out: a failure can skip a
number, never publish two lists under one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._files import damaged, read_state_json, write_atomic
from .errors import KeyStoreError
from .status import BITS, Status, StatusList, sign_status_list, status_uri
from .status_index import DEFAULT_CAPACITY, FileStatusIndexAllocator, list_size_for

__all__ = [
    "DEFAULT_VALID_HOURS",
    "CityStatus",
    "ListPublisher",
    "PublishedList",
    "StatusChange",
    "count_statuses",
]

DEFAULT_VALID_HOURS = 48
"""How long a published list is valid (verifiers call a list older than 72 h stale)."""

_STATE_VERSION = 1
_DOC = re.compile(r"[^\x00-\x1f\x7f]{1,64}")  # a document number: printable, at most 64 characters
_ACTIONS = ("revoke", "suspend", "reinstate")


@dataclass(frozen=True, slots=True)
class StatusChange:
    city: str
    list_id: int
    index: int
    document_number: str | None
    before: Status
    after: Status

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True, slots=True)
class PublishedList:
    city: str
    list_id: int
    uri: str
    sequence: int
    issued: _dt.datetime
    expires: _dt.datetime
    revoked: int
    suspended: int
    size: int
    data: bytes


class CityStatus:
    """The status lists of one key-store folder's cities (``admin`` is its ``CityAdmin``)."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin

    def _dir(self, city_id: str) -> Path:
        return Path(self.admin.folder) / "cities" / city_id / "status"

    def _capacity(self, city_id: str) -> int:
        st = self.admin.load(city_id)  # also: an unknown city is a KeyStoreError here
        return int(st.capacity or DEFAULT_CAPACITY)

    def allocator(self, city_id: str) -> FileStatusIndexAllocator:
        return FileStatusIndexAllocator(
            self._dir(city_id) / "index.json", default_capacity=self._capacity(city_id)
        )

    # --- state ---

    @contextlib.contextmanager
    def _locked(self, city_id: str) -> Iterator[Path]:
        d = self._dir(city_id)
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield d
        finally:
            os.close(fd)

    def read_state(self, city_id: str) -> dict[str, Any]:
        """The city's ``state.json`` (§3.2), checked: sequences by list id and licences' places."""
        path = self._dir(city_id) / "state.json"
        if not path.exists():
            return {"version": _STATE_VERSION, "sequences": {}, "licences": {}}
        state = read_state_json(path)
        ok = (
            isinstance(state, dict)
            and state.get("version") == _STATE_VERSION
            and isinstance(state.get("sequences"), dict)
            and isinstance(state.get("licences"), dict)
            and all(
                re.fullmatch(r"[1-9][0-9]{0,9}", k) is not None and type(v) is int and v >= 0
                for k, v in state["sequences"].items()
            )
            and all(
                isinstance(k, str)
                and isinstance(v, list)
                and len(v) == 2
                and all(type(x) is int and x >= 0 for x in v)
                for k, v in state["licences"].items()
            )
        )
        if not ok:
            raise damaged(path, "it is not {version: 1, sequences, licences}")
        return dict(state)

    def _write_state(self, city_id: str, state: dict[str, Any]) -> None:
        body = json.dumps(state, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(self._dir(city_id) / "state.json", body.encode(), mode=0o600)

    def _sizes(self, city_id: str) -> dict[int, int]:
        """list id → size, for every list the allocator has started (list 1 when none yet)."""
        # (no index file yet: nothing allocated, and nothing is created just to look)
        has_index = (self._dir(city_id) / "index.json").exists()
        slots = self.allocator(city_id).lists(city_id) if has_index else ()
        if not slots:
            return {1: list_size_for(self._capacity(city_id))}
        return {s.list_id: s.size for s in slots}

    def list_bits(self, city_id: str, list_id: int, size: int) -> StatusList:
        """The current 2-bit entries of one list (all valid when its file does not exist yet)."""
        path = self._dir(city_id) / f"list-{list_id}.bits"
        if not path.exists():
            return StatusList(size)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise KeyStoreError(f"cannot read {path}: {e.strerror or e}") from None
        if len(data) != -(-size // (8 // BITS)):
            raise damaged(path, f"it holds {len(data)} bytes, not those of a list of {size} entries")
        return StatusList.from_bytes(bytearray(data), bits=BITS)

    # --- indices ---

    def allocate(self, city_id: str, document_number: str) -> tuple[int, int, bool]:
        """``(list id, index, kept)`` for the licence ``document_number``: the index it already
        holds (a renewal keeps it; ``kept`` is True), else a fresh one recorded for it."""
        _check_doc(document_number)
        with self._locked(city_id):
            state = self.read_state(city_id)
            held = state["licences"].get(document_number)
            if held is not None:
                return held[0], held[1], True
            list_id, index = self.allocator(city_id).allocate(city_id)
            state["licences"][document_number] = [list_id, index]
            self._write_state(city_id, state)
        return list_id, index, False

    def status_of(self, city_id: str, list_id: int, index: int) -> Status:
        """The current (unpublished) status of one place."""
        sizes = self._sizes(city_id)
        if list_id not in sizes or not 0 <= index < sizes[list_id]:
            raise ValueError(f"city {city_id} has no place {index} in a status list {list_id}")
        return Status(self.list_bits(city_id, list_id, sizes[list_id]).get(index))

    def find(self, city_id: str, document_number: str) -> tuple[int, int]:
        """The ``(list id, index)`` recorded for ``document_number`` (``ValueError`` if none)."""
        held = self.read_state(city_id)["licences"].get(document_number)
        if held is None:
            raise ValueError(
                f"city {city_id} has issued no licence {document_number!r} with a status index: "
                "give the index instead (edl issue --json shows it as status_idx)"
            )
        return held[0], held[1]

    # --- changes ---

    def change(
        self,
        city_id: str,
        action: str,
        *,
        now: _dt.datetime,
        index: int | None = None,
        list_id: int | None = None,
        document_number: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
    ) -> StatusChange:
        """Revoke, suspend or reinstate one place (by ``index`` in ``list_id``, default 1, or by
        ``document_number``). Revocation is final: ``ValueError`` for suspending or reinstating
        a revoked licence, and for an index outside the list. Logged with ``reason``."""
        if action not in _ACTIONS:
            raise ValueError(f"action is one of {', '.join(_ACTIONS)}")
        if reason is not None and (len(reason) > 500 or any(ord(c) < 32 for c in reason)):
            raise ValueError("--reason is one line of at most 500 characters")
        self.admin.keystore.check_unlock()  # an office act: the passphrase is checked first
        # (a dry run reads without the lock, so that it creates nothing, not even the lock file)
        with contextlib.nullcontext() if dry_run else self._locked(city_id):
            state = self.read_state(city_id)
            if document_number is not None:
                list_id, index = self.find(city_id, document_number)
            else:
                if index is None:
                    raise ValueError("give an index or a document number")
                list_id = list_id or 1
                document_number = next(
                    (d for d, v in state["licences"].items() if v == [list_id, index]), None
                )
            sizes = self._sizes(city_id)
            if list_id not in sizes:
                raise ValueError(f"city {city_id} has no status list {list_id} (lists: {sorted(sizes)})")
            if not 0 <= index < sizes[list_id]:
                raise ValueError(
                    f"index {index} is outside status list {list_id} (0 .. {sizes[list_id] - 1})"
                )
            bits = self.list_bits(city_id, list_id, sizes[list_id])
            before = Status(bits.get(index))
            if before is Status.REVOKED and action != "revoke":
                raise ValueError(
                    f"licence at index {index} of {status_uri(city_id, list_id)} is revoked, and a "
                    "revocation "
                    "is final: issue a new licence instead"
                )
            if action == "revoke":
                bits.revoke(index)
            elif action == "suspend":
                bits.suspend(index)
            elif before is Status.SUSPENDED:
                bits.reinstate(index)
            after = Status(bits.get(index))
            result = StatusChange(city_id, list_id, index, document_number, before, after)
            if dry_run or not result.changed:
                return result
            d = self._dir(city_id)
            write_atomic(d / f"list-{list_id}.bits", bits.to_bytes(), mode=0o600)
            entry = {
                "time": now.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "action": action,
                "list": list_id,
                "index": index,
                "document_number": document_number,
                "before": before.name.lower(),
                "after": after.name.lower(),
                "reason": reason,
            }
            fd = os.open(d / "log.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        return result

    # --- publishing ---

    def list_ids(self, city_id: str) -> list[int]:
        return sorted(self._sizes(city_id))

    def publish(
        self,
        city_id: str,
        *,
        now: _dt.datetime,
        valid_hours: int = DEFAULT_VALID_HOURS,
        list_ids: list[int] | None = None,
        dry_run: bool = False,
    ) -> list[PublishedList]:
        """Sign the city's lists (``list_ids``, default all) as of ``now``, each with the next
        sequence of its URI (recorded before it is returned)."""
        publisher = ListPublisher.of(self.admin, city_id, now=now, valid_hours=valid_hours)
        out: list[PublishedList] = []
        with self._locked(city_id):
            sizes = self._sizes(city_id)
            wanted = sorted(sizes) if list_ids is None else list_ids
            for lid in wanted:
                if lid not in sizes:
                    raise ValueError(f"city {city_id} has no status list {lid} (lists: {sorted(sizes)})")
            state = self.read_state(city_id)
            for lid in wanted:
                sequence = int(state["sequences"].get(str(lid), 0)) + 1
                out.append(
                    publisher.sign(lid, self.list_bits(city_id, lid, sizes[lid]), sequence, sizes[lid])
                )
                state["sequences"][str(lid)] = sequence
            if not dry_run:
                self._write_state(city_id, state)
        return out


@dataclass(frozen=True, slots=True)
class ListPublisher:
    """Signs a city's lists as of one time: its current status signer and certificate, checked
    valid at ``now``, and the ``expires`` every list of this publish carries. Whoever owns the
    bits and sequences (this key store, or the issuing service's database) uses it."""

    city: str
    signer: Any
    certificate: Any
    now: _dt.datetime
    expires: _dt.datetime

    @classmethod
    def of(cls, admin: Any, city_id: str, *, now: _dt.datetime, valid_hours: int) -> ListPublisher:
        if not 1 <= valid_hours <= 24 * 31:
            raise ValueError("--valid-hours is 1 to 744 (31 days)")
        signer, cert = admin.status_signer(city_id)  # opens the key: a wrong passphrase stops here
        if cert.not_valid_after_utc < now or cert.not_valid_before_utc > now:
            raise KeyStoreError(
                f"city {city_id}'s status signer certificate is not valid at {now:%Y-%m-%dT%H:%M:%SZ}: "
                f"run edl city rotate-status-signer {city_id}",
                code="status_signer_expired",
            )
        expires = min(now + _dt.timedelta(hours=valid_hours), cert.not_valid_after_utc)
        return cls(city_id, signer, cert, now, expires)

    def sign(self, list_id: int, bits: StatusList, sequence: int, size: int) -> PublishedList:
        """List ``list_id`` (``size`` entries) with these bits, signed under ``sequence``."""
        uri = status_uri(self.city, list_id)
        data = sign_status_list(
            bits,
            self.signer,
            [self.certificate],
            uri=uri,
            sequence=sequence,
            issued=self.now,
            expires=self.expires,
        )
        revoked, suspended = count_statuses(bits)
        return PublishedList(
            city=self.city,
            list_id=list_id,
            uri=uri,
            sequence=sequence,
            issued=self.now.replace(microsecond=0),
            expires=self.expires.replace(microsecond=0),
            revoked=revoked,
            suspended=suspended,
            size=size,
            data=data,
        )


def count_statuses(bits: StatusList) -> tuple[int, int]:
    """(revoked, suspended) entries of a 2-bit list (bytes counted in C, then four entries each)."""
    revoked = suspended = 0
    for byte, n in Counter(bits.to_bytes()).items():
        for shift in (0, 2, 4, 6):
            v = (byte >> shift) & 3
            revoked += n * (v == Status.REVOKED)
            suspended += n * (v == Status.SUSPENDED)
    return revoked, suspended


def _check_doc(document_number: str) -> None:
    if not isinstance(document_number, str) or _DOC.fullmatch(document_number) is None:
        raise ValueError("a document number is 1 to 64 printable characters")
