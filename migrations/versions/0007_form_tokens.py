"""form tokens: a form sent twice has one effect

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The rows a form creates keep the token the page drew for it (portal.core.forms.OnceForm).
TABLES = ('invoice', 'invoice_report', 'data_request', 'identity_request')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('form_token', sa.String(length=32), nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_form_token'), ['form_token'])


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_form_token'), type_='unique')
            batch_op.drop_column('form_token')
