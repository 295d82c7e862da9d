"""The store's operations. Reads return plain frozen records; writes happen inside
:meth:`Store.transaction`, which commits (durably) when the block ends and rolls everything back
when it raises, so an operation and its audit entry land together or not at all."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, lazyload, sessionmaker

from pki.errors import AlreadyExistsError, NotFoundError, PkiError, StoreError
from pki.store.database import error_summary, make_engine, migrate
from pki.store.models import (
    AuditEntry,
    Base,
    Certificate,
    CertificateAuthority,
    CrlRecord,
    Revocation,
    StoreCounter,
)

REVOCATION_EPOCH = "revocation_epoch"
T = TypeVar("T")
# Built once: Core statements on the tables, executed with parameters (no per-call compilation)
_CERTIFICATES = Base.metadata.tables[Certificate.__tablename__]
_INSERT_CERTIFICATE = insert(_CERTIFICATES).returning(_CERTIFICATES.c.id)
_INSERT_AUDIT = insert(Base.metadata.tables[AuditEntry.__tablename__])
_HEX = re.compile(r"^[0-9a-f]+$")


def serial_hex(serial: int) -> str:
    """The store's (and OCPP's) spelling of a serial number: lowercase hex, no leading zeros."""
    return format(serial, "x")


def parse_serial(text: str) -> str:
    """A user's serial number (hex; ``0x``, colons and leading zeros allowed) in the store's spelling."""
    cleaned = text.strip().lower().replace(":", "")
    cleaned = cleaned.removeprefix("0x")
    if not cleaned or not _HEX.match(cleaned):
        raise PkiError(f"serial number {text!r} is not hexadecimal")
    stripped = cleaned.lstrip("0")
    return stripped or "0"


@dataclass(frozen=True)
class CaRecord:
    id: int
    name: str
    profile: str
    role: str
    key_ref: str
    certificate_der: bytes
    serial_hex: str
    not_after: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True)
class CertificateRecord:
    id: int
    serial_hex: str
    issuer: str | None  # the issuing CA's name; None for a root
    profile: str
    role: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: str
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    reason: str | None
    der: bytes

    def summary(self) -> dict[str, Any]:
        """The record without its DER, for tables and JSON."""
        return {
            "serial": self.serial_hex,
            "role": self.role,
            "profile": self.profile,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str | None
    serial_hex: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class RevocationState:
    """What the OCSP responder needs to know about one serial of one CA."""

    status: str  # good | revoked
    revoked_at: dt.datetime | None
    reason: str | None


def _ca_record(ca: CertificateAuthority) -> CaRecord:
    return CaRecord(
        id=ca.id,
        name=ca.name,
        profile=ca.profile,
        role=ca.role,
        key_ref=ca.key_ref,
        certificate_der=ca.certificate.der,
        serial_hex=ca.certificate.serial_hex,
        not_after=ca.certificate.not_after,
        created_at=ca.created_at,
    )


def _cert_record(cert: Certificate, issuer_names: Mapping[int, str]) -> CertificateRecord:
    rev = cert.revocation
    return CertificateRecord(
        id=cert.id,
        serial_hex=cert.serial_hex,
        issuer=issuer_names.get(cert.issuer_ca_id) if cert.issuer_ca_id is not None else None,
        profile=cert.profile,
        role=cert.role,
        subject=cert.subject,
        not_before=cert.not_before,
        not_after=cert.not_after,
        status=cert.status,
        issued_at=cert.issued_at,
        revoked_at=rev.revoked_at if rev else None,
        reason=rev.reason if rev else None,
        der=cert.der,
    )


class Transaction:
    """The writes of one unit of work (see :meth:`Store.transaction`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def serial_exists(self, serial: str) -> bool:
        found = self.session.scalar(select(Certificate.id).where(Certificate.serial_hex == serial))
        return found is not None

    def add_certificate(
        self,
        *,
        serial: str,
        issuer_ca_id: int | None,
        profile: str,
        role: str,
        subject: str,
        not_before: dt.datetime,
        not_after: dt.datetime,
        der: bytes,
        issued_at: dt.datetime,
    ) -> int:
        # Core INSERTs: the hot path of issuance needs no ORM objects
        values = {
            "serial_hex": serial,
            "issuer_ca_id": issuer_ca_id,
            "profile": profile,
            "role": role,
            "subject": subject,
            "not_before": not_before,
            "not_after": not_after,
            "der": der,
            "status": "valid",
            "issued_at": issued_at,
        }
        try:
            new_id = self.session.scalar(_INSERT_CERTIFICATE, values)
        except IntegrityError:
            raise AlreadyExistsError(f"serial number {serial} is already in the store") from None
        assert new_id is not None
        return int(new_id)

    def add_ca(
        self, *, name: str, profile: str, role: str, certificate_id: int, key_ref: str, at: dt.datetime
    ) -> int:
        ca = CertificateAuthority(
            name=name,
            profile=profile,
            role=role,
            certificate_id=certificate_id,
            key_ref=key_ref,
            created_at=at,
        )
        self.session.add(ca)
        try:
            self.session.flush()
        except IntegrityError:
            raise AlreadyExistsError(f"CA {name} already exists in the store") from None
        return ca.id

    def revoke(self, serial: str, *, revoked_at: dt.datetime, reason: str) -> None:
        """Mark ``serial`` revoked and advance the revocation epoch (OCSP caches watch it)."""
        cert = self.session.scalar(
            select(Certificate)
            .options(lazyload(Certificate.revocation))
            .where(Certificate.serial_hex == serial)
            .with_for_update()
        )
        if cert is None:
            raise NotFoundError(f"no certificate with serial number {serial} in the store")
        if cert.status == "revoked":
            raise AlreadyExistsError(f"certificate {serial} is already revoked")
        cert.status = "revoked"
        self.session.add(Revocation(certificate_id=cert.id, revoked_at=revoked_at, reason=reason))
        self._bump(REVOCATION_EPOCH)
        self.session.flush()

    def _bump(self, name: str) -> None:
        # the row exists from the first migration on, so concurrent bumps never race on an insert
        self.session.execute(
            update(StoreCounter).where(StoreCounter.name == name).values(value=StoreCounter.value + 1)
        )

    def next_crl_number(self, ca_id: int, this_update: dt.datetime, next_update: dt.datetime) -> int:
        """Reserve the CA's next CRL number (monotonically increasing, RFC 5280 5.2.3)."""
        last = self.session.scalar(select(func.max(CrlRecord.crl_number)).where(CrlRecord.ca_id == ca_id))
        number = (last or 0) + 1
        self.session.add(
            CrlRecord(ca_id=ca_id, crl_number=number, this_update=this_update, next_update=next_update)
        )
        try:
            self.session.flush()
        except IntegrityError:
            raise StoreError("another process published a CRL at the same moment; try again") from None
        return number

    def audit(
        self,
        *,
        at: dt.datetime,
        actor: str,
        action: str,
        subject: str | None = None,
        serial: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.session.execute(
            _INSERT_AUDIT,
            {
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "serial_hex": serial,
                "details": json.dumps(dict(details or {}), sort_keys=True, default=str),
            },
        )


class _Pending(Generic[T]):
    """A piece of work waiting for a group commit."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Transaction], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: Exception | BaseException | None = None
        self.done = False


class Store:
    """The CA's database (SQLite file or PostgreSQL); migrated to the current schema on open."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        try:
            migrate(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pending: list[_Pending[Any]] = []
        self._pending_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A unit of work: committed when the block ends, rolled back entirely if it raises."""
        session = self._sessions()
        try:
            yield Transaction(session)
            session.commit()
        except PkiError:
            session.rollback()
            raise
        except IntegrityError as exc:
            session.rollback()
            raise StoreError(f"the store refused the change: {error_summary(exc)}") from None
        except DBAPIError as exc:
            session.rollback()
            raise StoreError(f"store failure: {error_summary(exc)}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def submit(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in a committed transaction, sharing the commit with concurrent callers.

        Group commit: while one thread commits (the disk flush of SQLite's WAL or PostgreSQL's),
        other threads queue their work; the next of them commits everything queued in one
        transaction. Each caller returns only after the transaction holding its work is durable.
        If a shared transaction fails, every piece of work is retried in a transaction of its own,
        so one caller's refusal never undoes another's.
        """
        item: _Pending[T] = _Pending(work)
        with self._pending_lock:
            self._pending.append(item)
        with self._commit_lock:
            if not item.done:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._commit_batch(batch)
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]

    def _commit_batch(self, batch: list[_Pending[Any]]) -> None:
        try:
            if len(batch) > 1:
                try:
                    with self.transaction() as tx:
                        results = [item.work(tx) for item in batch]
                except Exception:  # noqa: S110 - retried one by one below, where errors are kept
                    pass
                else:
                    for item, result in zip(batch, results, strict=True):
                        item.result = result
                    return
            for item in batch:
                try:
                    with self.transaction() as tx:
                        item.result = item.work(tx)
                except Exception as exc:
                    item.error = exc
        except BaseException as exc:
            for item in batch:
                if item.result is None and item.error is None:
                    item.error = exc
            raise
        finally:
            for item in batch:
                item.done = True

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        except DBAPIError as exc:
            raise StoreError(f"store failure: {error_summary(exc)}") from None
        finally:
            session.close()

    # -- CAs

    def cas(self, profile: str | None = None) -> list[CaRecord]:
        with self._read() as s:
            query = select(CertificateAuthority).order_by(CertificateAuthority.id)
            if profile is not None:
                query = query.where(CertificateAuthority.profile == profile)
            return [_ca_record(ca) for ca in s.scalars(query)]

    def ca(self, name: str) -> CaRecord:
        with self._read() as s:
            ca = s.scalar(select(CertificateAuthority).where(CertificateAuthority.name == name))
            if ca is None:
                raise NotFoundError(f"no CA named {name!r} in the store")
            return _ca_record(ca)

    def _issuer_names(self, s: Session) -> dict[int, str]:
        rows = s.execute(select(CertificateAuthority.id, CertificateAuthority.name))
        return {ca_id: name for ca_id, name in rows}

    # -- certificates

    def certificate(self, serial: str) -> CertificateRecord:
        with self._read() as s:
            cert = s.scalar(select(Certificate).where(Certificate.serial_hex == serial))
            if cert is None:
                raise NotFoundError(f"no certificate with serial number {serial} in the store")
            return _cert_record(cert, self._issuer_names(s))

    def certificates(
        self,
        *,
        role: str | None = None,
        profile: str | None = None,
        expiring_before: dt.datetime | None = None,
        revoked: bool | None = None,
        issuer_ca_id: int | None = None,
    ) -> list[CertificateRecord]:
        with self._read() as s:
            query = select(Certificate).order_by(Certificate.id)
            if role is not None:
                query = query.where(Certificate.role == role)
            if profile is not None:
                query = query.where(Certificate.profile == profile)
            if expiring_before is not None:
                query = query.where(Certificate.not_after <= expiring_before)
            if revoked is not None:
                query = query.where(Certificate.status == ("revoked" if revoked else "valid"))
            if issuer_ca_id is not None:
                query = query.where(Certificate.issuer_ca_id == issuer_ca_id)
            names = self._issuer_names(s)
            return [_cert_record(c, names) for c in s.scalars(query).unique()]

    def revocation_state(self, issuer_ca_id: int, serial: str) -> RevocationState | None:
        """Status of ``serial`` as issued by the CA ``issuer_ca_id``; None when that CA never issued it."""
        with self._read() as s:
            row = s.execute(
                select(Certificate.status, Revocation.revoked_at, Revocation.reason)
                .outerjoin(Revocation, Revocation.certificate_id == Certificate.id)
                .where(Certificate.serial_hex == serial, Certificate.issuer_ca_id == issuer_ca_id)
            ).first()
            if row is None:
                return None
            status, revoked_at, reason = row
            return RevocationState(
                status="revoked" if status == "revoked" else "good", revoked_at=revoked_at, reason=reason
            )

    def revoked_entries(self, issuer_ca_id: int) -> list[tuple[str, dt.datetime, str]]:
        """(serial, revocation time, reason) of every revoked certificate the CA issued."""
        with self._read() as s:
            rows = s.execute(
                select(Certificate.serial_hex, Revocation.revoked_at, Revocation.reason)
                .join(Revocation, Revocation.certificate_id == Certificate.id)
                .where(Certificate.issuer_ca_id == issuer_ca_id)
                .order_by(Revocation.revoked_at)
            )
            return [(serial, revoked_at, reason) for serial, revoked_at, reason in rows]

    # -- counters and audit

    def revocation_epoch(self) -> int:
        with self._read() as s:
            value = s.scalar(select(StoreCounter.value).where(StoreCounter.name == REVOCATION_EPOCH))
            return int(value or 0)

    def audit_entries(self, *, serial: str | None = None) -> list[AuditRecord]:
        with self._read() as s:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if serial is not None:
                query = query.where(AuditEntry.serial_hex == serial)
            return [
                AuditRecord(
                    id=e.id,
                    at=e.at,
                    actor=e.actor,
                    action=e.action,
                    subject=e.subject,
                    serial_hex=e.serial_hex,
                    details=json.loads(e.details),
                )
                for e in s.scalars(query)
            ]

    def row_counts(self) -> dict[str, int]:
        """Rows per table: tests compare them before and after a refused operation."""
        with self._read() as s:
            return {
                model.__tablename__: int(s.scalar(select(func.count()).select_from(model)) or 0)
                for model in (
                    CertificateAuthority,
                    Certificate,
                    Revocation,
                    CrlRecord,
                    StoreCounter,
                    AuditEntry,
                )
            }
