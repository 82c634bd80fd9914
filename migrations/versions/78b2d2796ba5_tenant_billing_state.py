"""tenant billing state

Revision ID: 78b2d2796ba5
Revises: 27a711b73dee
Create Date: 2026-11-22 23:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '78b2d2796ba5'
down_revision = '27a711b73dee'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_subscription_item_id', sa.String(length=100),
                                      nullable=True))
        batch_op.add_column(sa.Column('past_due_since', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('billing_suspended_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('billing_suspended_sites', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('billing_suspended_sites')
        batch_op.drop_column('billing_suspended_at')
        batch_op.drop_column('past_due_since')
        batch_op.drop_column('stripe_subscription_item_id')
