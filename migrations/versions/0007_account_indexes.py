"""accounts: two indexes fewer to maintain on every write; change log without a foreign key

Revision ID: 0007_account_indexes
Revises: 0006_segments_audit
Create Date: 2026-11-23 02:35:00

``ix_accounts_org_owner`` (org_id, owner_id) repeats the prefix of ``ix_accounts_org_scope``,
which serves the same lookups. ``ix_accounts_geocode_due`` only has to find accounts waiting
for the geocoder: as a partial index (``geocode_status = 'pending'``) the others, almost every
account, are not in it and their writes do not touch it. Measured on a territory placement of
100,000 accounts (bench/results/placement.md). The change log's ``org_id`` loses its foreign
key: organisations are never deleted, and a bulk write checked it for each of its rows.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007_account_indexes'
down_revision = '0006_segments_audit'
branch_labels = None
depends_on = None

PENDING = sa.text("geocode_status = 'pending'")


def upgrade():
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_constraint('fk_changes_org_id_organisations', type_='foreignkey')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_org_owner')
        batch_op.drop_index('ix_accounts_geocode_due')
        batch_op.create_index(
            'ix_accounts_geocode_due',
            ['geocode_status', 'geocode_next_attempt_at'],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )


def downgrade():
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_changes_org_id_organisations', 'organisations', ['org_id'], ['id']
        )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_geocode_due')
        batch_op.create_index(
            'ix_accounts_geocode_due', ['geocode_status', 'geocode_next_attempt_at'], unique=False
        )
        batch_op.create_index('ix_accounts_org_owner', ['org_id', 'owner_id'], unique=False)
