"""activation flows: the activation's state on the server, codes waiting for CNS staff to
confirm a person the register cannot reach, and re-activations that wait before they apply

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activation_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_confirmation_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('staff_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('staff_confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_activation_code_staff_confirmed_by_id_cns_staff'), 'cns_staff',
                                    ['staff_confirmed_by_id'], ['id'], ondelete='SET NULL')
    op.create_table(
        'activation_flow',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=20), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['code_id'], ['activation_code.id'], name=op.f('fk_activation_flow_code_id_activation_code'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_activation_flow_account_id_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_flow')),
    )
    with op.batch_alter_table('activation_flow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_flow_code_id'), ['code_id'], unique=False)
    op.create_table(
        'pending_reactivation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('totp_secret', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('effective_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('waived_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_pending_reactivation_account_id_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['waived_by_id'], ['cns_staff.id'], name=op.f('fk_pending_reactivation_waived_by_id_cns_staff'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_reactivation')),
    )
    with op.batch_alter_table('pending_reactivation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_reactivation_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_reactivation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_reactivation_account_id'))
    op.drop_table('pending_reactivation')
    with op.batch_alter_table('activation_flow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_flow_code_id'))
    op.drop_table('activation_flow')
    with op.batch_alter_table('activation_code', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_activation_code_staff_confirmed_by_id_cns_staff'), type_='foreignkey')
        batch_op.drop_column('staff_confirmed_by_id')
        batch_op.drop_column('staff_confirmed_at')
        batch_op.drop_column('staff_confirmation_requested_at')
