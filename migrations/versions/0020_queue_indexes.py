"""queue indexes: one per order and filter of the staff queue, leaving frozen claims out, and
the doctor's invoice list in its own order

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

UNFROZEN = sa.text("frozen_at IS NULL")
QUEUE = {
    'ix_claim_queue_state_date': ['state', 'shared_at', 'id'],
    'ix_claim_queue_state_amount': ['state', 'total_cents', 'id'],
    'ix_claim_queue_date': ['shared_at', 'id'],
    'ix_claim_queue_amount': ['total_cents', 'id'],
    'ix_claim_queue_fund': ['state', 'fund', 'shared_at', 'id'],
}


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        # (state, fund, shared_at, id) could not give CNS agents, who see every fund, any order:
        # it comes back below as the index of a fund's own agents, without frozen claims.
        batch_op.drop_index('ix_claim_queue')
        # Its first column starts the doctor's queue index.
        batch_op.drop_index('ix_claim_doctor_id')
        for name, columns in QUEUE.items():
            batch_op.create_index(name, columns, unique=False, postgresql_where=UNFROZEN, sqlite_where=UNFROZEN)
        batch_op.create_index('ix_claim_doctor_queue', ['doctor_id', 'state', 'shared_at', 'id'], unique=False)
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_doctor_service', ['doctor_id', 'service_date', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_doctor_service')
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_doctor_queue')
        for name in reversed(QUEUE):
            batch_op.drop_index(name)
        batch_op.create_index('ix_claim_doctor_id', ['doctor_id'], unique=False)
        batch_op.create_index('ix_claim_queue', ['state', 'fund', 'shared_at', 'id'], unique=False)
