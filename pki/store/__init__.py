"""The CA's store: SQLAlchemy models, Alembic migrations and the repository over them."""

from pki.store.database import SCHEMA_REVISION, sqlite_url
from pki.store.repository import (
    AuditRecord,
    CaRecord,
    CertificateRecord,
    RevocationState,
    Store,
    Transaction,
    parse_serial,
    serial_hex,
)

__all__ = [
    "SCHEMA_REVISION",
    "AuditRecord",
    "CaRecord",
    "CertificateRecord",
    "RevocationState",
    "Store",
    "Transaction",
    "parse_serial",
    "serial_hex",
    "sqlite_url",
]
