"""device_scopes: a partial index of the rows a sweep left removed

Revision ID: 0008_device_scope_removed
Revises: 0007_account_indexes
Create Date: 2026-11-23 07:25:00

Every sweep reads the rows it may have to clean up: those handed out after the acknowledged
generation (``ix_device_scopes_device_added``) and those marked removed. The second part had no
index and read all of the device's rows (10,000 for a rep: 2 ms of every incremental pull).
Rows marked removed are few and deleted once the device confirms, so the index stays small.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008_device_scope_removed'
down_revision = '0007_account_indexes'
branch_labels = None
depends_on = None

REMOVED = sa.text("removed_in IS NOT NULL")


def upgrade():
    with op.batch_alter_table('device_scopes', schema=None) as batch_op:
        batch_op.create_index(
            'ix_device_scopes_removed',
            ['device_id'],
            unique=False,
            postgresql_where=REMOVED,
            sqlite_where=REMOVED,
        )


def downgrade():
    with op.batch_alter_table('device_scopes', schema=None) as batch_op:
        batch_op.drop_index('ix_device_scopes_removed')
