"""The contract registry: which eMAID belongs to which vehicle (PCID), and whether it may be used.

A contract binds an eMAID (ISO 15118-2 Annex H, stored canonically with its check character) to the
PCID of the vehicle's OEM provisioning certificate, with a status (``active``, ``blocked``,
``expired``) and an optional last day of validity. The installation service issues contract
certificates for active contracts only; Authorize answers ``ContractCancelled`` for eMAIDs listed
as blocked or expired (docs/plug-and-charge.md).

Every change is one committed transaction together with its audit entry (the store's append-only
log); a refused change writes nothing. Lives in the CA's store (table ``contracts``, migration 0002).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import DBAPIError, IntegrityError

from pki.errors import AlreadyExistsError, IdentifierError, NotFoundError, PkiError, StoreError
from pki.identifiers import (
    ALPHABET,
    RULE_EMAID,
    emaid_check_character,
    emaid_with_check_character,
    validate_pcid,
)
from pki.store import Store, Transaction
from pki.store.database import error_summary
from pki.store.models import Base, Contract

if TYPE_CHECKING:
    from pki.ca import CaService

_CONTRACTS = Base.metadata.tables[Contract.__tablename__]


class ContractError(PkiError):
    """A contract operation is refused (bad status, a PCID already bound, a bad date)."""


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    EXPIRED = "expired"

    @classmethod
    def parse(cls, text: str) -> ContractStatus:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ContractError(
                f"unknown contract status {text!r}: use one of {', '.join(s.value for s in cls)}"
            ) from None


@dataclass(frozen=True)
class ContractRecord:
    """One contract as the registry holds it."""

    emaid: str
    pcid: str | None
    status: ContractStatus
    valid_to: dt.date | None
    certificate_serial: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def effective_status(self, at: dt.datetime) -> ContractStatus:
        """The status at ``at``: an active contract past its last valid day counts as expired."""
        valid_to = self.valid_to
        if (
            self.status is ContractStatus.ACTIVE
            and valid_to is not None
            and at.astimezone(dt.UTC).date() > valid_to
        ):
            return ContractStatus.EXPIRED
        return self.status

    def summary(self) -> dict[str, Any]:
        return {
            "emaid": self.emaid,
            "pcid": self.pcid,
            "status": self.status.value,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "certificate_serial": self.certificate_serial,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


def canonical_emaid(emaid: str) -> str:
    """The registry's key of an eMAID: upper case, no separators, with its check character."""
    return emaid_with_check_character(emaid)


