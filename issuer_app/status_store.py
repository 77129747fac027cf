"""Status stores: who owns a city's status indices and bits.

For a city run by the service the database is the one owner (:class:`DbStatusStore`, tables
``status_lists`` and ``status_entries``); ``edl status revoke|suspend|reinstate|publish ... --db
DSN`` uses the same class, so the office and the service never disagree. Its methods follow
``edl.city_status.CityStatus`` (``allocate``, ``status_of``, ``find``, ``change``, ``publish``,
``list_ids``) with one addition: each takes ``session=`` (an open SQLAlchemy session, whose
transaction the caller commits) or, without one, opens and commits its own.

Indices are the file allocator's (``edl.status_index``): the n-th place of a list is
``permuted_index(key, size, n)`` with a random 256-bit key per list, so an index says nothing
about when a licence was issued; a list holds ``list_size_for(capacity)`` places (the city's
capacity from its key store); a full list moves on to the next list id. Allocation is one atomic
``UPDATE status_lists SET next = next + 1 ... RETURNING``: on PostgreSQL in its own short
transaction (the list row is locked for a moment, not while the credential is signed; a
rollback of the caller wastes the place, never hands it out twice), on SQLite in the caller's
transaction (SQLite has one writer anyway: ``BEGIN IMMEDIATE``). A change locks the licence row
then the entry (``SELECT ... FOR UPDATE``; the same order everywhere) and keeps the licence
row's ``state`` equal to the bit. Publishing locks the list rows, signs with the city's status
signer (``edl.status.sign_status_list``) under the next sequence and records sequence and bytes
in the same transaction: sequences strictly increase per list.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, create_engine, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edl.city_status import DEFAULT_VALID_HOURS, ListPublisher, PublishedList, StatusChange
from edl.status import Status, StatusList, status_uri
from edl.status_index import DEFAULT_CAPACITY, list_size_for, permuted_index

from .db import NEWEST_PLACE, IssuedLicenceRow, StatusEntry, StatusListRow, single_statements
from .issuing import add_audit, subject_hash

__all__ = ["ACTIONS", "DbStatusStore", "FileStatusStore"]

ACTIONS = ("revoke", "suspend", "reinstate")
_DOC = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
_ENTRIES: Any = StatusEntry.__table__  # (Core statements on the hot path: no ORM compile or flush)
_LISTS: Any = StatusListRow.__table__
# constant Core statements (built once; the values are parameters)
_INSERT_ENTRY = insert(_ENTRIES)
_TAKE = (  # the city's newest list gives its next place, if it has one left: one atomic statement
    update(_LISTS)
    .where(
        _LISTS.c.city == bindparam("b_city"),
        _LISTS.c.list_id
        == select(func.max(_LISTS.c.list_id)).where(_LISTS.c.city == bindparam("b_city")).scalar_subquery(),
        _LISTS.c.next < _LISTS.c.size,
    )
    .values(next=_LISTS.c.next + 1)
    .returning(_LISTS.c.list_id, _LISTS.c.next, _LISTS.c.size, _LISTS.c.perm_key)
)
_STATE = {Status.VALID: "valid", Status.REVOKED: "revoked", Status.SUSPENDED: "suspended"}


class DbStatusStore:
    """The status lists of the cities in ``admin``'s key store, kept in the database of ``engine``.

    ``admin`` (an ``edl.city.CityAdmin``) gives each city's capacity and, for :meth:`publish`,
    its status signer; the key store is only read.
    """

    def __init__(self, engine: Engine, admin: Any, *, who: str = "issuer") -> None:
        self.engine = engine
        self.admin = admin
        self.who = who  # the audit's "who" when a call names none
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._allocation_engine: Engine | None = None

    def _allocations(self) -> Engine:
        """PostgreSQL: a small pool of its own for the short allocation transactions, so that a
        request holding a connection of the main pool never waits for a second one from it
        (with every main connection held, that would be a deadlock until the pool timeout)."""
        if self._allocation_engine is None:
            self._allocation_engine = create_engine(
                self.engine.url,  # no pre-ping: recovery on a disconnect error (see db.make_engine)
                pool_size=4,
                max_overflow=8,
                pool_timeout=10,
                # durable with the licence that uses the index (see db.relaxed_commit), and no
                # SET LOCAL round trip per allocation
                connect_args={"options": "-c synchronous_commit=off"},
            )
        return self._allocation_engine

    def dispose(self) -> None:
        """Close the allocation pool's connections (the main engine is the caller's)."""
        if self._allocation_engine is not None:
            self._allocation_engine.dispose()

    # --- sessions ---

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
            return
        with self._sessions() as own:
            yield own
            own.commit()

    def _size(self, city: str) -> int:
        st = self.admin.load(city)  # an unknown city: KeyStoreError unknown_city
        return list_size_for(int(st.capacity or DEFAULT_CAPACITY))

    # --- indices ---

    def _take(self, conn: Any, city: str) -> tuple[int, int] | None:
        got = conn.execute(_TAKE, {"b_city": city}).first()
        if got is None:
            return None
        list_id, taken, size, key = got
        return int(list_id), permuted_index(bytes.fromhex(key), int(size), int(taken) - 1)

    @staticmethod
    def _insert_ignoring_conflict(conn: Any, table: Any, values: dict[str, Any]) -> bool:
        """INSERT unless the key is there already; True when this call inserted the row (told by
        RETURNING: PostgreSQL's driver reports no row count for it)."""
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(table)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table)
        key = table.__table__.primary_key.columns
        done = conn.execute(stmt.values(**values).on_conflict_do_nothing().returning(*key))
        return done.first() is not None

    def _new_list(self, conn: Any, city: str) -> None:
        """Start the city's next list (list 1 first) unless another process just did. A city's
        first lists come from its key store's files when ``edl`` allocated there before
        (:meth:`_import_files`), so that no index is handed out twice across the move."""
        last = conn.execute(
            select(StatusListRow.list_id, StatusListRow.next, StatusListRow.size)
            .where(StatusListRow.city == city)
            .order_by(StatusListRow.list_id.desc())
            .limit(1)
        ).first()
        if last is not None and last.next < last.size:
            return  # someone else started it, or a place is free again to try
        if last is None and self._import_files(conn, city):
            return
        new_id = 1 if last is None else int(last.list_id) + 1
        values = {
            "city": city,
            "list_id": new_id,
            "size": self._size(city),
            "perm_key": secrets.token_hex(32),
            "next": 0,
            "sequence": 0,
        }
        self._insert_ignoring_conflict(conn, StatusListRow, values)

    def _import_files(self, conn: Any, city: str) -> bool:
        """Take over the status state ``edl.city_status.CityStatus`` kept in the key store's
        folder for ``city`` (``status/index.json``: each list's size, permutation key and count;
        ``status/state.json``: sequences and document numbers; ``status/list-N.bits``), once,
        when the database has no list of the city yet. False when there is nothing to take.
        From then on the database owns the city: use ``edl status ... --db``."""
        import json
        from pathlib import Path

        folder = Path(self.admin.folder) / "cities" / city / "status"
        index_file = folder / "index.json"
        if not index_file.exists():
            return False
        from edl.city_status import CityStatus

        status = CityStatus(self.admin)
        lists = json.loads(index_file.read_text())["cities"].get(city, {}).get("lists", [])
        slots = {slot.list_id: slot for slot in status.allocator(city).lists(city)}  # (checks the file)
        state = status.read_state(city)
        if not lists:
            return False
        now = dt.datetime.now(dt.UTC)
        for entry in lists:
            values = {
                "city": city,
                "list_id": entry["id"],
                "size": slots[entry["id"]].size,
                "perm_key": entry["key"],
                "next": slots[entry["id"]].allocated,
                "sequence": int(state["sequences"].get(str(entry["id"]), 0)),
            }
            if not self._insert_ignoring_conflict(conn, StatusListRow, values):
                return True  # another process is importing (or did): its rows stand
        held = {(lid, idx): doc for doc, (lid, idx) in state["licences"].items()}
        for entry in lists:
            bits = status.list_bits(city, entry["id"], slots[entry["id"]].size)
            places = {idx for (lid, idx) in held if lid == entry["id"]}
            places |= {i for i in range(len(bits)) if bits.get(i)}
            for idx in sorted(places):
                self._insert_ignoring_conflict(
                    conn,
                    StatusEntry,
                    {
                        "city": city,
                        "list_id": entry["id"],
                        "idx": idx,
                        "document_number": held.get((entry["id"], idx)),
                        "status": bits.get(idx),
                        "updated": now,
                    },
                )
        return True

    def _ensure_lists(self, s: Session, city: str) -> dict[int, int]:
        sizes = self._sizes(s, city)
        if not sizes:
            self._new_list(s.connection(), city)
            sizes = self._sizes(s, city)
        return sizes

    def _allocate_on(self, conn: Any, city: str) -> tuple[int, int]:
        for _ in range(100):
            got = self._take(conn, city)
            if got is not None:
                return got
            self._new_list(conn, city)
        raise RuntimeError("no status index after 100 tries")  # pragma: no cover

    def allocate_index(self, session: Session | None, city: str) -> tuple[int, int]:
        """A fresh ``(list id, index)`` of ``city``, never handed out before (no entry recorded)."""
        if self.engine.dialect.name != "postgresql":  # SQLite: one writer, in the caller's transaction
            if session is not None:
                return self._allocate_on(session.connection(), city)
            with self.engine.begin() as conn:
                return self._allocate_on(conn, city)
        with single_statements(self._allocations()).connect() as conn:
            got = self._take(conn, city)  # one statement, its own transaction (no BEGIN, COMMIT)
        if got is not None:
            return got
        with self._allocations().begin() as conn:  # a new list: a short transaction of its own, whose
            return self._allocate_on(conn, city)  # commit does not wait for the disk (relaxed_commit)

    def allocate(
        self, session: Session | None, city: str, document_number: str, *, now: dt.datetime | None = None
    ) -> tuple[int, int, bool]:
        """``(list id, index, kept)`` for ``document_number``: the place it holds already (kept),
        else a fresh one, recorded for it in ``session`` (status valid)."""
        _check_doc(document_number)
        with self._session(session) as s:
            held = s.execute(NEWEST_PLACE, {"city": city, "number": document_number}).first()
            return self._allocate_unless_held(s, city, document_number, held, now)

    def allocate_checked(
        self,
        session: Session,
        city: str,
        document_number: str,
        held: tuple[int, int] | None,
        *,
        now: dt.datetime | None = None,
    ) -> tuple[int, int, bool]:
        """:meth:`allocate` when the caller looked up, in ``session``'s transaction, the place the
        document number holds (``held``: ``(list id, index)`` of its newest entry, as
        ``NEWEST_PLACE`` gives it, or None when it holds none): one SELECT fewer."""
        _check_doc(document_number)
        return self._allocate_unless_held(session, city, document_number, held, now)

    def _allocate_unless_held(
        self, s: Session, city: str, document_number: str, held: Any, now: dt.datetime | None
    ) -> tuple[int, int, bool]:
        if held is not None:
            return int(held[0]), int(held[1]), True
        list_id, index = self.allocate_index(s, city)
        # Core on the table, in the session's transaction: no unit of work for one row
        s.execute(
            _INSERT_ENTRY,
            {
                "city": city,
                "list_id": list_id,
                "idx": index,
                "document_number": document_number,
                "status": int(Status.VALID),
                "updated": now or dt.datetime.now(dt.UTC),
            },
        )
        return list_id, index, False

    def record(
        self, session: Session, city: str, list_id: int, index: int, document_number: str, now: dt.datetime
    ) -> None:
        """Record a place from :meth:`allocate_index` as ``document_number``'s (valid), in ``session``."""
        session.add(
            StatusEntry(
                city=city, list_id=list_id, idx=index, document_number=document_number, status=0, updated=now
            )
        )

    def _sizes(self, s: Session, city: str) -> dict[int, int]:
        rows = s.execute(
            select(StatusListRow.list_id, StatusListRow.size).where(StatusListRow.city == city)
        ).all()
        return {int(r.list_id): int(r.size) for r in rows}

    def status_of(self, session: Session | None, city: str, list_id: int, index: int) -> Status:
        """The current (unpublished) status of one place."""
        with self._session(session) as s:
            sizes = self._ensure_lists(s, city)
            if list_id not in sizes or not 0 <= index < sizes[list_id]:
                raise ValueError(f"city {city} has no place {index} in a status list {list_id}")
            value = s.scalar(
                select(StatusEntry.status).where(
                    StatusEntry.city == city, StatusEntry.list_id == list_id, StatusEntry.idx == index
                )
            )
        return Status(value or 0)

    def find(self, city: str, document_number: str, *, session: Session | None = None) -> tuple[int, int]:
        """The ``(list id, index)`` the licence ``document_number`` holds now (``ValueError`` if none)."""
        with self._session(session) as s:
            self._ensure_lists(s, city)
            row = s.execute(
                select(IssuedLicenceRow.status_list, IssuedLicenceRow.status_idx).where(
                    IssuedLicenceRow.city == city, IssuedLicenceRow.document_number == document_number
                )
            ).first()
            if row is None:
                row = s.execute(
                    select(StatusEntry.list_id, StatusEntry.idx)
                    .where(StatusEntry.city == city, StatusEntry.document_number == document_number)
                    .order_by(StatusEntry.id.desc())
                    .limit(1)
                ).first()
        if row is None:
            raise ValueError(f"city {city} has issued no licence {document_number!r} in this database")
        return int(row[0]), int(row[1])

    def list_ids(self, city: str, *, session: Session | None = None) -> list[int]:
        """The city's lists (list 1 is started when there is none)."""
        with self._session(session) as s:
            return sorted(self._ensure_lists(s, city))

    # --- changes ---

    def change(
        self,
        city: str,
        action: str,
        *,
        now: dt.datetime,
        index: int | None = None,
        list_id: int | None = None,
        document_number: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        session: Session | None = None,
        who: str | None = None,
        request_id: str | None = None,
    ) -> StatusChange:
        """Revoke, suspend or reinstate one place (by ``index`` in ``list_id``, default 1, or by
        ``document_number``), and the licence row that holds it, in one transaction. Revocation
        is final: ``ValueError`` for suspending or reinstating a revoked place, and for an index
        outside the list."""
        if action not in ACTIONS:
            raise ValueError(f"action is one of {', '.join(ACTIONS)}")
        if reason is not None and (len(reason) > 500 or any(ord(c) < 32 for c in reason)):
            raise ValueError("the reason is one line of at most 500 characters")
        with self._session(session) as s:
            self._ensure_lists(s, city)  # (a city's first lists may come from its key store's files)
            if document_number is not None:
                list_id, index = self.find(city, document_number, session=s)
            elif index is None:
                raise ValueError("give an index or a document number")
            list_id = list_id or 1
            sizes = self._ensure_lists(s, city)
            if list_id not in sizes:
                raise ValueError(f"city {city} has no status list {list_id} (lists: {sorted(sizes)})")
            if not 0 <= index < sizes[list_id]:
                raise ValueError(
                    f"index {index} is outside status list {list_id} (0 .. {sizes[list_id] - 1})"
                )
            # the licence row first, then the entry: the same lock order as the API's renew/revoke
            licence = s.scalar(
                select(IssuedLicenceRow)
                .where(
                    IssuedLicenceRow.city == city,
                    IssuedLicenceRow.status_list == list_id,
                    IssuedLicenceRow.status_idx == index,
                )
                .with_for_update()
            )
            entry = s.scalar(
                select(StatusEntry)
                .where(StatusEntry.city == city, StatusEntry.list_id == list_id, StatusEntry.idx == index)
                .with_for_update()
            )
            before = Status(entry.status) if entry is not None else Status.VALID
            if before is Status.REVOKED and action != "revoke":
                raise ValueError(
                    f"licence at index {index} of {status_uri(city, list_id)} is revoked, and a revocation "
                    "is final: issue a new licence instead"
                )
            if action == "revoke":
                after = Status.REVOKED
            elif action == "suspend":
                after = Status.SUSPENDED
            else:
                after = Status.VALID
            holder = entry.document_number if entry is not None else None
            result = StatusChange(city, list_id, index, holder or document_number, before, after)
            if dry_run or not result.changed:
                return result
            if entry is None:
                try:
                    with s.begin_nested():
                        s.add(
                            StatusEntry(
                                city=city,
                                list_id=list_id,
                                idx=index,
                                document_number=None,
                                status=int(after),
                                updated=now,
                            )
                        )
                except IntegrityError:  # recorded meanwhile: change it under its lock
                    s.execute(
                        update(StatusEntry)
                        .where(
                            StatusEntry.city == city, StatusEntry.list_id == list_id, StatusEntry.idx == index
                        )
                        .values(status=int(after), updated=now)
                    )
            else:
                entry.status, entry.updated = int(after), now
            if licence is not None:
                licence.state, licence.updated = _STATE[after], now
                licence.state_reason = reason if after is not Status.VALID else None
            number = result.document_number
            add_audit(
                s,
                who=who or self.who,
                what=f"{action} {city}",
                when=now,
                request_id=request_id or f"local-{uuid.uuid4().hex}",
                subject=subject_hash(city, number) if number else f"{list_id}:{index}",
            )
            s.flush()
        return result

    # --- publishing ---

    def _bits(self, s: Session, city: str, list_id: int, size: int) -> StatusList:
        bits = StatusList(size)
        rows = s.execute(
            select(StatusEntry.idx, StatusEntry.status).where(
                StatusEntry.city == city, StatusEntry.list_id == list_id, StatusEntry.status != 0
            )
        )
        for idx, value in rows:
            bits.set(int(idx), int(value))
        return bits

    def publish(
        self,
        city: str,
        *,
        now: dt.datetime,
        valid_hours: int = DEFAULT_VALID_HOURS,
        list_ids: list[int] | None = None,
        dry_run: bool = False,
        session: Session | None = None,
        who: str | None = None,
        request_id: str | None = None,
    ) -> list[PublishedList]:
        """Sign the city's lists (``list_ids``, default all) as of ``now``, each with the next
        sequence of its URI, recorded (with the bytes) in the same transaction."""
        publisher = ListPublisher.of(self.admin, city, now=now, valid_hours=valid_hours)
        out: list[PublishedList] = []
        with self._session(session) as s:
            self._ensure_lists(s, city)  # list 1 at least, so that there is one to publish
            rows = {
                r.list_id: r
                for r in s.scalars(
                    select(StatusListRow)
                    .where(StatusListRow.city == city)
                    .order_by(StatusListRow.list_id)
                    .with_for_update()
                )
            }
            wanted = sorted(rows) if list_ids is None else list_ids
            for lid in wanted:
                if lid not in rows:
                    raise ValueError(f"city {city} has no status list {lid} (lists: {sorted(rows)})")
            for lid in wanted:
                row = rows[lid]
                sequence = int(row.sequence) + 1
                published = publisher.sign(lid, self._bits(s, city, lid, row.size), sequence, row.size)
                out.append(published)
                if not dry_run:
                    row.sequence, row.published, row.published_at = sequence, published.data, now
            if not dry_run:
                add_audit(
                    s,
                    who=who or self.who,
                    what=(f"publish {city} " + ",".join(f"{p.list_id}#{p.sequence}" for p in out))[:200],
                    when=now,
                    request_id=request_id or f"local-{uuid.uuid4().hex}",
                )
            s.flush()
        return out

    def published(self, city: str, *, session: Session | None = None) -> list[StatusListRow]:
        """The city's lists as last published (rows with ``published`` bytes), by list id."""
        with self._session(session) as s:
            return list(
                s.scalars(
                    select(StatusListRow)
                    .where(StatusListRow.city == city, StatusListRow.published.is_not(None))
                    .order_by(StatusListRow.list_id)
                )
            )


def _check_doc(document_number: str) -> None:
    if not isinstance(document_number, str) or _DOC.fullmatch(document_number) is None:
        raise ValueError("a document number is 1 to 100 printable characters")


class FileStatusStore:
    """The key store's files own the indices (``edl.city_status.CityStatus``; ``session`` is not
    used). Only ``allocate`` and ``status_of``: kept for callers written against the first
    interface; the service and ``edl status --db`` use :class:`DbStatusStore`."""

    def __init__(self, admin: Any) -> None:
        from edl.city_status import CityStatus

        self.city_status = CityStatus(admin)

    def allocate(
        self, session: Session | None, city: str, document_number: str, *, now: dt.datetime | None = None
    ) -> tuple[int, int, bool]:
        return self.city_status.allocate(city, document_number)

    def status_of(self, session: Session | None, city: str, list_id: int, index: int) -> Status:
        return self.city_status.status_of(city, list_id, index)
