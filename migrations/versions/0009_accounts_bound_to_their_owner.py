"""accounts bound to their owner: blocks, codes sent to the register's contacts, alerts,
the CNS administrator permission, the date an IBAN was changed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_STATUS = "status in ('pending', 'active', 'suspended', 'closed')"
NEW_STATUS = "status in ('pending', 'active', 'suspended', 'blocked', 'closed')"


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_status'), type_='check')
        batch_op.create_check_constraint('status', NEW_STATUS)
    op.create_table(
        'account_block',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('previous_status', sa.String(length=16), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('end_reason', sa.String(length=200), nullable=True),
        sa.CheckConstraint("source in ('owner', 'alert', 'staff', 'operator')", name=op.f('ck_account_block_source')),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_block_account_id_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['account.id'], name=op.f('fk_account_block_created_by_id_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ended_by_id'], ['account.id'], name=op.f('fk_account_block_ended_by_id_account'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_block')),
    )
    with op.batch_alter_table('account_block', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_block_account_id'), ['account_id'], unique=False)
    op.create_table(
        'contact_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=12), nullable=False),
        sa.Column('bound_to', sa.String(length=64), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=5), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose in ('activation', 'reset', 'block', 'step_up')", name=op.f('ck_contact_code_purpose')),
        sa.CheckConstraint("channel in ('sms', 'email')", name=op.f('ck_contact_code_channel')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_contact_code_patient_id_patient'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_code')),
    )
    with op.batch_alter_table('contact_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_code_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_code_bound_to'), ['bound_to'], unique=False)
    op.create_table(
        'security_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_security_alert_account_id_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_security_alert')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_security_alert_token_hash')),
    )
    with op.batch_alter_table('security_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_alert_account_id'), ['account_id'], unique=False)
    with op.batch_alter_table('cns_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_administrator', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('iban_changed_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('iban_changed_at')
    with op.batch_alter_table('cns_staff', schema=None) as batch_op:
        batch_op.drop_column('is_administrator')
    op.drop_table('security_alert')
    op.drop_table('contact_code')
    op.drop_table('account_block')
    op.execute("UPDATE account SET status = 'suspended' WHERE status = 'blocked'")
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUS)
