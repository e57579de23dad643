"""operations: a claim epoch and the previous owner (fencing) and at most one running operation per target

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_RUNNING = sa.text("state = 'running'")


def upgrade() -> None:
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('epoch', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('previous_owner', sa.String(length=255), nullable=True))
    # Rows left running by an older version on one target (it allowed a second claim once the first
    # lease ran out): hand all but the newest back to the queue so the unique index can be built.
    op.execute(sa.text(
        "UPDATE operations SET state = 'pending', owner = NULL, lease_expires_at = NULL "
        "WHERE state = 'running' AND id NOT IN "
        "(SELECT max(id) FROM operations WHERE state = 'running' GROUP BY target_id)"))
    op.create_index('uq_operations_running_target', 'operations', ['target_id'], unique=True,
                    sqlite_where=_RUNNING, postgresql_where=_RUNNING)


def downgrade() -> None:
    op.drop_index('uq_operations_running_target', table_name='operations',
                  sqlite_where=_RUNNING, postgresql_where=_RUNNING)
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_column('previous_owner')
        batch_op.drop_column('epoch')
