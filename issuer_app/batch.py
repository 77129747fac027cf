"""Batch issuing (``edl issuer batch-issue``): a city issues a file of licences straight from its
database, with no partner in between, and any number of worker processes on one or several
machines share the work through the database.

An input is a JSON Lines file; each line is ``{"licence": {...}, "device_key": "<base64 DER
SubjectPublicKeyInfo>"}`` (the licence as ``edl.model.Licence.from_json`` reads it). Proof of
possession is waived: the batch runs under the city's own authority (database access, the key
store), and the audit log says so (``what`` is ``batch-issue <city>``, ``who`` is
``batch:<host>:<pid>``), one row when a worker starts and one per line.

How the work is shared and never done twice:

* :func:`load` stores the input once, keyed by its SHA-256 (:class:`BatchRun`, one
  :class:`BatchItem` per line, ``pending``). Loading again, from any machine, attaches to it:
  that is what makes a batch resumable.
* :func:`work` claims a few pending items at a time (:data:`CLAIM`; PostgreSQL: ``SELECT ... FOR UPDATE SKIP
  LOCKED``, so workers never wait for each other; SQLite: the transaction is ``BEGIN
  IMMEDIATE``, one writer at a time), issues each with :func:`issuer_app.issuing.issue_one` and
  marks it ``done`` (or ``refused`` with the library's code, a savepoint undoing that line's
  writes) **in the same transaction**. A worker killed half-way leaves a transaction that never
  committed: its items are still pending and the next worker takes them; nothing is issued twice.

A line's payload (personal data) is cleared once the line is done or refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from edl.errors import EdlError

from .db import Base
from .errors import AppError
from .issuing import IssuingContext, add_audit, issue_one, subject_hash

__all__ = [
    "MAX_LINE",
    "BatchItem",
    "BatchRun",
    "Counts",
    "Refusal",
    "counts",
    "load",
    "refusals",
    "work",
    "worker_name",
]

MAX_LINE = 4 * 1024 * 1024  # a line longer than this is refused without being stored
PENDING, DONE, REFUSED = "pending", "done", "refused"
_CHUNK = 500
CLAIM = 16  # lines claimed, issued and committed together by a worker


class BatchRun(Base):
    """One input file, loaded once: its SHA-256 is the batch's name."""

    __tablename__ = "batch_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    input_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    city: Mapped[str] = mapped_column(String(63))
    lines: Mapped[int] = mapped_column(Integer)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BatchItem(Base):
    """One line of an input: ``pending`` until a worker issues it (``done``) or refuses it."""

    __tablename__ = "batch_items"
    __table_args__ = (Index("ix_batch_items_state", "batch_id", "state", "line_no"),)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based, as an editor shows
    state: Mapped[str] = mapped_column(String(10))
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # cleared when done or refused
    code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message: Mapped[str | None] = mapped_column(String(300), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def worker_name() -> str:
    return f"batch:{socket.gethostname()[:60]}:{os.getpid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- loading --------------------------------------------------------------------------------


def input_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, refusal) for each non-blank line; a line that is too long or not
    UTF-8 comes with its refusal instead of its text."""
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            if len(raw) > MAX_LINE:
                yield n, None, f"the line is longer than {MAX_LINE} bytes"
                continue
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                yield n, None, "the line is not UTF-8"
                continue
            if text:
                yield n, text, None


@dataclass(frozen=True)
class Loaded:
    run_id: int
    sha256: str
    lines: int
    new: bool  # this call stored it (False: it was there, this run attaches)


def load(sessions: sessionmaker[Session], path: Path, city: str) -> Loaded:
    """Store the input once (keyed by its SHA-256) or attach to the batch stored before.

    Raises ``ValueError`` when this input was stored as a batch for another city.
    """
    digest = input_digest(path)

    def existing() -> Loaded | None:
        with sessions() as s:
            run = s.scalar(select(BatchRun).where(BatchRun.input_sha256 == digest))
            if run is None:
                return None
            if run.city != city:
                raise ValueError(f"this input was loaded as a batch for the city {run.city}, not {city}")
            return Loaded(run.id, digest, run.lines, False)

    found = existing()
    if found is not None:
        return found
    now = _now()
    try:
        with sessions() as s:
            run = BatchRun(input_sha256=digest, city=city, lines=0, created=now)
            s.add(run)
            s.flush()  # two loaders at once: the second one stops here (unique SHA-256)
            count, chunk = 0, []
            for n, text, refusal in _lines(path):
                count += 1
                chunk.append(
                    {
                        "batch_id": run.id,
                        "line_no": n,
                        "state": PENDING if refusal is None else REFUSED,
                        "payload": text,
                        "code": None if refusal is None else "malformed",
                        "message": refusal,
                        "updated": None if refusal is None else now,
                    }
                )
                if len(chunk) >= _CHUNK:
                    s.execute(insert(BatchItem), chunk)
                    chunk = []
            if chunk:
                s.execute(insert(BatchItem), chunk)
            run.lines = count
            s.commit()
            return Loaded(run.id, digest, count, True)
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found


# --- working ---------------------------------------------------------------------------------


class LineRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def parse_line(text: str) -> tuple[dict[str, Any], ec.EllipticCurvePublicKey]:
    """The licence JSON and the device key of one line, or ``LineRefused``."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise LineRefused("malformed", "the line is not JSON") from None
    if not isinstance(value, dict) or set(value) != {"licence", "device_key"}:
        raise LineRefused("malformed", 'a line is {"licence": {...}, "device_key": "<base64 DER SPKI>"}')
    licence, key_text = value["licence"], value["device_key"]
    if not isinstance(licence, dict):
        raise LineRefused("malformed", "licence is not a JSON object")
    if not isinstance(key_text, str) or len(key_text) > 4096:
        raise LineRefused("malformed", "device_key is not a base64 string")
    try:
        der = base64.b64decode(key_text.encode("ascii"), validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError, UnicodeEncodeError):
        raise LineRefused("malformed", "device_key is not base64 of a DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise LineRefused("unsupported", "device_key must be an EC P-256 key (ES256)")
    return licence, key


def _claim(s: Session, run_id: int, limit: int) -> list[BatchItem]:
    """Up to ``limit`` pending items, locked for this transaction (others skip them)."""
    q = (
        select(BatchItem)
        .where(BatchItem.batch_id == run_id, BatchItem.state == PENDING)
        .order_by(BatchItem.line_no)
        .limit(limit)
    )
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(s.scalars(q))


def _number_of(text: str | None) -> str | None:
    try:
        number = json.loads(text or "")["licence"]["document_number"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return number if isinstance(number, str) and len(number) <= 100 else None


def work(
    sessions: sessionmaker[Session],
    ctx: IssuingContext,
    run_id: int,
    city: str,
    *,
    who: str | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    on_item: Callable[[str], None] = lambda state: None,
) -> int:
    """Issue pending items of the batch until none is left (or ``keep_going()`` is false);
    returns how many this worker handled. Up to ``CLAIM`` items a transaction: claimed, issued
    and marked together (one commit, one WAL flush, for them all); a worker that dies leaves them
    all pending."""
    who = who or worker_name()
    with sessions() as s:
        add_audit(s, who=who, what=f"batch-start {city}", when=ctx.clock(), request_id=f"batch-{run_id}")
        s.commit()
    handled = 0
    while keep_going():
        with sessions() as s:
            claimed = _claim(s, run_id, CLAIM)
            if not claimed:
                return handled
            for item in claimed:
                _issue_item(s, ctx, item, run_id, city, who)
            s.commit()  # the licences and their lines' marks together
            handled += len(claimed)
            for item in claimed:
                on_item(item.state)
    return handled


def _issue_item(s: Session, ctx: IssuingContext, item: BatchItem, run_id: int, city: str, who: str) -> None:
    """Issue one claimed line inside ``s`` (a savepoint: a refusal undoes only this line) and mark it."""
    rid = f"batch-{run_id}-line-{item.line_no}"
    try:
        with s.begin_nested():
            licence, key = parse_line(item.payload or "")
            issue_one(ctx, s, licence=licence, device_key=key, city=city, who=who, request_id=rid,
                      what="batch-issue")  # fmt: skip
            s.flush()  # a concurrent issue of the same number fails here, inside the savepoint
        item.state, item.code, item.message = DONE, None, None
    except (LineRefused, AppError, EdlError) as e:
        message = e.message if isinstance(e, (LineRefused, AppError)) else e.diagnostics()
        item.state, item.code, item.message = REFUSED, e.code[:40], message[:300]
        number = _number_of(item.payload)
        add_audit(
            s,
            who=who,
            what=f"batch-issue {city}",
            when=ctx.clock(),
            request_id=rid,
            ok=False,
            subject=subject_hash(city, number) if number else None,
        )
    except IntegrityError:
        item.state, item.code = REFUSED, "already_issued"
        item.message = "this document number was issued meanwhile by another request"
    item.payload, item.worker, item.updated = None, who[:100], ctx.clock()


# --- reporting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    total: int
    done: int
    refused: int

    @property
    def pending(self) -> int:
        return self.total - self.done - self.refused


def counts(sessions: sessionmaker[Session], run_id: int) -> Counts:
    with sessions() as s:
        rows = dict(
            s.execute(
                select(BatchItem.state, func.count())
                .where(BatchItem.batch_id == run_id)
                .group_by(BatchItem.state)
            ).all()
        )
        s.rollback()
    total = sum(rows.values())
    return Counts(total, rows.get(DONE, 0), rows.get(REFUSED, 0))


@dataclass(frozen=True)
class Refusal:
    line: int
    code: str
    message: str


def refusals(sessions: sessionmaker[Session], run_id: int) -> list[Refusal]:
    with sessions() as s:
        rows = s.execute(
            select(BatchItem.line_no, BatchItem.code, BatchItem.message)
            .where(BatchItem.batch_id == run_id, BatchItem.state == REFUSED)
            .order_by(BatchItem.line_no)
        ).all()
        s.rollback()
    return [Refusal(n, c or "refused", m or "") for n, c, m in rows]


# --- running: the workers of this machine ------------------------------------------------------


class BatchError(Exception):
    """The batch cannot go on (database, key store, input): one sentence naming the fix."""


def _open_keystore(folder: Path, passphrase: bytes) -> Any:
    """The key store as the CLI opens it (file, or PKCS#11 when the folder says so)."""
    from edl.cli.common import UsageError, open_keystore

    var = "EDL_KEYSTORE_PASSPHRASE"
    old = os.environ.get(var)
    os.environ[var] = passphrase.decode()
    try:
        return open_keystore(str(folder))
    except UsageError as e:
        raise BatchError(str(e)) from None
    finally:
        if old is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = old


def _status_store(engine: Any, admin: Any) -> Any:
    """The service's status store: the database's when the service has one."""
    from . import status_store

    db_store = getattr(status_store, "DbStatusStore", None)
    return db_store(engine, admin) if db_store is not None else status_store.FileStatusStore(admin)


@dataclass
class Setup:
    engine: Any
    sessions: sessionmaker[Session]
    ctx: IssuingContext


def open_setup(db_url: str, keystore_dir: Path, passphrase: bytes, city: str) -> Setup:
    """Database (migrated to head) and issuing context; the city's signer is tried once, so a
    wrong passphrase or an unknown city stops the batch before it starts."""
    from sqlalchemy.exc import SQLAlchemyError

    from edl.city import CityAdmin

    from .db import make_engine, make_sessions, migrate

    try:
        engine = make_engine(db_url)
        migrate(engine)
    except (SQLAlchemyError, OSError, ValueError) as e:
        raise BatchError(f"cannot open the database: {type(e).__name__}") from None
    admin = CityAdmin(keystore_dir, _open_keystore(keystore_dir, passphrase))
    try:
        admin.document_signer(city)
    except EdlError as e:
        raise BatchError(f"cannot sign for {city}: {e.diagnostics()}") from None
    ctx = IssuingContext(admin=admin, clock=_now, status=_status_store(engine, admin))
    return Setup(engine, make_sessions(engine), ctx)


def _worker_main(
    db_url: str, keystore_dir: str, passphrase: bytes, run_id: int, city: str, parent: int
) -> None:
    """A worker process: issue until nothing is pending, or until its parent is gone (killed)."""
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    stop = stop_on_interrupt()
    try:
        setup = open_setup(db_url, Path(keystore_dir), passphrase, city)
        work(
            setup.sessions, setup.ctx, run_id, city, keep_going=lambda: os.getppid() == parent and not stop()
        )
    except KeyboardInterrupt:  # a second Ctrl-C: the transaction under way rolls back
        sys.exit(130)
    except BatchError as e:
        print(f"edl: batch worker {os.getpid()}: {e}", file=sys.stderr)
        sys.exit(2)
    except SQLAlchemyError as e:
        print(f"edl: batch worker {os.getpid()}: the database failed ({type(e).__name__})", file=sys.stderr)
        sys.exit(2)


def stop_on_interrupt() -> Callable[[], bool]:
    """Ctrl-C (SIGINT) asks to stop after the claim under way is committed, rather than
    interrupting Python wherever it is (inside the database driver or the pool); a second
    Ctrl-C interrupts at once. Returns a function that says whether a stop was asked."""
    import signal

    asked = [False]

    def handler(signum: int, frame: Any) -> None:
        if asked[0]:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        asked[0] = True

    signal.signal(signal.SIGINT, handler)
    return lambda: asked[0]


def run_workers(
    setup: Setup,
    *,
    db_url: str,
    keystore_dir: Path,
    passphrase: bytes,
    run_id: int,
    city: str,
    workers: int,
    on_progress: Callable[[Counts], None],
    stall: float = 60.0,
    keep_going: Callable[[], bool] = lambda: True,
) -> Counts:
    """Run ``workers`` processes (1: this one) until the batch has nothing pending; items held by
    workers on other machines are waited for (and taken over if their worker dies). Raises
    ``BatchError`` when a worker fails or nothing moves for ``stall`` seconds, and
    ``KeyboardInterrupt`` once ``keep_going()`` turns false (after the work under way is
    committed: a Ctrl-C reaches this process and its workers, each of which stops on its own)."""
    import multiprocessing
    import time

    def tick() -> Counts:
        c = counts(setup.sessions, run_id)
        on_progress(c)
        return c

    shown = [0.0]

    def item_done(state: str) -> None:
        if time.monotonic() - shown[0] > 0.2:
            shown[0] = time.monotonic()
            tick()

    last, last_change = tick(), time.monotonic()
    while True:
        if workers <= 1:
            work(setup.sessions, setup.ctx, run_id, city, on_item=item_done, keep_going=keep_going)
        else:
            spawn = multiprocessing.get_context("spawn")
            procs = [
                spawn.Process(
                    target=_worker_main,
                    args=(db_url, str(keystore_dir), passphrase, run_id, city, os.getpid()),
                    daemon=True,
                )
                for _ in range(workers)
            ]
            for p in procs:
                p.start()
            try:
                while any(p.is_alive() for p in procs):
                    for p in procs:
                        p.join(0.25)
                    tick()
            finally:
                for p in procs:
                    if p.is_alive():
                        p.terminate()
                    p.join()
            failed = [p.exitcode for p in procs if p.exitcode not in (0, None)]
            if not keep_going():
                raise KeyboardInterrupt
            if failed:
                raise BatchError(
                    f"{len(failed)} of {workers} workers failed: run the same command again to resume"
                )
        if not keep_going():
            raise KeyboardInterrupt
        c = tick()
        if c.pending == 0:
            return c
        if (c.done, c.refused) != (last.done, last.refused):
            last, last_change = c, time.monotonic()
        elif time.monotonic() - last_change > stall:
            raise BatchError(
                f"{c.pending} lines are held by other workers and none moved for {stall:.0f} s: "
                "run the same command again to resume"
            )
        time.sleep(0.5)  # lines held by workers elsewhere: wait for them, take over if one dies
