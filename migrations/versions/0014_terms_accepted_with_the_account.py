"""terms accepted with the account: the newest accepted version's number, read with the
session's row so that no page asks for the account's decision

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms_accepted', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE account SET terms_accepted = ("
        " SELECT max(terms_version.number) FROM terms_decision"
        " JOIN terms_version ON terms_version.id = terms_decision.terms_version_id"
        " WHERE terms_decision.account_id = account.id AND terms_decision.is_accepted)"
    )


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('terms_accepted')
