"""The CA's tables (SQLAlchemy 2 typed ORM). The schema itself is created by the Alembic migrations in
``pki/store/migrations``; a test proves the two agree.

Times are stored as UTC and read back timezone-aware. Serial numbers are lowercase hex without
leading zeros (the OCPP spelling), unique over the whole store so that ``pnc pki revoke SERIAL``
needs no issuer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC time")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CertificateAuthority(Base):
    """One key holder of the home: a CA, or an entity ``pnc pki init`` made with the CAs (the CPS
    leaf, a delegated OCSP responder); its profile and role, current certificate and key location."""

    __tablename__ = "cas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # "<profile>/<role>[/ocsp]"
    profile: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    key_ref: Mapped[str] = mapped_column(String(255))  # "file:keys/..." or "pkcs11:token=...;object=..."
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    certificate: Mapped[Certificate] = relationship(foreign_keys=[certificate_id], lazy="joined")


class Certificate(Base):
    """Every certificate the CA issued, CA certificates included."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_hex: Mapped[str] = mapped_column(String(42), unique=True)
    issuer_ca_id: Mapped[int | None] = mapped_column(ForeignKey("cas.id", use_alter=True), index=True)
    profile: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(512))
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="valid")  # valid | revoked
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    revocation: Mapped[Revocation | None] = relationship(back_populates="certificate", lazy="joined")


class Revocation(Base):
    """The revocation of one certificate (at most one; revocation is final)."""

    __tablename__ = "revocations"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(String(32))

    certificate: Mapped[Certificate] = relationship(back_populates="revocation")


class CrlRecord(Base):
    """Each CRL a CA published; the largest number is the CA's current CRL number (RFC 5280 5.2.3)."""

    __tablename__ = "crls"
    __table_args__ = (UniqueConstraint("ca_id", "crl_number", name="uq_crls_ca_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ca_id: Mapped[int] = mapped_column(ForeignKey("cas.id"))
    crl_number: Mapped[int] = mapped_column(Integer)
    this_update: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    next_update: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class StoreCounter(Base):
    """Small shared counters; ``revocation_epoch`` grows with every revocation so that every process
    sharing the store can drop its cached OCSP answers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """Append-only: a database trigger refuses UPDATE and DELETE on this table."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(512))
    serial_hex: Mapped[str | None] = mapped_column(String(42), index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON object


class Contract(Base):
    """A charging contract of the registry (pki/contracts.py): binds an eMAID to the PCID of the
    vehicle it is installed in, with a status and an end of validity. At most one active contract
    per PCID (a partial unique index)."""

    __tablename__ = "contracts"
    __table_args__ = (
        Index(
            "uq_contracts_active_pcid",
            "pcid",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    emaid: Mapped[str] = mapped_column(String(15), unique=True)  # canonical, with check character
    pcid: Mapped[str | None] = mapped_column(String(18), index=True)
    status: Mapped[str] = mapped_column(String(16))  # active | blocked | expired
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # last day of validity (UTC), inclusive
    certificate_serial: Mapped[str | None] = mapped_column(String(42))  # last one installed
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Station(Base):
    """A charging station known to the bridge (pnc/core/stations.py): its OCPP identity, the security
    profile it must connect with (1 Basic Auth, 2 TLS + Basic Auth, 3 mutual TLS) and, for profiles
    1 and 2, the hash of its Basic Auth password (never the password)."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(48), unique=True)  # OCPP identity (the URL path)
    security_profile: Mapped[int] = mapped_column(Integer)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ApiKey(Base):
    """A key of the operator REST API: a public id, the hash of its secret, a role
    (operator | security | readonly); revoked keys stay for the audit trail."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class SignJob(Base):
    """One SignCertificate request of a station, from Accepted to the station's answer to
    CertificateSigned, so that nothing stays "accepted but never signed" across restarts."""

    __tablename__ = "sign_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(48), index=True)
    certificate_type: Mapped[str] = mapped_column(String(32))  # V2GCertificate | ChargingStationCertificate
    csr_der: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|signed|delivered|rejected|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    serial_hex: Mapped[str | None] = mapped_column(String(42))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