def parse_valid_to(text: str) -> dt.date:
    """A ``--valid-to`` value: an ISO date, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ContractError(f"--valid-to {text!r} is not a date in the form YYYY-MM-DD") from None


def provisioned_emaid(prefix: str, pcid: str) -> str:
    """The eMAID the auto-provisioning policy gives the vehicle ``pcid``: the 5-character country +
    provider ``prefix``, an instance derived from the PCID (SHA-256, base 36, 9 characters), and the
    check character. The same PCID always gets the same eMAID."""
    body_prefix = prefix.replace("-", "").upper()
    if len(body_prefix) != 5 or not body_prefix[:2].isalpha() or any(c not in ALPHABET for c in body_prefix):
        raise IdentifierError(
            RULE_EMAID,
            f"auto-provisioning prefix {prefix!r}: expected country (2 letters) and provider (3 letters or digits), e.g. DE-PNC",
        )
    number = int.from_bytes(hashlib.sha256(validate_pcid(pcid).encode()).digest(), "big")
    instance = ""
    for _ in range(9):
        number, digit = divmod(number, 36)
        instance += ALPHABET[digit]
    body = body_prefix + instance
    return body + emaid_check_character(body)


def _record(row: RowMapping) -> ContractRecord:
    return ContractRecord(
        emaid=row["emaid"],
        pcid=row["pcid"],
        status=ContractStatus(row["status"]),
        valid_to=row["valid_to"],
        certificate_serial=row["certificate_serial"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ContractRegistry:
    """The contracts of one store. ``actor`` and ``clock`` go into every audit entry."""

    def __init__(self, store: Store, *, actor: str, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.actor = actor
        self.clock = clock

    @classmethod
    def of(cls, service: CaService) -> ContractRegistry:
        """The registry in the store of a CA service, acting as its actor on its clock."""
        return cls(service.store, actor=service.actor, clock=service.clock)

    # -- reading

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.store.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"store failure: {error_summary(exc)}") from None

    def find(self, emaid: str) -> ContractRecord | None:
        """The contract of ``emaid`` (any spelling), or None."""
        key = canonical_emaid(emaid)
        with self._read() as conn:
            row = conn.execute(select(_CONTRACTS).where(_CONTRACTS.c.emaid == key)).mappings().first()
        return _record(row) if row is not None else None

    def get(self, emaid: str) -> ContractRecord:
        found = self.find(emaid)
        if found is None:
            raise NotFoundError(f"no contract with eMAID {canonical_emaid(emaid)} in the registry")
        return found

    def for_pcid(self, pcid: str) -> list[ContractRecord]:
        """Every contract of the vehicle ``pcid``, the active one first, then the newest."""
        with self._read() as conn:
            rows = conn.execute(
                select(_CONTRACTS)
                .where(_CONTRACTS.c.pcid == pcid)
                .order_by((_CONTRACTS.c.status != ContractStatus.ACTIVE.value), _CONTRACTS.c.id.desc())
            ).mappings()
            return [_record(row) for row in rows]

    def list(self, *, status: ContractStatus | None = None) -> list[ContractRecord]:
        query = select(_CONTRACTS).order_by(_CONTRACTS.c.id)
        if status is not None:
            query = query.where(_CONTRACTS.c.status == status.value)
        with self._read() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(_CONTRACTS)).scalar_one())

    # -- changes (each one transaction with its audit entry)

    def _audit(self, tx: Transaction, audit_action: str, record: ContractRecord, **extra: Any) -> None:
        details = {k: v for k, v in record.summary().items() if k not in ("created_at", "updated_at")}
        tx.audit(
            at=self.clock(),
            actor=self.actor,
            action=audit_action,
            subject=f"eMAID={record.emaid}",
            serial=record.certificate_serial,
            details={**details, **extra},
        )

    def _fetch(self, tx: Transaction, key: str) -> ContractRecord:
        row = (
            tx.session.execute(select(_CONTRACTS).where(_CONTRACTS.c.emaid == key).with_for_update())
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"no contract with eMAID {key} in the registry")
        return _record(row)

    def add(
        self,
        emaid: str,
        *,
        pcid: str | None = None,
        status: ContractStatus = ContractStatus.ACTIVE,
        valid_to: dt.date | None = None,
        action: str = "contract-add",
    ) -> ContractRecord:
        """Register a contract; an eMAID already registered, or a second active contract for the
        same PCID, is refused."""
        key = canonical_emaid(emaid)
        pcid = validate_pcid(pcid) if pcid is not None else None
        now = self.clock().replace(microsecond=0)
        record = ContractRecord(key, pcid, ContractStatus(status), valid_to, None, now, now)

        with self.store.transaction() as tx:
            if tx.session.execute(select(_CONTRACTS.c.id).where(_CONTRACTS.c.emaid == key)).first():
                raise AlreadyExistsError(f"eMAID {key} is already in the registry")
            if record.status is ContractStatus.ACTIVE:
                self._check_pcid_free(tx, pcid)
            try:
                tx.session.execute(insert(_CONTRACTS).values(**_row(record)))
            except IntegrityError:  # a concurrent add won the race between the checks and the insert
                raise ContractError(
                    f"eMAID {key} or an active contract for PCID {pcid} was added at the same moment"
                ) from None
            self._audit(tx, action, record)
            return record

    def _check_pcid_free(self, tx: Transaction, pcid: str | None, but: str | None = None) -> None:
        if pcid is None:
            return
        query = select(_CONTRACTS.c.emaid).where(
            _CONTRACTS.c.pcid == pcid, _CONTRACTS.c.status == ContractStatus.ACTIVE.value
        )
        if but is not None:
            query = query.where(_CONTRACTS.c.emaid != but)
        other = tx.session.execute(query).scalar()
        if other is not None:
            raise ContractError(
                f"PCID {pcid} already has the active contract {other}; block or remove it first"
            )

    def set_status(self, emaid: str, status: ContractStatus) -> ContractRecord:
        """Change a contract's status (``block`` sets ``blocked``); a no-op change is refused."""
        key = canonical_emaid(emaid)
        with self.store.transaction() as tx:
            old = self._fetch(tx, key)
            if old.status is status:
                raise ContractError(f"contract {key} is already {status.value}")
            if status is ContractStatus.ACTIVE:
                self._check_pcid_free(tx, old.pcid, but=key)
            now = self.clock().replace(microsecond=0)
            try:
                tx.session.execute(
                    update(_CONTRACTS)
                    .where(_CONTRACTS.c.emaid == key)
                    .values(status=status.value, updated_at=now)
                )
            except IntegrityError:
                raise ContractError(
                    f"PCID {old.pcid} got another active contract at the same moment; try again"
                ) from None
            new = ContractRecord(
                old.emaid, old.pcid, status, old.valid_to, old.certificate_serial, old.created_at, now
            )
            self._audit(tx, f"contract-{_VERB[status]}", new, previous_status=old.status.value)
            return new

    def block(self, emaid: str) -> ContractRecord:
        return self.set_status(emaid, ContractStatus.BLOCKED)

    def remove(self, emaid: str) -> ContractRecord:
        """Delete a contract from the registry (its certificates stay in the store)."""
        key = canonical_emaid(emaid)
        with self.store.transaction() as tx:
            old = self._fetch(tx, key)
            tx.session.execute(delete(_CONTRACTS).where(_CONTRACTS.c.emaid == key))
            self._audit(tx, "contract-remove", old)
            return old

    def record_installation(
        self, tx: Transaction, emaid: str, serial: str, details: dict[str, Any]
    ) -> ContractRecord:
        """In ``tx``: remember the contract certificate the installation service issued for ``emaid``
        and audit the installation (``details`` must never hold key material)."""
        key = canonical_emaid(emaid)
        old = self._fetch(tx, key)
        now = self.clock().replace(microsecond=0)
        tx.session.execute(
            update(_CONTRACTS)
            .where(_CONTRACTS.c.emaid == key)
            .values(certificate_serial=serial, updated_at=now)
        )
        new = ContractRecord(old.emaid, old.pcid, old.status, old.valid_to, serial, old.created_at, now)
        self._audit(tx, "contract-install", new, **details)
        return new

    def undo_installation(
        self, tx: Transaction, emaid: str, serial: str, previous_serial: str | None
    ) -> None:
        """In ``tx``: the installation that issued ``serial`` failed before the EV got it, so the
        contract names its previous certificate again (if nothing newer replaced ``serial``)."""
        key = canonical_emaid(emaid)
        old = self._fetch(tx, key)
        if old.certificate_serial != serial:
            return
        now = self.clock().replace(microsecond=0)
        tx.session.execute(
            update(_CONTRACTS)
            .where(_CONTRACTS.c.emaid == key)
            .values(certificate_serial=previous_serial, updated_at=now)
        )
        new = ContractRecord(
            old.emaid, old.pcid, old.status, old.valid_to, previous_serial, old.created_at, now
        )
        self._audit(tx, "contract-install-undone", new, undone_serial=serial)


_VERB = {ContractStatus.ACTIVE: "activate", ContractStatus.BLOCKED: "block", ContractStatus.EXPIRED: "expire"}


def _row(record: ContractRecord) -> dict[str, Any]:
    return {
        "emaid": record.emaid,
        "pcid": record.pcid,
        "status": record.status.value,
        "valid_to": record.valid_to,
        "certificate_serial": record.certificate_serial,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


__all__ = [
    "ContractError",
    "ContractRecord",
    "ContractRegistry",
    "ContractStatus",
    "canonical_emaid",
    "parse_valid_to",
    "provisioned_emaid",
]
