"""indexes for two reads that grew with the tables: an agent's own claims in review (the staff
home page read every claim in review to find them) and a claim's notices (the agent's claim
page read every notification to count the claim's unread rejection notices)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 07:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

UNFROZEN = sa.text("frozen_at IS NULL")


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index('ix_claim_taken_by', ['taken_by_id', 'state'], unique=False,
                              postgresql_where=UNFROZEN, sqlite_where=UNFROZEN)
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_claim', ['claim_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_claim')
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_taken_by')
