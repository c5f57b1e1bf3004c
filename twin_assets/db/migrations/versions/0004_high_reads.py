"""high reads

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('high_reads',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('token_id', sa.String(length=16), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('high_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_high_reads_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_high_reads_read_at'), ['read_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('high_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_high_reads_read_at'))
        batch_op.drop_index(batch_op.f('ix_high_reads_record_id'))
    op.drop_table('high_reads')
