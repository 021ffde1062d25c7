"""direct immediate payment: coverage periods in the register, the doctor's bank account, acts
the fund pays the doctor directly, direct-payment invoices with the patient's consent, and the
doctor's claims

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('covered_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('covered_until', sa.Date(), nullable=True))
    with op.batch_alter_table('doctor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('iban', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('iban_changed_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('act', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_direct_payment_eligible', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # Consultations and visits of doctors and dentists are paid directly; technical acts are not (yet).
    op.execute("UPDATE act SET is_direct_payment_eligible = TRUE "
               "WHERE category IN ('general_practice', 'specialist', 'dentistry')")
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_direct_payment', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('direct_consent_by', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('direct_consent_method', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('direct_consent_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('is_paper_preferred', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_direct_payment', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('is_direct_payment')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('is_paper_preferred')
        batch_op.drop_column('direct_consent_at')
        batch_op.drop_column('direct_consent_method')
        batch_op.drop_column('direct_consent_by')
        batch_op.drop_column('is_direct_payment')
    with op.batch_alter_table('act', schema=None) as batch_op:
        batch_op.drop_column('is_direct_payment_eligible')
    with op.batch_alter_table('doctor', schema=None) as batch_op:
        batch_op.drop_column('iban_changed_at')
        batch_op.drop_column('iban')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('covered_until')
        batch_op.drop_column('covered_from')
