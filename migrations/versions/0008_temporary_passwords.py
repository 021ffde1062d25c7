"""temporary passwords: an operator's initial password is replaced at first sign-in

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_password_temporary', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Doctor and staff accounts an operator created before this revision and nobody has signed
    # in to yet still hold the password the operator saw: it is replaced at first sign-in too.
    op.execute(
        "UPDATE credential SET is_password_temporary = true "
        "WHERE password_hash IS NOT NULL AND totp_secret IS NULL AND account_id IN "
        "(SELECT id FROM account WHERE role IN ('doctor', 'cns') AND status = 'pending' AND is_demo = false)"
    )


def downgrade():
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_column('is_password_temporary')
