"""message delivery: the outbox's delivery state, attempts, back-off and idempotency key; e-mail
addresses for doctors' and staff's security alerts; the patient's message channels; the browser
each session was opened from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=2), server_default='fr', nullable=False))
        batch_op.add_column(sa.Column('key', sa.String(length=32), nullable=True))
        # Messages written before delivery existed were never sent; sending them now (old codes,
        # old alerts) would only confuse: they are held, for an operator to retry if needed.
        batch_op.add_column(sa.Column('state', sa.String(length=8), server_default='held', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', portal.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sent_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox_message SET key = 'before-0012-' || CAST(id AS VARCHAR(19))")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('language', server_default=None)
        batch_op.alter_column('state', server_default=None)
        batch_op.alter_column('attempts', server_default=None)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_message_key'), ['key'])
        batch_op.create_index(batch_op.f('ix_outbox_message_state'), ['state'], unique=False)
        batch_op.create_check_constraint(
            'state', "state in ('pending', 'sending', 'sent', 'failed', 'held')")
    with op.batch_alter_table('doctor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('cns_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_channels', sa.JSON(), nullable=True))
    with op.batch_alter_table('contact_code', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_contact_code_purpose'), type_='check')
        batch_op.create_check_constraint(
            'purpose', "purpose in ('activation', 'reset', 'block', 'step_up', 'new_mobile', 'new_email')")
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_session_device_key'), ['device_key'], unique=False)


def downgrade():
    with op.batch_alter_table('contact_code', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_contact_code_purpose'), type_='check')
        batch_op.create_check_constraint('purpose', "purpose in ('activation', 'reset', 'block', 'step_up')")
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_device_key'))
        batch_op.drop_column('device_key')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('message_channels')
    with op.batch_alter_table('cns_staff', schema=None) as batch_op:
        batch_op.drop_column('email')
    with op.batch_alter_table('doctor', schema=None) as batch_op:
        batch_op.drop_column('email')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_state'), type_='check')
        batch_op.drop_index(batch_op.f('ix_outbox_message_state'))
        batch_op.drop_constraint(batch_op.f('uq_outbox_message_key'), type_='unique')
        for column in ('sent_at', 'lease_until', 'next_attempt_at', 'last_error', 'attempts', 'state', 'key',
                       'language', 'kind'):
            batch_op.drop_column(column)
