"""adjustment reasons: an amount other than the computed one names a reason from a list
(portal.claims.adjustments), with the agent's note beside it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adjustment_note', sa.Text(), nullable=True))
    # Until now the agent wrote the reason in their own words: it becomes the note of "another reason".
    op.execute(
        "UPDATE claim SET adjustment_note = adjustment_reason, adjustment_reason = 'other' "
        "WHERE adjustment_reason IS NOT NULL"
    )
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.alter_column('adjustment_reason', existing_type=sa.Text(), type_=sa.String(length=20),
                              existing_nullable=True)


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.alter_column('adjustment_reason', existing_type=sa.String(length=20), type_=sa.Text(),
                              existing_nullable=True)
    # The words are what is left of a reason chosen from the list; a reason without a note keeps its key.
    op.execute("UPDATE claim SET adjustment_reason = adjustment_note WHERE adjustment_note IS NOT NULL")
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('adjustment_note')
