"""one pending invitation per address and organization

Revision ID: d7e2b5a1c9f0
Revises: c3f1a9d2e7b4
Create Date: 2026-11-23 01:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7e2b5a1c9f0'
down_revision = 'c3f1a9d2e7b4'
branch_labels = None
depends_on = None

PENDING = "accepted_at IS NULL AND revoked_at IS NULL"


def upgrade():
    # Duplicates made before the index: the newest stays pending, the older ones are revoked.
    op.execute(sa.text(
        "UPDATE invitations SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE accepted_at IS NULL AND revoked_at IS NULL AND EXISTS ("
        " SELECT 1 FROM invitations newer"
        " WHERE newer.organization_id = invitations.organization_id"
        " AND newer.email = invitations.email"
        " AND newer.accepted_at IS NULL AND newer.revoked_at IS NULL"
        " AND newer.created_at > invitations.created_at)"))
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('uq_invitations_pending_email', ['organization_id', 'email'],
                              unique=True, sqlite_where=sa.text(PENDING),
                              postgresql_where=sa.text(PENDING))


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('uq_invitations_pending_email')
