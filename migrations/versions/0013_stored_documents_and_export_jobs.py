"""stored documents and export jobs: invoice and statement PDFs rendered once and kept, and
exports built by a job (a state, no file until built)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stored_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=9), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=True),
        sa.Column('statement_id', sa.Integer(), nullable=True),
        sa.Column('patient_id', sa.Integer(), nullable=True),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'invoice' and invoice_id is not null and statement_id is null)"
            " or (kind = 'statement' and statement_id is not null and invoice_id is null)",
            name=op.f('ck_stored_document_one_document'),
        ),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_stored_document_invoice_id_invoice'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], name=op.f('fk_stored_document_statement_id_statement'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_stored_document_patient_id_patient'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_document')),
        sa.UniqueConstraint('invoice_id', 'language', name=op.f('uq_stored_document_invoice_id')),
        sa.UniqueConstraint('statement_id', 'language', name=op.f('uq_stored_document_statement_id')),
    )
    with op.batch_alter_table('stored_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_document_patient_id'), ['patient_id'], unique=False)

    # Exports made before this revision were built in the request: they are ready.
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=8), server_default='ready', nullable=False))
        batch_op.alter_column('file_name', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_check_constraint(
            batch_op.f('ck_data_export_state'), "state in ('queued', 'building', 'ready', 'failed')"
        )


def downgrade():
    # Exports not built yet have no file to offer: they go.
    op.execute("DELETE FROM data_export WHERE file_name IS NULL")
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_data_export_state'), type_='check')
        batch_op.alter_column('file_name', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('state')
    with op.batch_alter_table('stored_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_document_patient_id'))
    op.drop_table('stored_document')
