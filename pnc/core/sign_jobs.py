"""The ``sign_jobs`` table (migration 0003): one row per certificate a station asked for with
SignCertificate, from Accepted until the station answered CertificateSigned.

Statuses: ``pending`` (accepted, not signed yet), ``signed`` (the certificate is issued and in
``serial_hex``; not yet accepted by the station), ``delivered`` (the station answered Accepted),
``rejected`` (the station answered Rejected), ``failed`` (every attempt failed, or the job was
superseded by a newer request of the station). ``pending`` and ``signed`` jobs are *open*: a
:class:`pnc.core.signing.SignJobRunner` finishes them, also after a restart.

Several bridge processes may share the store: signing moves a job from pending to signed in the
transaction that stores the certificate (so one job never gets two certificates), and each delivery
attempt is claimed by advancing ``attempts`` from the value the process read (so one attempt is
made by one process).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from pki.errors import NotFoundError, StoreError
from pki.store import Store, Transaction
from pki.store.models import Base, SignJob

_JOBS = Base.metadata.tables[SignJob.__tablename__]

PENDING = "pending"
SIGNED = "signed"
DELIVERED = "delivered"
REJECTED = "rejected"
FAILED = "failed"
OPEN = (PENDING, SIGNED)


class JobConflict(StoreError):
    """Another process moved the job on first (it signs or delivers it)."""


@dataclass(frozen=True)
class SignJobRecord:
    id: int
    station_id: str
    certificate_type: str
    csr_der: bytes
    status: str
    attempts: int
    serial_hex: str | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def summary(self) -> dict[str, Any]:
        """The job without its CSR, for the REST API and logs."""
        return {
            "id": self.id,
            "station_id": self.station_id,
            "certificate_type": self.certificate_type,
            "status": self.status,
            "attempts": self.attempts,
            "serial": self.serial_hex,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


def _record(row: Any) -> SignJobRecord:
    return SignJobRecord(
        id=row["id"],
        station_id=row["station_id"],
        certificate_type=row["certificate_type"],
        csr_der=bytes(row["csr_der"]),
        status=row["status"],
        attempts=row["attempts"],
        serial_hex=row["serial_hex"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SignJobs:
    """Reads and writes of ``sign_jobs`` in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- inside a caller's transaction

    def add(
        self, tx: Transaction, station_id: str, certificate_type: str, csr_der: bytes, now: dt.datetime
    ) -> int:
        new_id = tx.session.scalar(
            insert(_JOBS)
            .values(
                station_id=station_id,
                certificate_type=certificate_type,
                csr_der=csr_der,
                status=PENDING,
                attempts=0,
                serial_hex=None,
                last_error=None,
                created_at=now,
                updated_at=now,
            )
            .returning(_JOBS.c.id)
        )
        assert new_id is not None
        return int(new_id)

    def open_in(self, tx: Transaction, station_id: str, certificate_type: str) -> list[SignJobRecord]:
        rows = tx.session.execute(
            select(_JOBS)
            .where(
                _JOBS.c.station_id == station_id,
                _JOBS.c.certificate_type == certificate_type,
                _JOBS.c.status.in_(OPEN),
            )
            .with_for_update()
        ).mappings()
        return [_record(r) for r in rows]

    def mark_signed(self, tx: Transaction, job_id: int, serial: str, now: dt.datetime) -> None:
        done = tx.session.execute(
            update(_JOBS)
            .where(_JOBS.c.id == job_id, _JOBS.c.status == PENDING)
            .values(status=SIGNED, serial_hex=serial, updated_at=now)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise JobConflict(f"sign job {job_id} is no longer pending")

    def finish_in(
        self, tx: Transaction, job_id: int, status: str, error: str | None, now: dt.datetime
    ) -> None:
        tx.session.execute(
            update(_JOBS)
            .where(_JOBS.c.id == job_id, _JOBS.c.status.in_(OPEN))
            .values(status=status, last_error=error, updated_at=now)
        )

    # -- reads

    def get(self, job_id: int) -> SignJobRecord:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(_JOBS).where(_JOBS.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no sign job {job_id}")
        return _record(row)

    def list(self, *, station_id: str | None = None, open_only: bool = False) -> list[SignJobRecord]:
        query = select(_JOBS).order_by(_JOBS.c.id)
        if station_id is not None:
            query = query.where(_JOBS.c.station_id == station_id)
        if open_only:
            query = query.where(_JOBS.c.status.in_(OPEN))
        with self.store.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).mappings()]

    def count_open(self) -> int:
        with self.store.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(_JOBS).where(_JOBS.c.status.in_(OPEN))
                ).scalar_one()
            )

    # -- attempts (each its own short transaction)

    def claim_attempt(self, job_id: int, seen_attempts: int, now: dt.datetime) -> bool:
        """Count a delivery attempt, unless another process counted one since ``seen_attempts``."""
        with self.store.transaction() as tx:
            done = tx.session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job_id, _JOBS.c.attempts == seen_attempts, _JOBS.c.status == SIGNED)
                .values(attempts=seen_attempts + 1, updated_at=now)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    def release_attempt(self, job_id: int, claimed_attempts: int, now: dt.datetime, note: str) -> None:
        """Give back an attempt that never reached the station (it was not connected)."""
        with self.store.transaction() as tx:
            tx.session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job_id, _JOBS.c.attempts == claimed_attempts, _JOBS.c.status == SIGNED)
                .values(attempts=claimed_attempts - 1, last_error=note, updated_at=now)
            )

    def note_error_in(self, tx: Transaction, job_id: int, error: str, now: dt.datetime) -> None:
        tx.session.execute(update(_JOBS).where(_JOBS.c.id == job_id).values(last_error=error, updated_at=now))


__all__ = [
    "DELIVERED",
    "FAILED",
    "OPEN",
    "PENDING",
    "REJECTED",
    "SIGNED",
    "JobConflict",
    "SignJobRecord",
    "SignJobs",
]
