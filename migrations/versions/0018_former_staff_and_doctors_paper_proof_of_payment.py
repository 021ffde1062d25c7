"""former staff and doctors: when an account was closed and when its identification data were
reduced; paper claims: the payment date and whether a receipt was seen

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 21:02:33.241508

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reduced_at', sa.DateTime(timezone=True), nullable=True))
    # Accounts closed before this column existed: their 12 months start now, never earlier than
    # the promise allows.
    op.execute("UPDATE account SET closed_at = CURRENT_TIMESTAMP WHERE status = 'closed'")

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('is_receipt_seen', sa.Boolean(), nullable=True))



def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('is_receipt_seen')
        batch_op.drop_column('paid_on')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('reduced_at')
        batch_op.drop_column('closed_at')

