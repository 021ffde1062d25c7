"""queue index by channel: the page of one channel in date order, and its open claims counted
by amount from the index alone (PostgreSQL carries the amount in it; SQLite has no INCLUDE)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

UNFROZEN = sa.text("frozen_at IS NULL")


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index('ix_claim_queue_channel', ['channel', 'state', 'shared_at', 'id'], unique=False,
                              postgresql_include=['total_cents'], postgresql_where=UNFROZEN, sqlite_where=UNFROZEN)


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_queue_channel')
