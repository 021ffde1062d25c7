"""the queue's doctor filter in both of its orders: one doctor's claims by date or by amount,
every state (the doctor's existing index puts the state before the date, so it gives no order
across states, and none by amount); a page read the fund's whole date or amount index and
dropped the other doctors' claims

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

UNFROZEN = sa.text("frozen_at IS NULL")


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index('ix_claim_queue_doctor_date', ['doctor_id', 'shared_at', 'id'], unique=False,
                              postgresql_where=UNFROZEN, sqlite_where=UNFROZEN)
        batch_op.create_index('ix_claim_queue_doctor_amount', ['doctor_id', 'total_cents', 'id'], unique=False,
                              postgresql_where=UNFROZEN, sqlite_where=UNFROZEN)


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_queue_doctor_amount')
        batch_op.drop_index('ix_claim_queue_doctor_date')
