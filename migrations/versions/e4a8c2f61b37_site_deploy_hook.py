"""site push-to-deploy hook

Revision ID: e4a8c2f61b37
Revises: d7e2b5a1c9f0
Create Date: 2026-11-23 05:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4a8c2f61b37'
down_revision = 'd7e2b5a1c9f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deploy_hook_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_sites_deploy_hook_hash'),
                                          ['deploy_hook_hash'])


def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sites_deploy_hook_hash'), type_='unique')
        batch_op.drop_column('deploy_hook_hash')
