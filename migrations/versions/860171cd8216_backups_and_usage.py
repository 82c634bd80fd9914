"""backups: parts, trigger, error, operation; usage snapshots

Revision ID: 860171cd8216
Revises: 9bd270ae1322
Create Date: 2026-11-22 23:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '860171cd8216'
down_revision = '9bd270ae1322'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger', sa.String(length=20), nullable=False,
                                      server_default='manual'))
        batch_op.add_column(sa.Column('parts', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('operation_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('size_bytes', existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_backups_operation_id_operations'),
                                    'operations', ['operation_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_backups_site_created', ['site_id', 'created_at'], unique=False)
    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.alter_column('trigger', server_default=None)
        batch_op.alter_column('parts', server_default=None)

    op.create_table('usage_snapshots',
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sites', sa.Integer(), nullable=False),
    sa.Column('storage_bytes', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_usage_snapshots_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_snapshots'))
    )
    with op.batch_alter_table('usage_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_snapshots_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_usage_snapshots_tenant_taken', ['tenant_id', 'taken_at'], unique=False)


def downgrade():
    with op.batch_alter_table('usage_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_snapshots_tenant_taken')
        batch_op.drop_index(batch_op.f('ix_usage_snapshots_tenant_id'))
    op.drop_table('usage_snapshots')

    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.drop_index('ix_backups_site_created')
        batch_op.drop_constraint(batch_op.f('fk_backups_operation_id_operations'), type_='foreignkey')
        batch_op.alter_column('size_bytes', existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
        batch_op.drop_column('operation_id')
        batch_op.drop_column('error')
        batch_op.drop_column('parts')
        batch_op.drop_column('trigger')
