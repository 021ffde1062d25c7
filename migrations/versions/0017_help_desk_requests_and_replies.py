"""help desk: what a person asked the fund ("Contact the fund") and the fund's replies, kept three
years from the last reply

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 20:29:16.992373

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('help_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('fund', sa.String(length=5), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('document_name', sa.String(length=32), nullable=True),
    sa.Column('document_type', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('form_token', sa.String(length=32), nullable=True),
    sa.CheckConstraint("category in ('account', 'invoice', 'claim', 'data', 'other')", name=op.f('ck_help_request_category')),
    sa.CheckConstraint("fund in ('CNS', 'CMFEP', 'CMFEC', 'EMCFL')", name=op.f('ck_help_request_fund')),
    sa.CheckConstraint("state in ('open', 'answered')", name=op.f('ck_help_request_state')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_help_request_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_help_request_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_request')),
    sa.UniqueConstraint('form_token', name=op.f('uq_help_request_form_token')),
    sa.UniqueConstraint('reference', name=op.f('uq_help_request_reference'))
    )
    with op.batch_alter_table('help_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_help_request_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_last_activity_at'), ['last_activity_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_patient_id'), ['patient_id'], unique=False)

    op.create_table('help_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['help_request.id'], name=op.f('fk_help_reply_request_id_help_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['cns_staff.id'], name=op.f('fk_help_reply_staff_id_cns_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_reply'))
    )
    with op.batch_alter_table('help_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_help_reply_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('help_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_help_reply_request_id'))

    op.drop_table('help_reply')
    with op.batch_alter_table('help_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_help_request_patient_id'))
        batch_op.drop_index(batch_op.f('ix_help_request_last_activity_at'))
        batch_op.drop_index(batch_op.f('ix_help_request_created_at'))
        batch_op.drop_index(batch_op.f('ix_help_request_account_id'))

    op.drop_table('help_request')
