"""guardians and erasure: the register's guardians, doctors' requests for a link, and a
claim's IBAN that an erased patient's claim keeps only until payment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'registry_guardian',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('child_patient_id', sa.Integer(), nullable=False),
        sa.Column('guardian_patient_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("source in ('registry', 'staff')", name=op.f('ck_registry_guardian_source')),
        sa.ForeignKeyConstraint(['child_patient_id'], ['patient.id'], name=op.f('fk_registry_guardian_child_patient_id_patient'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['guardian_patient_id'], ['patient.id'], name=op.f('fk_registry_guardian_guardian_patient_id_patient'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['cns_staff.id'], name=op.f('fk_registry_guardian_confirmed_by_id_cns_staff'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_guardian')),
        sa.UniqueConstraint('child_patient_id', 'guardian_patient_id', name=op.f('uq_registry_guardian_child_patient_id')),
    )
    with op.batch_alter_table('registry_guardian', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_guardian_child_patient_id'), ['child_patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_guardian_guardian_patient_id'), ['guardian_patient_id'], unique=False)
    op.create_table(
        'guardian_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('child_patient_id', sa.Integer(), nullable=False),
        sa.Column('guardian_patient_id', sa.Integer(), nullable=False),
        sa.Column('doctor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decision', sa.String(length=9), nullable=True),
        sa.CheckConstraint("decision in ('confirmed', 'refused')", name=op.f('ck_guardian_request_decision')),
        sa.ForeignKeyConstraint(['child_patient_id'], ['patient.id'], name=op.f('fk_guardian_request_child_patient_id_patient'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['guardian_patient_id'], ['patient.id'], name=op.f('fk_guardian_request_guardian_patient_id_patient'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['doctor_id'], ['doctor.id'], name=op.f('fk_guardian_request_doctor_id_doctor'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['cns_staff.id'], name=op.f('fk_guardian_request_decided_by_id_cns_staff'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian_request')),
    )
    with op.batch_alter_table('guardian_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_request_child_patient_id'), ['child_patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardian_request_guardian_patient_id'), ['guardian_patient_id'], unique=False)
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.alter_column('iban', existing_type=sa.String(length=34), nullable=True)


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.alter_column('iban', existing_type=sa.String(length=34), nullable=False)
    with op.batch_alter_table('guardian_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardian_request_guardian_patient_id'))
        batch_op.drop_index(batch_op.f('ix_guardian_request_child_patient_id'))
    op.drop_table('guardian_request')
    with op.batch_alter_table('registry_guardian', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_guardian_guardian_patient_id'))
        batch_op.drop_index(batch_op.f('ix_registry_guardian_child_patient_id'))
    op.drop_table('registry_guardian')
