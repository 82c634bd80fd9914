"""operation trace id

Revision ID: 9bd270ae1322
Revises: 5be1d3c07a91
Create Date: 2026-11-23 00:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9bd270ae1322'
down_revision = '5be1d3c07a91'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_id', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_column('trace_id')
