"""segments, audit log, account status history, consent history, erasures

Revision ID: 0006_segments_audit
Revises: 0005_planning
Create Date: 2026-11-23 01:40:00

``account_status_changes`` starts with one creation row per existing account (its current
status at its creation time: the best the database knows), so coverage statistics count the
accounts created before this revision as new leads and prospects of their period.
``consent_changes`` starts with each account's current consent, for the same reason.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0006_segments_audit'
down_revision = '0005_planning'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('segments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('filters', JSON, nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_segments_created_by_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_segments_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_segments_org_id')),
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=24), nullable=True),
    sa.Column('record_id', sa.Uuid(), nullable=True),
    sa.Column('details', JSON, nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_audit_log_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_org_action', ['org_id', 'action'], unique=False)
        batch_op.create_index('ix_audit_log_org_at', ['org_id', 'at'], unique=False)

    # Ids made by the writer (uuid4), not by a sequence: the ORM then inserts a pushed
    # changeset's rows in one executemany instead of one INSERT ... RETURNING each.
    op.create_table('account_status_changes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_status_changes_account_id_accounts')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_account_status_changes_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_status_changes')),
    )
    with op.batch_alter_table('account_status_changes', schema=None) as batch_op:
        batch_op.create_index('ix_account_status_changes_account', ['account_id'], unique=False)
        batch_op.create_index('ix_account_status_changes_org_at', ['org_id', 'changed_at'], unique=False)

    op.create_table('consent_changes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('marketing_email', sa.Boolean(), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_consent_changes_account_id_accounts')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_consent_changes_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_changes')),
    )
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.create_index('ix_consent_changes_account', ['account_id'], unique=False)

    op.create_table('erasures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=24), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erased_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['erased_by'], ['users.id'], name=op.f('fk_erasures_erased_by_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_erasures_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures')),
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index('ix_erasures_record', ['record_id'], unique=False)

    # What already exists: each account's creation with its current status, and its current
    # consent (its own updated_at kept in the account's JSON; recorded now).
    # A new uuid per row, in each database's own terms (SQLAlchemy keeps a uuid as 32 hex
    # characters on SQLite).
    if op.get_bind().dialect.name == "postgresql":
        new_id = "gen_random_uuid()"
    else:
        new_id = "lower(hex(randomblob(16)))"
    op.execute(
        "INSERT INTO account_status_changes "
        "(id, org_id, account_id, from_status, to_status, version, changed_at) "
        f"SELECT {new_id}, org_id, id, NULL, status, version, created_at FROM accounts"
    )
    if op.get_bind().dialect.name == "postgresql":
        value = "(consent->>'marketing_email')::boolean"
        stamp = "(consent->>'updated_at')::timestamptz"
        is_object = "jsonb_typeof(consent) = 'object'"
    else:  # SQLite: JSON true reads as 1; datetime() turns the ISO stamp into UTC text
        value = "json_extract(consent, '$.marketing_email')"
        stamp = "datetime(json_extract(consent, '$.updated_at'))"
        is_object = "json_type(consent) = 'object'"
    op.execute(
        "INSERT INTO consent_changes "
        "(id, org_id, account_id, marketing_email, consented_at, version, recorded_at) "
        f"SELECT {new_id}, org_id, id, {value}, {stamp}, version, updated_at FROM accounts "
        f"WHERE consent IS NOT NULL AND {is_object}"
    )


def downgrade():
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index('ix_erasures_record')
    op.drop_table('erasures')
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_changes_account')
    op.drop_table('consent_changes')
    with op.batch_alter_table('account_status_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_account_status_changes_org_at')
        batch_op.drop_index('ix_account_status_changes_account')
    op.drop_table('account_status_changes')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_org_at')
        batch_op.drop_index('ix_audit_log_org_action')
    op.drop_table('audit_log')
    op.drop_table('segments')
