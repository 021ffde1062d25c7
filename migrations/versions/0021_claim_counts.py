"""claim counts: claims not frozen per fund, state and channel, kept with every change, for
the queue's counts

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('claim_count',
    sa.Column('fund', sa.String(length=5), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('fund', 'state', 'channel', name=op.f('pk_claim_count'))
    )
    # The same count as portal.claims.counts.recount(), written out: a migration keeps
    # doing what it did when the code around it changes.
    op.execute(
        "INSERT INTO claim_count (fund, state, channel, n) "
        "SELECT fund, state, channel, COUNT(*) FROM claim WHERE frozen_at IS NULL GROUP BY fund, state, channel"
    )


def downgrade():
    op.drop_table('claim_count')
