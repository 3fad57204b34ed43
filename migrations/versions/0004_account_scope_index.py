"""accounts: a covering index for the scope of a rep or a team

Revision ID: 0004_account_scope_index
Revises: 0003_geocoding
Create Date: 2026-11-23 00:50:00

Every pull compares the device's scope with the accounts it may see (``auth.scope``:
organisation, owner, territory, not deleted). With every column of that test and the id in one
index, the comparison reads the index only (about a tenth of the table's pages on PostgreSQL).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_account_scope_index'
down_revision = '0003_geocoding'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_accounts_org_scope',
            ['org_id', 'owner_id', 'territory_id', 'deleted_at', 'id'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_org_scope')
