"""The CA store: CAs, certificates, revocations, CRL numbers, counters, the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pki.store.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The audit log is append-only: the database itself refuses to change or remove an entry.
_SQLITE_AUDIT_GUARDS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
]
_POSTGRES_AUDIT_GUARDS = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # certificates.issuer_ca_id and cas.certificate_id refer to each other: SQLite accepts the
    # forward reference inline, other databases get the constraint once both tables exist.
    issuer_fk = (
        [sa.ForeignKeyConstraint(["issuer_ca_id"], ["cas.id"], name="fk_certificates_issuer_ca_id_cas")]
        if sqlite
        else []
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial_hex", sa.String(42), nullable=False),
        sa.Column("issuer_ca_id", sa.Integer(), nullable=True),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("not_after", UtcDateTime(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        *issuer_fk,
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("serial_hex", name="uq_certificates_serial_hex"),
    )
    op.create_index("ix_certificates_issuer_ca_id", "certificates", ["issuer_ca_id"])
    op.create_index("ix_certificates_role", "certificates", ["role"])
    op.create_index("ix_certificates_not_after", "certificates", ["not_after"])
    op.create_table(
        "cas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("key_ref", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name="fk_cas_certificate_id_certificates"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cas"),
        sa.UniqueConstraint("name", name="uq_cas_name"),
    )
    if not sqlite:
        op.create_foreign_key(
            "fk_certificates_issuer_ca_id_cas", "certificates", "cas", ["issuer_ca_id"], ["id"]
        )
    op.create_table(
        "revocations",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name="fk_revocations_certificate_id_certificates"
        ),
        sa.PrimaryKeyConstraint("certificate_id", name="pk_revocations"),
    )
    op.create_table(
        "crls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ca_id", sa.Integer(), nullable=False),
        sa.Column("crl_number", sa.Integer(), nullable=False),
        sa.Column("this_update", UtcDateTime(), nullable=False),
        sa.Column("next_update", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ca_id"], ["cas.id"], name="fk_crls_ca_id_cas"),
        sa.PrimaryKeyConstraint("id", name="pk_crls"),
        sa.UniqueConstraint("ca_id", "crl_number", name="uq_crls_ca_number"),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.execute("INSERT INTO counters (name, value) VALUES ('revocation_epoch', 0)")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(512), nullable=True),
        sa.Column("serial_hex", sa.String(42), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_serial_hex", "audit_log", ["serial_hex"])
    for statement in _SQLITE_AUDIT_GUARDS if sqlite else _POSTGRES_AUDIT_GUARDS:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
        op.drop_constraint("fk_certificates_issuer_ca_id_cas", "certificates", type_="foreignkey")
    for table in ("audit_log", "counters", "crls", "revocations", "cas", "certificates"):
        op.drop_table(table)
