"""visit plans

Revision ID: 0005_planning
Revises: 0004_account_scope_index
Create Date: 2026-11-23 01:40:00

One row per rep and local date (``uq_visit_plans_org_rep_date``): re-planning a day rewrites
the row. Users' home location (``users.home_lat``/``home_lon``, the default start and end of a
day) is already in 0001.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005_planning'
down_revision = '0004_account_scope_index'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('visit_plans',
    sa.Column('rep_id', sa.Uuid(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('stops', JSON, nullable=False),
    sa.Column('unassigned', JSON, nullable=False),
    sa.Column('totals', JSON, nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('field_versions', JSON, nullable=True),
    sa.Column('field_times', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_visit_plans_created_by_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_visit_plans_org_id_organisations')),
    sa.ForeignKeyConstraint(['rep_id'], ['users.id'], name=op.f('fk_visit_plans_rep_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_plans')),
    sa.UniqueConstraint('org_id', 'rep_id', 'date', name='uq_visit_plans_org_rep_date'),
    )


def downgrade():
    op.drop_table('visit_plans')
