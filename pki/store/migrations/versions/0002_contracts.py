"""The contract registry: eMAID, the PCID of the vehicle, status, validity, last installed serial.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pki.store.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("emaid", sa.String(15), nullable=False),
        sa.Column("pcid", sa.String(18), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("certificate_serial", sa.String(42), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
        sa.UniqueConstraint("emaid", name="uq_contracts_emaid"),
    )
    op.create_index("ix_contracts_pcid", "contracts", ["pcid"])
    # one active contract per vehicle: what an installation for a PCID issues is never ambiguous
    op.create_index(
        "uq_contracts_active_pcid",
        "contracts",
        ["pcid"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_contracts_active_pcid", "contracts")
    op.drop_index("ix_contracts_pcid", "contracts")
    op.drop_table("contracts")
