"""shares.host indexed: placement counts what the records provision on each pool

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-28 23:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shares_host'), ['host'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shares_host'))
